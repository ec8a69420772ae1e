"""Every message of a throughput phase accounted for: pure functions over the workers' raw data.

Per measured message (seq >= warm-up):
    scheduled = sent + failed (the socket refused it) + skipped (the generator
                was too far behind and gave up on the rest of its schedule)
Per (sent message, receiver) pair, one of:
    delivered   arrived within late_ms of its scheduled time
    late        arrived later than that, before the receiver stopped listening
    lost        never arrived
so delivered + late + lost = sent x receivers, exactly.

A message the socket refused (failed: the server closed the connection, or
died) was meant for every receiver and reached none: delivery_ratio counts it
as not delivered, and msgs_per_s runs to the last message tried even when
arrivals stopped before it. Only a skipped message (the generator's own
failure) is left out of both.

Latency = arrival - scheduled send time (schedule.Schedule.at), one sample
per arrival (delivered and late alike: the tail is the point). A message
that arrives twice at a receiver counts once (its first arrival).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .schedule import Schedule

US = 3  # latencies are kept to the microsecond: finer than the clock's use, and short JSON


@dataclass
class PhaseAccount:
    schedule: Schedule
    receivers: int
    scheduled: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    delivered: int = 0
    late: int = 0
    lost: int = 0
    latency_ms: np.ndarray = field(default_factory=lambda: np.empty(0))
    send_lag_ms: np.ndarray = field(default_factory=lambda: np.empty(0))
    # latency minus the generator's own lateness for that message: the part
    # the server (and the receiving side) took. Used to tell whose fault a
    # slow step was; not a reported metric (it is not open-loop latency).
    transit_ms: np.ndarray = field(default_factory=lambda: np.empty(0))
    msgs_per_s: float | None = None      # arrivals per receiver / span
    sent_per_s: float | None = None

    @property
    def expected(self) -> int:
        return self.sent * self.receivers

    @property
    def delivery_ratio(self) -> float | None:
        """Delivered on time / (sent + failed) x receivers: what the server was given to deliver."""
        tried = (self.sent + self.failed) * self.receivers
        return self.delivered / tried if tried else None


def sent_mask(schedule: Schedule, senders: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(sent, skipped) booleans per seq of the phase, from the senders' reports."""
    sent = np.zeros(schedule.count, dtype=bool)
    skipped = np.zeros(schedule.count, dtype=bool)
    n_senders = len(senders)
    for report in senders:
        own = np.zeros(schedule.count, dtype=bool)
        own[report["sender"]::n_senders] = True
        if report["skipped_from"] is not None:
            gave_up = own.copy()
            gave_up[:report["skipped_from"]] = False
            skipped |= gave_up
            own &= ~gave_up
        own[np.asarray(report["failed"], dtype=np.int64)] = False
        sent |= own
    return sent, skipped


def send_lag_by_seq(schedule: Schedule, senders: list[dict]) -> np.ndarray:
    """Per seq of the phase: how late its batch started against its due time (ms); NaN if never tried."""
    lag = np.full(schedule.count, np.nan)
    n_senders = len(senders)
    for report in senders:
        first = np.asarray(report["batch_first"], dtype=np.int64)
        size = np.asarray(report["batch_size"], dtype=np.int64)
        at = np.asarray(report["batch_at"], dtype=float)
        # The k-th message of a batch is seq first + k * n_senders.
        offsets = np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
        seqs = np.repeat(first, size) + offsets * n_senders
        lag[seqs] = (np.repeat(at, size) - (schedule.t0 + seqs / schedule.rate)) * 1000
    return lag


def account(schedule: Schedule, senders: list[dict], receivers: list[dict], late_ms: float) -> PhaseAccount:
    """Count and time every measured message of one phase (see the module doc)."""
    out = PhaseAccount(schedule, len(receivers))
    sent, skipped = sent_mask(schedule, senders)
    measured = slice(schedule.warmup, schedule.count)
    out.scheduled = schedule.measured
    out.sent = int(sent[measured].sum())
    out.skipped = int(skipped[measured].sum())
    out.failed = out.scheduled - out.sent - out.skipped
    lag = send_lag_by_seq(schedule, senders)
    measured_lag = lag[measured]
    out.send_lag_ms = np.round(measured_lag[~np.isnan(measured_lag)], US)
    first_due = schedule.at(schedule.warmup)
    tried = np.flatnonzero(~skipped[measured]) + schedule.warmup  # sent or refused
    last_tried_due = schedule.at(int(tried[-1])) if tried.size else None
    latencies, transits, last_arrival = [], [], None
    for report in receivers:
        seqs = np.asarray(report["seqs"], dtype=np.int64)
        times = np.asarray(report["times"], dtype=float)
        seqs, first = np.unique(seqs, return_index=True)
        times = times[first]
        keep = (seqs >= schedule.warmup) & (seqs < schedule.count)
        seqs, times = seqs[keep], times[keep]
        keep = sent[seqs]  # an arrival of a message we did not count as sent is not ours to count
        seqs, times = seqs[keep], times[keep]
        latency = (times - (schedule.t0 + seqs / schedule.rate)) * 1000
        on_time = int((latency <= late_ms).sum())
        out.delivered += on_time
        out.late += int(latency.size) - on_time
        latencies.append(latency)
        transits.append(latency - lag[seqs])
        if times.size:
            last_arrival = max(last_arrival or times.max(), times.max())
    out.lost = out.expected - out.delivered - out.late
    out.latency_ms = np.round(np.concatenate(latencies), US) if latencies else np.empty(0)
    out.transit_ms = np.concatenate(transits) if transits else np.empty(0)
    slot = 1 / schedule.rate
    ends = [t for t in (last_arrival, last_tried_due) if t is not None]
    if out.receivers and ends:
        # Messages through per receiver, over the time from the first due
        # send to the last arrival or the last message tried, whichever is
        # later (plus the last message's own slot): a server that stops
        # delivering half-way is not credited with its rate before it stopped.
        out.msgs_per_s = (out.delivered + out.late) / out.receivers / (max(ends) - first_due + slot)
    last_send = max((r["last_send"] for r in senders), default=None)
    if last_send is not None and out.sent:
        out.sent_per_s = out.sent / max(last_send - first_due + slot, slot)
    return out
