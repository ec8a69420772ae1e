"""`bench calibrate`: this machine's noise floor and the suite's own accuracy on the bundled app.

One browser, R repetitions; each repetition measures four variants in fresh
contexts, in interleaved order (bench.run.runner.interleaved):
- "default": the idle refresh interval (page.refresh_ms), then the burst
  scenario as `bench ui` runs it (back-to-back bursts);
- "work_ms=0", "work_ms=20", "work_ms=50": isolated messages (paced at
  --known-rate, so each one's work and frame are over before the next
  arrives) on the app with that much synthetic work per message.

What it reports (all from paint.latency_ms unless said):
- refresh interval: median rAF delta (and its 95 % CI);
- p50 CV across repetitions of the default variant: stdev / mean of the
  per-repetition p50s (how much a single run's p50 moves by itself);
- resolution with the repetitions `bench ui --baseline` uses by default
  (COMPARE_RUNS a side): every pair of default repetitions is compared as
  two single runs (bench.stats.difference), and both noises below shrink by
  sqrt(COMPARE_RUNS) with that many runs a side.
  Two noises limit it: the median half-width of the 95 % CI of their p50
  change (the noise within a run, which that CI holds), and the run-to-run
  noise a single run cannot show, z(0.975) x sqrt(2) x CV (the 95 % range
  of the difference of two runs' p50s; z = run_noise.Z95, the normal quantile). A true
  change is called `slower` once it clears the threshold by the larger of
  the two, so the smallest change resolved is threshold + that. The pairs
  also count the false alarms of a verdict from one run a side
  (repetitions of one configuration called slower or faster than each
  other), with this machine's run-to-run sd folded in and without;
- run-to-run sd of paint.latency_ms and paint.presented_ms (bench.stats.run_noise,
  variance components), stored per machine for bench compare, and the
  coverage: repetitions whose within-run 95 % CI of p50 holds the median of
  all repetitions' p50s (a run's blocks represent another run: want >= 90 %);
- known answers: an isolated message arrives at a random phase of the
  refresh cycle, its handler works work_ms, and the frame that shows it is
  presented at the next refresh: expected p50 = work_ms + refresh/2 (the
  median of a wait uniform over one interval). Error = measured - expected;
  also recv->dom minus work_ms, which checks the knob itself.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass

import numpy as np

from ..browser.source import LOCAL, env_notes
from ..gate.compare import metric_runs
from ..stats.difference import COMPARE_RUNS, LOWER, compare_runs
from ..errors import UsageError
from ..report.terminal import browser_line
from ..results.records import write_json_atomic
from ..run.runner import UiConfig, UiRun, Variant
from ..scenarios.burst import BurstConfig, BurstScenario
from ..scenarios.refresh import RefreshScenario
from ..stats.descriptive import relative_spread
from ..gate import calibration_store
from ..stats import run_noise
from .options import add_browser, add_command, add_output, add_seed, add_timeout, browser_options

KNOWN_WORK_MS = (0, 20, 50)
SCHEMA = "bench-calibrate/1"


@dataclass
class KnownAnswer:
    work_ms: float
    n: int
    expected_ms: float
    measured_p50: float | None
    measured_p50_ci: list[float] | None
    error_ms: float | None           # measured - expected
    error_ci: list[float] | None
    recv_to_dom_minus_work_ms: float | None


@dataclass
class Calibration:
    repetitions: int
    threshold: float
    refresh_ms: float | None
    refresh_ms_ci: list[float] | None
    default_p50s: list[float]        # per repetition, ms
    p50_cv: float | None
    pairs: int
    half_width: float | None         # median CI half-width of a p50 difference, fraction of p50
    run_noise: float | None          # z(0.975) x sqrt(2) x p50_cv: run-to-run range of a difference
    smallest_change: float | None    # threshold + the larger of the two, fraction of p50
    false_alarms: int                # pairs of single runs called slower/faster with run_sd folded in
    false_alarms_unfolded: int       # ... and with the within-run CI alone
    run_sd: dict                     # metric -> relative run-to-run sd (bench.stats.run_noise), stored per machine
    coverage: dict                   # metric -> [covered, runs]: within-run 95 % CIs covering the runs' median p50
    known_answers: list[KnownAnswer]


def _variant_name(work_ms: float) -> str:
    return f"work_ms={work_ms:g}"


def variants(default_burst: BurstConfig, known: BurstConfig) -> list[Variant]:
    out = [Variant("default", "", [RefreshScenario(), BurstScenario(default_burst)])]
    for work in KNOWN_WORK_MS:
        out.append(Variant(_variant_name(work), f"work_ms={work}", [BurstScenario(known)]))
    return out


def resolution(metric: dict, threshold: float, run_sd: float = 0.0) -> tuple[int, float | None, int]:
    """(pairs compared, median CI half-width as a fraction of p50, false alarms) over repetition pairs.

    Every pair of repetitions of one configuration compared as one run a side,
    as bench compare would with run_sd folded in: a slower/faster verdict
    between them is a false alarm.
    """
    runs = metric_runs(metric)
    half_widths, false_alarms, pairs = [], 0, 0
    for a, b in itertools.combinations(range(len(runs)), 2):
        d = compare_runs([runs[a]], [runs[b]], direction=LOWER, threshold=threshold, run_sd=run_sd)
        pairs += 1
        false_alarms += d.verdict in ("slower", "faster")
        if d.change_p50_ci is not None and d.base_p50:
            half_widths.append((d.change_p50_ci[1] - d.change_p50_ci[0]) / 2 / abs(d.base_p50))
    return pairs, (float(np.median(half_widths)) if half_widths else None), false_alarms


def known_answer(work_ms: float, results: dict, refresh_ms: float | None) -> KnownAnswer:
    latency = results["metrics"].get("paint.latency_ms", {})
    recv_to_dom = results["metrics"].get("paint.recv_to_dom_ms", {})
    expected = work_ms + (refresh_ms / 2 if refresh_ms else 0.0)
    p50, ci = latency.get("p50"), latency.get("p50_ci")
    return KnownAnswer(
        work_ms=work_ms, n=latency.get("n", 0), expected_ms=expected, measured_p50=p50, measured_p50_ci=ci,
        error_ms=None if p50 is None or refresh_ms is None else p50 - expected,
        error_ci=None if ci is None or refresh_ms is None else [ci[0] - expected, ci[1] - expected],
        recv_to_dom_minus_work_ms=None if recv_to_dom.get("p50") is None else recv_to_dom["p50"] - work_ms)


def analyse(results_by_variant: dict[str, dict], threshold: float) -> Calibration:
    """The calibration numbers from each variant's results JSON (pure)."""
    default = results_by_variant["default"]
    refresh = default["metrics"].get("page.refresh_ms", {})
    refresh_ms = refresh.get("p50")
    latency = default["metrics"].get("paint.latency_ms", {})
    p50s = run_noise.run_p50s(metric_runs(latency)).tolist() if latency else []
    run_sd, coverage = {}, {}
    for name in run_noise.CALIBRATED_METRICS:
        metric = default["metrics"].get(name)
        if not metric:
            continue
        runs = metric_runs(metric)
        sd = run_noise.run_to_run_sd(runs)
        if sd is not None:
            run_sd[name] = sd
        coverage[name] = list(run_noise.coverage(runs))
    # The half-width is the noise within a run (no run-to-run sd folded in: the
    # run-to-run range below is that part, and smallest_change takes the larger
    # of the two, so folding it in here would count it twice); the false alarms
    # are counted both ways, as compare would decide with and without it.
    pairs, half_width, false_alarms_unfolded = resolution(latency, threshold) if latency else (0, None, 0)
    _, _, false_alarms = (resolution(latency, threshold, run_sd.get("paint.latency_ms", 0.0))
                          if latency else (0, None, 0))
    cv = relative_spread(p50s)
    run_range = None if cv is None else float(run_noise.Z95 * np.sqrt(2) * cv)
    noises = [n for n in (half_width, run_range) if n is not None]
    return Calibration(
        repetitions=default["config"].get("repetitions_done", len(p50s)), threshold=threshold,
        refresh_ms=refresh_ms, refresh_ms_ci=refresh.get("p50_ci"), default_p50s=p50s,
        p50_cv=cv, pairs=pairs, half_width=half_width, run_noise=run_range,
        # With R runs a side both noises shrink by sqrt(R); R is what
        # `bench ui --baseline` uses by default.
        smallest_change=threshold + max(noises) / np.sqrt(COMPARE_RUNS) if noises else None,
        false_alarms=false_alarms, false_alarms_unfolded=false_alarms_unfolded, run_sd=run_sd,
        coverage=coverage,
        known_answers=[known_answer(w, results_by_variant[_variant_name(w)], refresh_ms) for w in KNOWN_WORK_MS])


