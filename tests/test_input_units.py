"""INP as web-vitals computes it, the busy-page model, keystroke rows, the [input] table, budgets: no browser."""

from __future__ import annotations

import numpy as np
import pytest

from bench.gate import budgets
from bench.cli.main import build_parser
from bench.cli.options import chosen_scenarios as _chosen_scenarios
from bench.errors import UsageError
from bench.stats.inp import covered_fraction, inp, predicted_delay
from bench.probes.input import keystrokes, overlapping_long_frames
from bench.targets.profile import parse_profile
from bench.scenarios.input import InputConfig

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background


def test_inp_is_the_worst_below_50_interactions_then_one_more_per_50():
    assert inp([]) is None
    assert inp([12.0, 80.0, 40.0]) == 80.0
    latencies = list(range(1, 50))                    # 49 interactions: the worst
    assert inp(latencies) == 49
    assert inp(list(range(1, 51))) == 49              # 50: the second worst
    assert inp(list(range(1, 101))) == 98             # 100: the third worst
    assert inp(list(range(1, 1001))) == 991           # only the 10 longest are kept: the 10th
    # web-vitals counts every interaction of the page, also those under Event Timing's threshold
    assert inp([200.0, 100.0], interaction_count=60) == 100.0


def test_predicted_delay_matches_a_simulated_busy_main_thread():
    """The model against a simulation: messages of W ms at fixed spacing, key presses at random moments."""
    work, rate = 40.0, 10.0
    rng = np.random.default_rng(7)
    period = 1000 / rate
    moments = rng.uniform(0, 100 * period, 20000)
    delays = np.maximum(0.0, work - moments % period)  # the rest of the message's work, if inside it
    q = np.array([0.5, 0.6, 0.7, 0.8, 0.9, 0.99])
    assert np.allclose(np.quantile(delays, q), predicted_delay(q, rate * work / 1000, work), atol=1.0)
    with pytest.raises(ValueError):
        predicted_delay(0.5, 1.2, work)


def test_covered_fraction_merges_overlapping_work():
    assert covered_fraction([0, 10, 100], 20, 0, 200) == pytest.approx((30 + 20) / 200)
    assert covered_fraction([-10], 20, 0, 100) == pytest.approx(0.1)
    assert covered_fraction([], 20, 0, 100) == 0.0


def _event(kind, ts, start, end, paint):
    return {"type": kind, "ts": ts, "start": start, "end": end, "paint": paint, "paintRaw": paint}


def test_keystrokes_take_event_timing_when_reported_else_the_frame():
    data = {
        "keystrokes": [
            {"index": 0, "key": "a", "events": [_event("keydown", 100, 101, 102, 110),
                                                 _event("keypress", 100, 102, 103, 110),
                                                 _event("keyup", 120, 121, 121.5, 127)]},
            {"index": 1, "key": "b", "events": [_event("keydown", 200, 260, 262, 270),
                                                 _event("keyup", 280, 281, 282, 290)]},
        ],
        "entries": [{"name": "keydown", "startTime": 200, "duration": 72, "processingStart": 259.5,
                     "processingEnd": 262, "interactionId": 7}],
        "longFrames": [],
    }
    fast, slow = keystrokes(data)
    assert fast["method"] == "frame" and fast["key_to_paint_ms"] == 10 and fast["input_delay_ms"] == 1
    assert fast["event_timing_ms"] is None and fast["interaction_id"] is None
    assert slow["method"] == "event-timing" and slow["key_to_paint_ms"] == 72 and slow["frame_ms"] == 70
    assert slow["input_delay_ms"] == 59.5 and slow["processing_ms"] == 2.5 and slow["interaction_id"] == 7
    frames = [{"startTime": 190, "duration": 70, "scripts": []}, {"startTime": 100, "duration": 60, "scripts": []}]
    assert [f["startTime"] for f in overlapping_long_frames([fast, slow], frames, 50)] == [190]


def test_input_table_is_checked():
    base = {"name": "x", "input": {"box": "#t", "send": [{"press": ["#t", "Enter"]}]}}
    target = parse_profile(base, "p.toml")
    assert target.input_box == "#t" and target.input_send == [{"press": ["#t", "Enter"]}]
    assert parse_profile({"name": "x"}, "p.toml").input_box is None
    for table, message in [({"send": [{"click": "#s"}]}, "[input] needs box"),
                           ({"box": "#t"}, "[input] needs send"),
                           ({"box": "#t", "send": [{"type": "x"}]}, "input.send[0]: unknown action 'type'"),
                           ({"box": "#t", "send": [{"click": "#s"}], "sned": 1}, "unknown key 'input.sned'")]:
        with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]")):
            parse_profile({"name": "x", "input": table}, "p.toml")


def test_input_config_refuses_text_without_keys():
    for config, message in [(InputConfig(text="héllo"), "has no key"), (InputConfig(keys_per_s=0), "positive"),
                            (InputConfig(sends=0), "at least 1"), (InputConfig(phases=("idle",)), "choose from")]:
        with pytest.raises(UsageError, match=message):
            config.validate()


def test_all_scenarios_include_input_only_with_an_input_table(tmp_path):
    parser = build_parser()
    default = [s.name for s in _chosen_scenarios(parser.parse_args(["ui"]))]
    assert default == ["burst", "scroll", "cycles"]  # the default run leaves stream and input to `all`
    names = [s.name for s in _chosen_scenarios(parser.parse_args(["ui", "--scenario", "all"]))]
    assert "input" in names  # the bundled profile has one
    profile = tmp_path / "plain.toml"
    profile.write_text('name = "plain"\nurl = "http://127.0.0.1:1/"\n', encoding="utf-8")
    names = [s.name for s in _chosen_scenarios(parser.parse_args(["ui", "--profile", str(profile),
                                                                 "--scenario", "all"]))]
    assert "input" not in names and "burst" in names
    with pytest.raises(UsageError, match="has no \\[input\\] table"):
        _chosen_scenarios(parser.parse_args(["ui", "--profile", str(profile), "--scenario", "burst,input"]))


def test_inp_budget_on_its_value():
    budget = budgets.parse_budget("input.inp_ms.value", {"max": 200}, "b.toml")
    assert budgets.check(budget, {"input.inp_ms": {"p50": 180.0, "n": 1}}).status == budgets.PASS
    assert budgets.check(budget, {"input.inp_ms": {"p50": 232.0, "n": 1}}).status == budgets.FAIL
