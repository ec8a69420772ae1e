"""The input probe (input.js): per keystroke, Event Timing and the presented frame after it.

keystrokes() turns the page's records into one row per keystroke (one
interaction: keydown, keypress and keyup share an interactionId):

    key_to_paint_ms  the Event Timing duration of the interaction (its
                     longest entry: Chromium rounds each to 8 ms and reports
                     only those of 16 ms or more), else, for a keystroke with
                     no entry (fast, not missing), the frame method: the
                     presentation of the first frame after each event minus
                     the event's timeStamp, the longest of its events
    method           "event-timing" or "frame"
    frame_ms         the frame method for every keystroke (both, to compare)
    input_delay_ms,  of the event that set the latency: from its Event Timing
    processing_ms    entry when there is one, else from the probe's first and
                     last listener (delay_method says which)
"""

from __future__ import annotations

import json

from . import probe_script

# Event Timing's startTime is the event's timeStamp; both are the same
# coarsened clock value, so a match is exact up to float noise.
_SAME_TIME_MS = 0.05


# The probe's script URL, so long animation frames attribute its own listeners to it (not "the page").
PROBE_SOURCE = "bench-input-probe.js"


class InputProbe:
    name = "input"

    def install(self, page) -> None:
        """Into the running page (the scenario starts on a page already open)."""
        page.evaluate(probe_script("input.js") + f"\n//# sourceURL={PROBE_SOURCE}\n")

    def arm(self, page) -> dict:
        return page.evaluate("() => { window.__benchInput.arm(); return {eventTiming: window.__benchInput.eventTiming,"
                             " longFrames: window.__benchInput.longFrames}; }")

    def arm_send(self, page) -> None:
        page.evaluate("() => window.__benchInput.armSend()")

    def send_start(self, page) -> float | None:
        return page.evaluate("() => window.__benchInput.sendStart()")

    def settle(self, page, timeout_s: float, frames: int = 6) -> bool:
        """Until every keystroke has its frame, then `frames` more: Event Timing entries come
        after the presentation feedback, a few frames later on a loaded machine."""
        return page.evaluate("([ms, frames]) => window.__benchInput.settle(ms, frames)", [timeout_s * 1000, frames])

    def take(self, page) -> dict:
        return json.loads(page.evaluate("() => window.__benchInput.take()"))


def _matching_entry(event: dict, entries: list[dict]) -> dict | None:
    for entry in entries:
        if entry["name"] == event["type"] and abs(entry["startTime"] - event["ts"]) < _SAME_TIME_MS:
            return entry
    return None


def keystrokes(data: dict) -> list[dict]:
    """One row per keystroke from InputProbe.take() (see the module doc)."""
    rows = []
    for stroke in data["keystrokes"]:
        events = stroke["events"]
        if not events:
            continue
        matched = [(e, _matching_entry(e, data["entries"])) for e in events]
        framed = [e for e in events if e["paint"] is not None]
        frame_ms = max((e["paint"] - e["ts"] for e in framed), default=None)
        timed = [(e, m) for e, m in matched if m is not None]
        if timed:
            event, entry = max(timed, key=lambda em: em[1]["duration"])
            latency, method = entry["duration"], "event-timing"
            delay = entry["processingStart"] - entry["startTime"]
            processing = entry["processingEnd"] - entry["processingStart"]
            delay_method = "event-timing"
            interaction = entry["interactionId"] or None
        else:
            event = max(framed, key=lambda e: e["paint"] - e["ts"], default=events[0])
            latency, method = frame_ms, "frame"
            delay = event["start"] - event["ts"]
            processing = event["end"] - event["start"] if event["end"] is not None else None
            delay_method = "listener"
            interaction = None
        rows.append({
            "index": stroke["index"], "key": stroke["key"], "ts": events[0]["ts"],
            "key_to_paint_ms": latency, "method": method, "frame_ms": frame_ms,
            "event_timing_ms": max((m["duration"] for _, m in timed), default=None),
            "input_delay_ms": delay, "processing_ms": processing, "delay_method": delay_method,
            "slowest_event": event["type"], "interaction_id": interaction,
            "events": [dict(e, entry=m) for e, m in matched],
        })
    return rows


def overlapping_long_frames(rows: list[dict], long_frames: list[dict], slow_ms: float) -> list[dict]:
    """The long animation frames that overlapped a slow keystroke, with the keystroke's index.

    A keystroke is slow at key_to_paint_ms >= slow_ms; it spans [ts, ts + key_to_paint_ms].
    """
    out = []
    for row in rows:
        if row["key_to_paint_ms"] is None or row["key_to_paint_ms"] < slow_ms:
            continue
        start, end = row["ts"], row["ts"] + row["key_to_paint_ms"]
        for frame in long_frames:
            if frame["startTime"] < end and frame["startTime"] + frame["duration"] > start:
                out.append({"keystroke": row["index"], **frame})
    return out