# ------------------------------------------------------------------ output

def remote_note(env: dict) -> list[str]:
    """A remote browser calibrates its own machine and the connection, not the one bench runs on."""
    if env.get("browser_location", LOCAL) == LOCAL:
        return []
    return [f"the browser ran elsewhere ({env['browser_location']} at {env.get('browser_endpoint')}): this "
            f"is the noise floor of its machine and of the connection to it, not of this machine"]


def _ms(value) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _pct(value) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _range(ci, signed: bool = False) -> str:
    if not ci:
        return "[no CI: fewer than 5 blocks]"
    fmt = "{:+.1f}" if signed else "{:.1f}"
    return f"[{fmt.format(ci[0])}, {fmt.format(ci[1])}]"


def table(cal: Calibration, default_burst: BurstConfig, known: BurstConfig) -> str:
    from tabulate import tabulate

    p50 = float(np.mean(cal.default_p50s)) if cal.default_p50s else None
    smallest_ms = None if cal.smallest_change is None or p50 is None else cal.smallest_change * p50
    noise = [
        ["refresh interval", _ms(cal.refresh_ms), f"median rAF delta, 95% CI {_range(cal.refresh_ms_ci)} (a block per repetition)"],
        ["paint.latency_ms p50 per repetition", ", ".join(f"{v:.1f}" for v in cal.default_p50s) + " ms",
         f"default variant: {default_burst.bursts} bursts x {default_burst.size}, back to back"],
        ["p50 CV across repetitions", _pct(cal.p50_cv), "stdev / mean of the per-repetition p50s"],
        ["CI half-width of a p50 difference", "-" if cal.half_width is None else f"+-{cal.half_width * 100:.1f} %",
         f"median over {cal.pairs} pairs of single repetitions (the noise within a run)"],
        ["run-to-run range of a difference", "-" if cal.run_noise is None else f"+-{cal.run_noise * 100:.1f} %",
         "1.96 x sqrt(2) x CV: what one run a side cannot see"],
        ["smallest change called slower", "-" if smallest_ms is None else
         f"{cal.smallest_change * 100:.1f} % ({smallest_ms:.1f} ms)",
         f"threshold {cal.threshold * 100:g} % + the larger noise / sqrt({COMPARE_RUNS}): "
         f"{COMPARE_RUNS} runs a side, as bench ui --baseline does"],
        *[[f"{name} run-to-run sd", _pct(sd), "beyond the within-run CI: sqrt(var(run p50s) - mean within-run "
           "variance) / mean p50; stored for bench compare on this machine"] for name, sd in cal.run_sd.items()],
        *[[f"{name} coverage", f"{c[0]} of {c[1]} runs ({c[0] / c[1]:.0%})" if c[1] else "-",
           "runs whose within-run 95 % CI of p50 holds the median of all runs' p50s (want >= 90 %)"]
          for name, c in cal.coverage.items()],
        ["false alarms of one run a side", f"{cal.false_alarms} of {cal.pairs} pairs "
         f"({cal.false_alarms_unfolded} without run-to-run noise)",
         "repetitions of one configuration that bench compare, one run a side, calls slower or faster"],
    ]
    known_rows = [[f"{k.work_ms:g}", k.n, f"{k.expected_ms:.1f}",
                   "-" if k.measured_p50 is None else f"{k.measured_p50:.1f} {_range(k.measured_p50_ci)}",
                   "-" if k.error_ms is None else f"{k.error_ms:+.1f} {_range(k.error_ci, signed=True)}",
                   "-" if k.recv_to_dom_minus_work_ms is None else f"{k.recv_to_dom_minus_work_ms:+.2f}"]
                  for k in cal.known_answers]
    return "\n".join([
        f"noise floor ({cal.repetitions} repetitions, variants interleaved)",
        tabulate(noise, headers=["quantity", "value", "how"], disable_numparse=True), "",
        f"known answers: isolated messages at {known.rate:g}/s, {known.bursts} bursts x {known.size} per "
        f"repetition; expected p50 = work_ms + refresh/2",
        tabulate(known_rows, headers=["work_ms", "n", "expected p50 ms", "measured p50 ms [95% CI]",
                                      "error ms [95% CI]", "recv->dom - work ms"], disable_numparse=True),
    ])


