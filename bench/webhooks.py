"""Webhook intake throughput; writes its results into ``bench/README.md``.

    .venv/bin/python bench/webhooks.py [--quick]

1. Our intake (``shopify_app:create_app()``) and a minimal one (``bench/minimal_app.py``) are each
   served by gunicorn as in the Procfile, on PostgreSQL database ``bench`` and a private Redis, and
   driven by 16 threads posting signed ``customers/redact`` deliveries; then, as a cross-check, by wrk
   with 16 connections (``bench/wrk.py``), which leaves the servers nearly all of the two cores. Both
   are then profiled serially in this process.
2. The compile time of a 250-order report (part 3 of the same section) is measured by
   ``bench/compile_time.py``, which rewrites only that part; this script keeps it as it is.

Everything stays on 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import itertools
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, Python puts bench/ first on the path, where bench/workers.py would shadow the
# ``workers`` package: import from the project root instead.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() not in (ROOT, ROOT / "bench"))]

from redis import Redis  # noqa: E402

from bench import intake, readme  # noqa: E402
from bench import wrk as wrk_load  # noqa: E402

README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- webhooks:begin -->", "<!-- webhooks:end -->"
COMPILE_PART = "### 3. "  # written by bench/compile_time.py
OURS, MINIMAL = "shopify_app:create_app()", "bench.minimal_app:create_app()"
CLIENTS = 16
P99_TARGET_MS = 100.0
RATIO_TARGET = 0.8
DISTURBED_CORES = 0.3  # wait (a little) before a slice while other processes use more than this


@dataclasses.dataclass(frozen=True)
class Plan:
    """How much to measure: ``--quick`` checks the harness, the default produces the figures."""

    warmup: float  # before the first slice; later slices get SLICE_WARMUP
    duration: float  # measured seconds per app and worker count, split into slices
    slices: int
    quiet_wait: float  # at most this long before each slice, waiting for other work on the machine to stop
    configs: tuple[intake.Config, ...]
    profile_requests: int


CORES = os.cpu_count() or 1
# The Procfile's configuration is the headline; sync workers (2 x cores + 1, gunicorn's advice for them) for
# comparison with the earlier runs.
SYNC_CONFIG = intake.Config("sync", 2 * CORES + 1)
FULL = Plan(warmup=3, duration=40, slices=20, quiet_wait=30, configs=(intake.PROCFILE_CONFIG, SYNC_CONFIG),
            profile_requests=1000)
QUICK = Plan(warmup=1, duration=6, slices=2, quiet_wait=5, configs=(intake.PROCFILE_CONFIG,), profile_requests=200)
SLICE_WARMUP = 0.5
CONCENTRATED = 12  # a slice whose busiest worker holds at least this many of the CLIENTS connections
WRK_WARMUP = 1.0  # wrk runs whole seconds
WRK_MAX_RATE = 6000  # requests signed per second of a wrk slice: more than wrk can send (it sends each once)


@dataclasses.dataclass
class Slices:
    """One app's slices in one run, in order: throughput, and how many of the connections the busiest gunicorn
    worker held (sampled halfway through the slice)."""

    throughputs: list[float] = dataclasses.field(default_factory=list)
    busiest: list[int] = dataclasses.field(default_factory=list)

    def sampler(self, server: intake.Gunicorn) -> Callable[[], None]:
        return lambda: self.busiest.append(max(server.connections_per_worker(), default=0))


@dataclasses.dataclass(frozen=True)
class IntakeRun:
    app: str
    config: intake.Config
    result: intake.LoadResult
    rows: int
    jobs: int
    slices: Slices
    deliveries_per_commit: float | None = None  # ours only


def run_intake(env: intake.BenchEnv, plan: Plan) -> list[IntakeRun]:
    """For each worker count, serve both apps at once and load them in turn, slice by slice.

    Alternating short slices (ours, minimal, minimal, ours, ...) spreads whatever
    else runs on the machine over both apps, so their ratio stays fair.
    """
    runs = []
    for config in plan.configs:
        intake.reset_state(env)
        intake.seed_history(env)
        parts: dict[str, list[intake.LoadResult]] = {OURS: [], MINIMAL: []}
        slices = {OURS: Slices(), MINIMAL: Slices()}
        transactions = deliveries = 0  # during our slices
        with intake.Gunicorn(OURS, config, env) as ours, intake.Gunicorn(MINIMAL, config, env) as minimal:
            servers = {OURS: ours, MINIMAL: minimal}
            for index in range(plan.slices):
                for app in (OURS, MINIMAL) if index % 2 == 0 else (MINIMAL, OURS):
                    intake.wait_for_quiet(max_cores=DISTURBED_CORES, max_wait=plan.quiet_wait)
                    server = servers[app]
                    before = intake.write_counters(env)
                    parts[app].append(intake.run_load(
                        server.url, env.api_secret, server.pids(), _pid(env), clients=CLIENTS,
                        warmup=plan.warmup if index == 0 else SLICE_WARMUP, duration=plan.duration / plan.slices,
                        midway=slices[app].sampler(server)))
                    slices[app].throughputs.append(parts[app][-1].throughput)
                    if app == OURS:
                        after = intake.write_counters(env)
                        transactions += after[0] - before[0]
                        deliveries += after[1] - before[1]
        rows, our_jobs = intake.count_effects(env, "privacy")
        for app, jobs in ((OURS, our_jobs), (MINIMAL, intake.count_effects(env, "minimal")[1])):
            result = intake.LoadResult.merge(parts[app])
            runs.append(IntakeRun(app, config, result, rows if app == OURS else 0, jobs, slices[app],
                                  deliveries / transactions if app == OURS and transactions else None))
            print(f"  {app} {config.label}: {result.throughput:.0f} req/s, p99 {result.p99_ms:.0f} ms, "
                  f"errors {result.errors}, other load {result.disturbance:.2f} cores", flush=True)
    return runs


@dataclasses.dataclass(frozen=True)
class WrkRun:
    ours: wrk_load.Slice
    minimal: wrk_load.Slice
    wrk_version: str
    slices: dict[str, Slices]

    @property
    def ratio(self) -> float:
        return self.ours.throughput / self.minimal.throughput if self.minimal.throughput else float("nan")


def run_intake_wrk(env: intake.BenchEnv, plan: Plan, wrk: str) -> WrkRun:
    """The Procfile's configuration again, the same slices, loaded by wrk instead of the Python generator.

    The Python generator takes about a third of the machine, as much for either app; wrk takes a few
    hundredths of a core. But wrk opens its connections at once, and the gunicorn worker that wakes first
    accepts most of them: that slows the minimal endpoint (one GIL) and not ours (bigger batches), so this
    ratio is the higher one (see :func:`spread_lines`).
    """
    intake.reset_state(env)
    intake.seed_history(env)
    parts: dict[str, list[wrk_load.Slice]] = {OURS: [], MINIMAL: []}
    slices = {OURS: Slices(), MINIMAL: Slices()}
    shop_index = itertools.count()

    def make_request() -> intake.Request:
        return intake.webhook_request(env.api_secret, next(shop_index))

    def received() -> int:
        return intake.count_effects(env, "privacy")[0]

    config = intake.PROCFILE_CONFIG
    with tempfile.TemporaryDirectory(prefix="webhooks-bench-") as workdir, \
            intake.Gunicorn(OURS, config, env) as ours, intake.Gunicorn(MINIMAL, config, env) as minimal:
        servers = {OURS: ours, MINIMAL: minimal}
        for index in range(plan.slices):
            for app in (OURS, MINIMAL) if index % 2 == 0 else (MINIMAL, OURS):
                intake.wait_for_quiet(max_cores=DISTURBED_CORES, max_wait=plan.quiet_wait)
                server = servers[app]
                parts[app].append(wrk_load.run(
                    wrk, server.url, make_request, {"gunicorn": server.pids(), "redis": [_pid(env)]},
                    connections=CLIENTS, threads=1, warmup=WRK_WARMUP, duration=plan.duration / plan.slices,
                    workdir=Path(workdir), rows_counter=received if app == OURS else None, max_rate=WRK_MAX_RATE,
                    midway=slices[app].sampler(server)))
                slices[app].throughputs.append(parts[app][-1].throughput)
    run = WrkRun(wrk_load.merge(parts[OURS]), wrk_load.merge(parts[MINIMAL]), wrk_load.version(wrk), slices)
    for app, result in ((OURS, run.ours), (MINIMAL, run.minimal)):
        print(f"  {app} wrk {config.label}: {result.throughput:.0f} req/s, p99 {result.p99_ms:.0f} ms, "
              f"errors {result.errors}, wrapped {result.wrapped}", flush=True)
    return run


def _pid(env: intake.BenchEnv) -> int:
    assert env.redis.process is not None
    return env.redis.process.pid


# -- report -----------------------------------------------------------------------------------------


def machine_line(env: intake.BenchEnv) -> str:
    meminfo = Path("/proc/meminfo").read_text()
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
    redis_version = Redis.from_url(env.redis.url).info("server")["redis_version"]
    from importlib.metadata import version

    return (f"{CORES} cores (os.cpu_count()), {mem_kb / 1024 / 1024:.1f} GiB RAM (MemTotal), "
            f"Python {platform.python_version()}, PostgreSQL {intake.postgres_version()}, Redis {redis_version}, "
            f"gunicorn {version('gunicorn')}, {platform.system()} {platform.release()}")


def _f(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def intake_table(runs: list[IntakeRun]) -> list[str]:
    lines = ["| app | gunicorn | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | rows / jobs created "
             "| CPU cores: gunicorn · postgres · redis · load generator | other processes (cores) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    batches = []
    for run in runs:
        r, cpu = run.result, run.result.cpu_cores
        name = "ours" if run.app == OURS else "minimal"
        lines.append(
            f"| {name} | {run.config.label} | {_f(r.throughput)} | {_f(r.p50_ms, 1)} | {_f(r.p95_ms, 1)} | "
            f"{_f(r.p99_ms, 1)} | {_f(r.max_ms, 1)} | {r.errors} of {r.requests} ({r.error_rate:.2%}) | "
            f"{run.rows:,} / {run.jobs:,} | {cpu['gunicorn']:.2f} · {cpu['postgres']:.2f} · {cpu['redis']:.2f} · "
            f"{cpu['load generator']:.2f} | {r.disturbance:.2f} |")
        if run.deliveries_per_commit is not None:
            batches.append(f"{run.deliveries_per_commit:.2f} with {run.config.label}")
    if batches:
        lines += ["", "Our deliveries stored per commit (the batch size: deliveries stored over write transactions "
                      "committed during our slices, warm-up included): " + ", ".join(batches) + "."]
    return lines


def server_cpu_ms(result: intake.LoadResult | wrk_load.Slice) -> float:
    """CPU spent per delivery by gunicorn, PostgreSQL and Redis together (ms)."""
    cpu = result.cpu_cores
    return (cpu["gunicorn"] + cpu["postgres"] + cpu["redis"]) / result.throughput * 1000 if result.throughput else 0.0


def verdict_lines(runs: list[IntakeRun]) -> list[str]:
    by_key = {(r.app, r.config): r.result for r in runs}
    lines = ["| gunicorn | ours / minimal throughput | ratio ≥ 0.8 | our p99 | p99 < 100 ms "
             "| server CPU per delivery: ours / minimal |",
             "| ---: | ---: | :---: | ---: | :---: | ---: |"]
    for config in dict.fromkeys(r.config for r in runs):
        ours, minimal = by_key[(OURS, config)], by_key[(MINIMAL, config)]
        ratio = ours.throughput / minimal.throughput if minimal.throughput else float("nan")
        lines.append(f"| {config.label} | {_f(ours.throughput)} / {_f(minimal.throughput)} = **{ratio:.2f}** | "
                     f"{'yes' if ratio >= RATIO_TARGET else 'no'} | {_f(ours.p99_ms, 1)} ms | "
                     f"{'yes' if ours.p99_ms < P99_TARGET_MS else 'no'} | "
                     f"{server_cpu_ms(ours):.2f} ms / {server_cpu_ms(minimal):.2f} ms |")
    return lines


def wrk_lines(runs: list[IntakeRun], wrk_run: WrkRun | None) -> list[str]:
    config = intake.PROCFILE_CONFIG
    if wrk_run is None:
        return ["Cross-check with wrk: not run (wrk is missing and could not be installed: `apt-get install wrk`)."]
    python = {r.app: r.result for r in runs if r.config == config}
    o, m = wrk_run.ours, wrk_run.minimal
    p_ours, p_min = python[OURS], python[MINIMAL]
    p_ratio = p_ours.throughput / p_min.throughput if p_min.throughput else float("nan")
    return [
        f"Cross-check, {config.label} only: the same slices again, loaded by {wrk_run.wrk_version} instead "
        f"({CLIENTS} connections, one thread; `bench/pool_wrk.lua` sends requests signed beforehand by "
        "`bench/wrk.py`, each once). The Python generator above takes about a third of the two cores, as much "
        "for either app; wrk takes a few hundredths of a core, but it opens its connections all at once, and one "
        "gunicorn worker usually accepts most of them, which slows the minimal endpoint and not ours (the slices "
        "below), so its ratio flatters ours. wrk keeps no samples: its p50 is the median slice's, its p99 the worst "
        "slice's (the Python generator's are over all requests).",
        "",
        "| load generator | ours / minimal throughput | ratio | ours p50 / p99 ms | minimal p50 / p99 ms "
        "| server CPU per delivery: ours / minimal | load generator, cores (ours · minimal) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| Python, {CLIENTS} threads | {_f(p_ours.throughput)} / {_f(p_min.throughput)} | **{p_ratio:.2f}** | "
        f"{p_ours.p50_ms:.1f} / {p_ours.p99_ms:.1f} | {p_min.p50_ms:.1f} / {p_min.p99_ms:.1f} | "
        f"{server_cpu_ms(p_ours):.2f} ms / {server_cpu_ms(p_min):.2f} ms | "
        f"{p_ours.cpu_cores['load generator']:.2f} · {p_min.cpu_cores['load generator']:.2f} |",
        f"| wrk, {CLIENTS} connections | {_f(o.throughput)} / {_f(m.throughput)} | **{wrk_run.ratio:.2f}** | "
        f"{o.p50_ms:.1f} / {o.p99_ms:.1f} | {m.p50_ms:.1f} / {m.p99_ms:.1f} | "
        f"{server_cpu_ms(o):.2f} ms / {server_cpu_ms(m):.2f} ms | "
        f"{o.cpu_cores['wrk']:.2f} · {m.cpu_cores['wrk']:.2f} |",
        "",
        f"With wrk: our errors {o.errors} of {o.requests:,}, the minimal endpoint's {m.errors} of {m.requests:,}; "
        f"privacy requests stored during our measured slices {o.rows:,} against {o.ok:,} answers 200 (at most "
        f"{CLIENTS} more per slice: requests in flight when wrk stopped); pool wrapped {o.wrapped + m.wrapped} times "
        "(0: every delivery was new).",
    ]


def spread_lines(runs: list[IntakeRun], wrk_run: WrkRun | None) -> list[str]:
    """How much single slices varied, and the main reason: where gunicorn put the connections."""
    config = intake.PROCFILE_CONFIG
    loads = [(f"Python, {CLIENTS} threads", {r.app: r.slices for r in runs if r.config == config})]
    if wrk_run is not None:
        loads.append((f"wrk, {CLIENTS} connections", wrk_run.slices))

    def mean_where(slices: Slices, concentrated: bool) -> str:
        values = [t for t, b in zip(slices.throughputs, slices.busiest, strict=True)
                  if (b >= CONCENTRATED) == concentrated]
        return f"{_f(statistics.fmean(values))} ({len(values)})" if values else "none"

    lines = [
        f"Slices, {config.label}. The workers share one listening socket, a keep-alive connection stays with the "
        "worker that accepted it, and whichever worker wakes first accepts most of a slice's new connections; "
        "the busiest worker's share was sampled halfway through each slice. A process's threads share one GIL: "
        "the minimal endpoint serves fewest requests when one worker holds most connections, while ours then "
        "forms bigger batches. So single slices vary a lot, and the ratios above are over all "
        f"{len(loads[0][1][OURS].throughputs)} slices per app (each slice opens new connections).",
        "",
        "| load generator | ratio of adjacent slices: min · median · max | busiest worker's connections: median "
        f"(range) | ours, req/s: busiest ≥ {CONCENTRATED} / fewer (slices) | minimal, req/s: busiest ≥ "
        f"{CONCENTRATED} / fewer (slices) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, by_app in loads:
        ours, minimal = by_app[OURS], by_app[MINIMAL]
        ratios = sorted(o / m for o, m in zip(ours.throughputs, minimal.throughputs, strict=True) if m)
        busiest = ours.busiest + minimal.busiest
        lines.append(
            f"| {label} | {ratios[0]:.2f} · {statistics.median(ratios):.2f} · {ratios[-1]:.2f} | "
            f"{statistics.median(busiest):g} of {CLIENTS} ({min(busiest)}–{max(busiest)}) | "
            f"{mean_where(ours, True)} / {mean_where(ours, False)} | "
            f"{mean_where(minimal, True)} / {mean_where(minimal, False)} |")
    return lines


def profile_lines(ours: intake.IntakeProfile, minimal: intake.IntakeProfile, requests: int) -> list[str]:
    lines = [f"Serial, in this process (Flask test client, no gunicorn, no contention), {requests} deliveries each:",
             "",
             "| per delivery | ours | minimal |", "| --- | ---: | ---: |",
             f"| wall time | {ours.wall_ms:.2f} ms | {minimal.wall_ms:.2f} ms |",
             f"| CPU time of the Python process | {ours.cpu_ms:.2f} ms | {minimal.cpu_ms:.2f} ms |",
             f"| SQL statements (SQLAlchemy) | {ours.sql_statements:.1f} | {minimal.sql_statements:.1f} |",
             f"| PostgreSQL round trips (psycopg waits: statements, COMMIT, pool pre-ping) | "
             f"{ours.postgres_round_trips:.1f} | {minimal.postgres_round_trips:.1f} |",
             f"| Redis round trips | {ours.redis_round_trips:.1f} | {minimal.redis_round_trips:.1f} |",
             "", "Where our delivery's wall time goes (cProfile cumulative, which inflates Python-heavy steps):", "",
             "| step | ms per delivery |", "| --- | ---: |"]
    lines += [f"| {label} | {ms:.2f} |" for label, ms in ours.steps_ms.items()]
    return lines


def config_note(plan: Plan) -> str:
    notes = {intake.PROCFILE_CONFIG: "the Procfile's web line with its defaults, and the headline",
             SYNC_CONFIG: "2 x cores + 1 sync workers, gunicorn's advice for them, as in earlier runs"}
    return "; ".join(f"{c.label} is {notes[c]}" for c in plan.configs if c in notes) + "."


def render(command: str, machine: str, code: str, plan: Plan, runs: list[IntakeRun], wrk_run: WrkRun | None,
           ours_profile: intake.IntakeProfile, minimal_profile: intake.IntakeProfile, compile_part: str,
           elapsed: float) -> str:
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    gunicorn_line = "gunicorn " + " ".join(f'"{a}"' if "(" in a else a
                                           for a in intake.gunicorn_args(OURS, "127.0.0.1:PORT", intake.PROCFILE_CONFIG))
    parts = [
        BEGIN,
        "## Webhook intake and report compile time",
        "",
        f"Command: `{command}` · run {today} · took {elapsed / 60:.1f} min",
        "",
        f"Machine: {machine}. Code: {code}.",
        "",
        "### 1-2. Webhook intake under gunicorn: ours vs a minimal endpoint",
        "",
        f"Served by `{gunicorn_line}` (the Procfile's `web` line and its defaults) and "
        f"by the comparison configuration; the minimal app (`bench/minimal_app.py`: constant-time HMAC check, one RQ enqueue with a unique "
        f"job id, no database) is served the same way. {config_note(plan)} PostgreSQL database `bench` "
        f"(migrated with `alembic upgrade head`; before each configuration, tables emptied, then the 5 installed "
        f"shops with a history of 10,000 closed requests each, a delivery and an audit entry apiece, and "
        f"`VACUUM ANALYZE`: `intake.seed_history`), a private "
        f"`redis-server` (flushed then too; no RQ worker runs: jobs accumulate), `APP_ENV=development`.",
        "",
        f"Load: {CLIENTS} threads in one process, each with its own `httpx.Client`, post validly signed "
        f"`customers/redact` deliveries back to back (new webhook id, event id and customer id each time, 5 shops), "
        f"{plan.duration:g} s measured per app and configuration, in {plan.slices} slices alternating between the "
        f"two apps (both served at once, only one loaded at a time; {plan.warmup:g} s of warm-up before the first "
        f"slice, {SLICE_WARMUP:g} s before the others), so that other work on the machine weighs on both alike. "
        f"Latency is per request as the client sees it. The load generator shares the cores, so the figures are a "
        f"floor (see the cross-check with wrk below).",
        "",
        *verdict_lines(runs),
        "",
        *intake_table(runs),
        "",
        "Rows / jobs include warm-up requests. CPU cores = average cores busy per process group during the measured "
        "windows (psutil); \"other processes\" is the rest of the machine (other people's tests and benchmarks), "
        "which slows both apps.",
        "",
        *wrk_lines(runs, wrk_run),
        "",
        *spread_lines(runs, wrk_run),
        "",
        *profile_lines(ours_profile, minimal_profile, plan.profile_requests),
        "",
        compile_part.rstrip("\n"),
        END,
    ]
    return "\n".join(parts)


def existing_compile_part() -> str:
    """Part 3 as ``bench/compile_time.py`` last wrote it (that script owns it), or a pointer to it."""
    text = README.read_text() if README.exists() else ""
    if BEGIN in text and COMPILE_PART in text[text.index(BEGIN):]:
        start = text.index(COMPILE_PART, text.index(BEGIN))
        return text[start:text.index(END, start)]
    return f"{COMPILE_PART}Compiling a subject-access report\n\nRun `.venv/bin/python bench/compile_time.py`.\n"


def write_readme(section: str) -> None:
    readme.write_section(BEGIN, END, section)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, the Procfile's configuration only")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    command = ".venv/bin/python bench/webhooks.py" + (" --quick" if args.quick else "")
    began, code = time.monotonic(), readme.code()
    with intake.bench_env() as env:
        machine = machine_line(env)
        print(f"{machine}\nintake:", flush=True)
        runs = run_intake(env, plan)
        wrk = wrk_load.ensure_wrk()
        wrk_run = run_intake_wrk(env, plan, wrk) if wrk else None
        print("profiling in-process", flush=True)
        intake.reset_state(env)
        intake.seed_history(env)
        ours_profile = intake.profile_intake(env, plan.profile_requests)
        minimal_profile = intake.profile_intake(env, plan.profile_requests, minimal=True)
    section = render(command, machine, code, plan, runs, wrk_run, ours_profile, minimal_profile,
                     existing_compile_part(), time.monotonic() - began)
    write_readme(section)
    print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