# ------------------------------------------------------------------ command

def add_parser(sub) -> None:
    p = add_command(sub, "calibrate", help="noise floor and known-answer accuracy",
                       description="Measure this machine's noise floor and the suite's own accuracy on "
                       "the bundled app. Interleaves a default burst variant and isolated-message variants with "
                       "work_ms 0/20/50 over R repetitions; prints refresh interval, p50 CV across "
                       "repetitions, the smallest change in paint.latency_ms it resolves, and the "
                       "known-answer errors.")
    p.add_argument("--repeat", type=int, default=5, help="repetitions of every variant (default 5, at least 2)")
    p.add_argument("--bursts", type=int, default=10, help="default variant: bursts (default 10, as bench ui)")
    p.add_argument("--burst-size", type=int, default=100, metavar="N",
                   help="default variant: messages per burst (default 100, as bench ui)")
    p.add_argument("--known-rate", type=float, default=10, metavar="MSGS_PER_S",
                   help="known-answer variants: message rate (default 10/s: 100 ms apart, more than "
                        "50 ms of work plus a frame)")
    p.add_argument("--known-bursts", type=int, default=2, metavar="B",
                   help="known-answer variants: bursts per repetition (default 2)")
    p.add_argument("--known-size", type=int, default=10, metavar="N",
                   help="known-answer variants: messages per burst (default 10)")
    p.add_argument("--threshold", type=float, default=5, metavar="PCT",
                   help="noise threshold in percent, as for bench compare (default 5)")
    add_seed(p)
    add_timeout(p, 30, "the page")
    p.add_argument("--url", help="a running bundled app (`bench serve`), e.g. one a browser elsewhere can reach: "
                                 "`bench serve --host 0.0.0.0` and --url http://THIS-MACHINE:8000/ (default: "
                                 "bench starts one on 127.0.0.1)")
    add_browser(p)
    add_output(p, "the calibration (and every variant's results)")
    p.add_argument("--no-store", action="store_true",
                   help="do not store the run-to-run noise for bench compare (default: stored, with --repeat "
                        "10 or more, in $BENCH_CALIBRATION or ~/.cache/bench/calibration.json, per machine)")


def command(args) -> int:
    if args.repeat < 2:
        raise UsageError(f"--repeat must be at least 2 for a spread across repetitions (got {args.repeat})")
    if args.known_rate <= 0:
        raise UsageError(f"--known-rate must be positive (got {args.known_rate:g})")
    if not 0 < args.threshold < 1000:
        raise UsageError(f"--threshold must be a percentage above 0 (got {args.threshold:g})")
    default_burst = BurstConfig(bursts=args.bursts, size=args.burst_size)
    known = BurstConfig(bursts=args.known_bursts, size=args.known_size, rate=args.known_rate)
    variant_list = variants(default_burst, known)  # validates the burst configs (UsageError)
    config = UiConfig(scenarios=variant_list[0].scenarios, url=args.url, repeat=args.repeat, seed=args.seed,
                      timeout_s=args.timeout)
    browser = browser_options(args)
    started = time.monotonic()
    run = UiRun(config, browser, progress=False if args.no_progress else None, variants=variant_list)
    run.execute()
    by_variant = {name: r.to_json() for name, r in run.variant_results.items()}
    calibration = analyse(by_variant, args.threshold / 100)
    print(table(calibration, default_burst, known))
    env = by_variant["default"]["env"]
    print(f"\n{browser_line(env)}; bench calibrate took {time.monotonic() - started:.1f} s")
    for note in env_notes(env) + remote_note(env):
        print(note)
    if calibration.run_sd and not args.no_store:
        if calibration.repetitions < run_noise.MIN_RUNS_TO_STORE:
            print(f"run-to-run noise not stored: {calibration.repetitions} repetitions estimate it too loosely "
                  f"(--repeat {run_noise.MIN_RUNS_TO_STORE} or more to store it for bench compare)")
        else:
            path = calibration_store.save(env, calibration.run_sd, {
                "repetitions": calibration.repetitions, "coverage": calibration.coverage,
                "measured_at": env.get("started_at")})
            print(f"run-to-run noise stored for bench compare on this machine: {path}")
    if args.json:
        write_json_atomic(args.json, {"schema": SCHEMA, "env": env, "calibration": asdict(calibration),
                                      "variants": by_variant})
        print(f"calibration: {args.json}")
    return 0
