"""Mixed load and soak: the whole product under locust, as it runs in production, on loopback.

    .venv/bin/python bench/load.py peak            # find the peak, then write the ``load`` section
    .venv/bin/python bench/load.py soak            # 10 minutes at 50% of the last peak, ``soak`` section
    .venv/bin/python bench/load.py soak --minutes 2 --rate 200   # a shorter or different soak

What runs, all on 127.0.0.1, each process started from the Procfile's own lines:

- ``web``: gunicorn with the Procfile's arguments (``WEB_CONCURRENCY`` workers, default 2);
- ``worker`` twice (two RQ worker processes, the documented deployment) and ``scheduler`` once;
- PostgreSQL database ``bench_load`` (created and migrated if missing, emptied at start), a private
  ``redis-server``, and the Admin API double (in this process) with 100 shops, each with 20 customers of
  3 orders, so that ``customers/data_request`` jobs compile real reports over HTTP;
- locust (headless, one process, ``bench/locustfile.py``: the request mix is described there).

Every shop is installed through the app first (token exchange with the double, default banner published).
Once a second this script samples the resident memory (RSS) and CPU of each process group, the number of
Redis keys and Redis's memory, and the job backlog; after each load step it waits for the workers to empty
the queues and counts the privacy requests by status, so "nothing lost" is checked, not assumed.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import psutil
import psycopg
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import intake, readme  # noqa: E402

from devtools.admin_double import AdminApiDouble  # noqa: E402
from devtools.redis_server import RedisServer, free_port  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_load"
PEAK_FILE = ROOT / "bench" / "load-peak.json"
SHOPS = [f"load-shop-{i}.myshopify.com" for i in range(100)]
CUSTOMERS_PER_SHOP, ORDERS_EACH = 20, 3
WORKER_PROCESSES = 2
PEAK_STEPS = (8, 16, 32, 64)  # locust users, back to back
STEP_SECONDS = 40
DRAIN_TIMEOUT = 300.0
LOAD_BEGIN, LOAD_END = "<!-- load:begin -->", "<!-- load:end -->"
SOAK_BEGIN, SOAK_END = "<!-- soak:begin -->", "<!-- soak:end -->"


# -- processes ------------------------------------------------------------------------------------


def _procfile_line(name: str) -> str:
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith(f"{name}:"))
    return line.split(":", 1)[1].strip()


def procfile_defaults() -> dict[str, str]:
    """``${NAME:-default}`` in the Procfile: the defaults, which is how production runs unless told otherwise."""
    return dict(re.findall(r"\$\{(\w+):-([^}]*)\}", (ROOT / "Procfile").read_text()))


def procfile_command(name: str, port: int) -> list[str]:
    """A Procfile line as argv, bound to loopback, with this virtualenv's executables."""
    values = {**procfile_defaults(), "PORT": str(port)}
    command = re.sub(r"\$\{(\w+):-[^}]*\}", lambda m: values[m.group(1)], _procfile_line(name))
    argv = shlex.split(command.replace("0.0.0.0", "127.0.0.1"))
    return [str(VENV_BIN / argv[0]), *argv[1:]]


@dataclasses.dataclass
class Stack:
    """The running product: web, workers, scheduler, Redis, the double; and where each one's pids are."""

    env: intake.BenchEnv
    double: AdminApiDouble
    port: int
    processes: dict[str, list[subprocess.Popen[bytes]]]
    logs: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self, group: str) -> list[int]:
        pids: list[int] = []
        for process in self.processes.get(group, []):
            try:
                parent = psutil.Process(process.pid)
                pids += [parent.pid, *(child.pid for child in parent.children(recursive=True))]
            except psutil.NoSuchProcess:
                pass
        return pids

    def redis(self) -> Redis:
        return Redis.from_url(self.env.redis.url)


@contextmanager
def running_stack() -> Iterator[Stack]:
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        redis_server = stack.enter_context(RedisServer())
        env = intake.BenchEnv(redis=redis_server, instance_path=Path(tmp), database_url=DATABASE_URL)
        intake.prepare_database(env)
        intake.reset_state(env)
        double = AdminApiDouble(env.api_key, env.api_secret)
        double.start()
        stack.callback(double.stop)
        process_env = {**env.process_env(), "SHOPIFY_SHOP_URL_TEMPLATE": double.shop_url_template,
                       "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        port = free_port()
        logs = Path(tmp) / "logs"
        logs.mkdir()
        processes: dict[str, list[subprocess.Popen[bytes]]] = {"web": [], "worker": [], "scheduler": []}
        started = Stack(env=env, double=double, port=port, processes=processes, logs=logs)
        stack.callback(_stop_all, processes)
        for group, count in (("web", 1), ("worker", WORKER_PROCESSES), ("scheduler", 1)):
            for i in range(count):
                log = (logs / f"{group}-{i}.log").open("wb")
                stack.callback(log.close)
                processes[group].append(subprocess.Popen(procfile_command(group, port), cwd=ROOT, env=process_env,
                                                         stdout=log, stderr=subprocess.STDOUT))
        _wait_until_serving(started)
        yield started


def _stop_all(processes: dict[str, list[subprocess.Popen[bytes]]]) -> None:
    for group in ("web", "worker", "scheduler"):
        for process in processes[group]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
    for group in processes.values():
        for process in group:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_serving(stack: Stack, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as http:
        while time.monotonic() < deadline:
            for group, processes in stack.processes.items():
                for process in processes:
                    if process.poll() is not None:
                        raise RuntimeError(f"{group} exited:\n{_log_tail(stack, group)}")
            try:
                if http.get(f"{stack.url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
    raise RuntimeError("the web process did not answer /healthz")


def _log_tail(stack: Stack, group: str) -> str:
    return "\n".join(path.read_text(errors="replace")[-1500:] for path in sorted(stack.logs.glob(f"{group}-*.log")))


# -- the shops ------------------------------------------------------------------------------------


def session_token(env: intake.BenchEnv, shop: str) -> str:
    now = int(time.time())
    return jwt.encode({"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": env.api_key, "sub": "1",
                       "exp": now + 60, "nbf": now - 5, "iat": now, "jti": uuid.uuid4().hex, "sid": "load"},
                      env.api_secret, algorithm="HS256")


def install_shops(stack: Stack) -> dict[str, list[list[Any]]]:
    """Install every shop through the app, give each customers with orders in the double; return them."""
    customers: dict[str, list[list[Any]]] = {}
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        for shop in SHOPS:
            seeded = stack.double.seed_customers(shop, CUSTOMERS_PER_SHOP, ORDERS_EACH)
            customers[shop] = [[int(c["legacyResourceId"]), c["defaultEmailAddress"]["emailAddress"],
                                [int(o.rsplit("/", 1)[1]) for o in c["_order_ids"]]] for c in seeded]
            response = http.get("/", params={"shop": shop, "host": "aG9zdA", "embedded": "1",
                                             "id_token": session_token(stack.env, shop)})
            response.raise_for_status()
    wait_for_drain(stack)  # the banner publications queued at install
    with httpx.Client(base_url=stack.url, timeout=10) as http:
        missing = [s for s in SHOPS if http.get(f"/storefront/consent-banner.js?shop={s}").status_code != 200]
    if missing:
        raise RuntimeError(f"no banner for {len(missing)} shops after install, e.g. {missing[0]}")
    return customers


# -- sampling -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Sample:
    at: float
    rss_mib: dict[str, float]  # per group, all its processes
    largest_mib: dict[str, float]  # per group, its largest process
    cpu_seconds: dict[str, float]  # per group, cumulative (processes that died took theirs with them)
    redis_keys: int
    redis_used_mib: float
    backlog: int  # jobs waiting in the queues


class Sampler:
    """Samples the stack once a second on a thread, until stopped."""

    def __init__(self, stack: Stack, locust_pid: int | None = None, interval: float = 1.0) -> None:
        self.stack, self.locust_pid, self.interval = stack, locust_pid, interval
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._redis = stack.redis()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _groups(self) -> dict[str, list[int]]:
        groups = {"web": self.stack.pids("web"), "worker": self.stack.pids("worker"),
                  "scheduler": self.stack.pids("scheduler"), "postgres": intake.postgres_pids(DATABASE_URL),
                  # This process: the Admin API double (every GraphQL call validated against the schema), the
                  # sampler and the private redis-server it started.
                  "double+redis": [os.getpid(), *(c.pid for c in psutil.Process().children() if c.name() == "redis-server")]}
        if self.locust_pid:
            try:
                groups["locust"] = [self.locust_pid, *(c.pid for c in psutil.Process(self.locust_pid).children())]
            except psutil.NoSuchProcess:
                groups["locust"] = []
        return groups

    def _run(self) -> None:
        while not self._stop.is_set():
            rss: dict[str, float] = {}
            largest: dict[str, float] = {}
            cpu: dict[str, float] = {}
            for group, pids in self._groups().items():
                sizes, seconds = [], 0.0
                for pid in pids:
                    try:
                        process = psutil.Process(pid)
                        sizes.append(process.memory_info().rss / 2**20)
                        times = process.cpu_times()
                        # children_*: children that ended and were waited for, such as RQ's work horses, which
                        # live for one job (often under a second, between two samples).
                        seconds += times.user + times.system + times.children_user + times.children_system
                    except psutil.NoSuchProcess:
                        pass
                rss[group], largest[group], cpu[group] = sum(sizes), max(sizes, default=0.0), seconds
            try:
                keys = int(self._redis.dbsize())
                used = int(self._redis.info("memory")["used_memory"]) / 2**20
                backlog = sum(int(self._redis.llen(f"rq:queue:{q}")) for q in ("privacy", "maintenance"))
            except Exception:  # noqa: BLE001 - a missed sample is not worth stopping the benchmark for
                keys, used, backlog = -1, -1.0, -1
            self.samples.append(Sample(time.monotonic(), rss, largest, cpu, keys, used, backlog))
            self._stop.wait(self.interval)

    def peak_rss(self, group: str) -> float:
        return max((s.rss_mib.get(group, 0.0) for s in self.samples), default=0.0)

    def peak_largest(self, group: str) -> float:
        return max((s.largest_mib.get(group, 0.0) for s in self.samples), default=0.0)

    def cpu_cores(self, group: str, start: float, end: float) -> float:
        inside = [s for s in self.samples if start <= s.at <= end]
        if len(inside) < 2:
            return float("nan")
        # Per-process cumulative counters: a process that exits (an RQ work horse) drops out of the sum,
        # so only count increases between consecutive samples.
        used = sum(max(0.0, b.cpu_seconds.get(group, 0.0) - a.cpu_seconds.get(group, 0.0))
                   for a, b in zip(inside, inside[1:], strict=False))
        return used / (inside[-1].at - inside[0].at)


# -- locust ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class EndpointStats:
    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float
    max: float


@dataclasses.dataclass(frozen=True)
class LoadStep:
    users: int
    rate_per_user: float
    seconds: float
    command: str
    endpoints: list[EndpointStats]
    total: EndpointStats
    cpu: dict[str, float]
    drain_seconds: float
    statuses: dict[str, int]

    @property
    def jobs(self) -> int:
        """New compliance webhooks: each created one privacy request and queued one job."""
        return sum(e.requests - e.failures for e in self.endpoints if e.name.startswith("POST /webhooks/"))


def run_locust(stack: Stack, customers: dict[str, list[list[Any]]], *, users: int, seconds: int,
               rate_per_user: float, sampler_interval: float = 1.0) -> tuple[LoadStep, Sampler]:
    with tempfile.TemporaryDirectory(prefix="locust-") as out:
        prefix = Path(out) / "run"
        argv = [str(VENV_BIN / "locust"), "-f", "bench/locustfile.py", "--headless", "--users", str(users),
                "--spawn-rate", str(users), "--run-time", f"{seconds}s", "--host", stack.url, "--csv", str(prefix),
                "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING"]
        env = {**os.environ, "LOAD_RATE_PER_USER": str(rate_per_user),
               "LOAD_CONFIG": json.dumps({"api_key": stack.env.api_key, "api_secret": stack.env.api_secret,
                                          "shops": SHOPS, "customers": customers})}
        began = time.monotonic()
        locust = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        with Sampler(stack, locust.pid, interval=sampler_interval) as sampler:
            output, _ = locust.communicate(timeout=seconds + 120)
            ended = time.monotonic()
            drain = wait_for_drain(stack)
        if not (prefix.parent / "run_stats.csv").exists():
            raise RuntimeError(f"locust wrote no statistics:\n{output.decode(errors='replace')[-3000:]}")
        endpoints = _read_stats(prefix.parent / "run_stats.csv")
    cpu = {group: sampler.cpu_cores(group, began + 2, ended)
           for group in ("web", "worker", "scheduler", "postgres", "double+redis", "locust")}
    shown = " ".join(a if a.startswith(("-", "/", "bench")) or a.isdigit() else shlex.quote(a) for a in argv[1:])
    command = f"LOAD_RATE_PER_USER={rate_per_user:g} locust {shown.replace(stack.url, 'http://127.0.0.1:PORT')}"
    step = LoadStep(users=users, rate_per_user=rate_per_user, seconds=seconds, command=command,
                    endpoints=[e for e in endpoints if e.name != "Aggregated"],
                    total=next(e for e in endpoints if e.name == "Aggregated"), cpu=cpu, drain_seconds=drain,
                    statuses=request_statuses(stack.env))
    return step, sampler


def _read_stats(path: Path) -> list[EndpointStats]:
    rows = []
    with path.open() as handle:
        for row in csv.DictReader(handle):
            rows.append(EndpointStats(
                name=row["Name"], requests=int(row["Request Count"]), failures=int(row["Failure Count"]),
                rps=float(row["Requests/s"]), p50=float(row["50%"]), p95=float(row["95%"]), p99=float(row["99%"]),
                max=float(row["Max Response Time"])))
    return rows


def wait_for_drain(stack: Stack) -> float:
    """Seconds until no job is queued or running (or ``DRAIN_TIMEOUT``)."""
    began = time.monotonic()
    redis = stack.redis()
    while time.monotonic() - began < DRAIN_TIMEOUT:
        queued = sum(int(redis.llen(f"rq:queue:{q}")) for q in ("privacy", "maintenance"))
        running = sum(int(redis.zcard(f"rq:wip:{q}")) for q in ("privacy", "maintenance"))
        if queued == 0 and running == 0:
            return time.monotonic() - began
        time.sleep(0.5)
    return float("inf")


def request_statuses(env: intake.BenchEnv) -> dict[str, int]:
    with psycopg.connect(env.database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        rows = conn.execute("SELECT status, count(*) FROM privacy_requests GROUP BY status ORDER BY status").fetchall()
    return {str(status): int(count) for status, count in rows}


def delivery_counts(env: intake.BenchEnv) -> tuple[int, int]:
    """(webhook deliveries stored, consent records stored)."""
    with psycopg.connect(env.database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute("SELECT (SELECT count(*) FROM webhook_deliveries),"
                           " (SELECT count(*) FROM consent_records)").fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


# -- reports --------------------------------------------------------------------------------------


def _header(command: str, began: float) -> str:
    versions = (f"Python {sys.version.split()[0]}, PostgreSQL {intake.postgres_version()}, "
                f"gunicorn {_version('gunicorn')}, rq {_version('rq')}, locust {_version('locust')}")
    return (f"Command: `{command}` · {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · took "
            f"{(time.monotonic() - began) / 60:.1f} min · {readme.machine()} · {versions} · code: "
            f"{readme.code()}.\n\nProcesses, from the Procfile with its defaults: `{_procfile_line('web')}` "
            f"({', '.join(f'{k}={v}' for k, v in procfile_defaults().items() if k != 'PORT')}), `python -m workers` × {WORKER_PROCESSES}, `python -m workers.cron` "
            f"× 1; PostgreSQL database `bench_load`, a private redis-server, the Admin API double in the benchmark "
            f"process; {len(SHOPS)} installed shops with {CUSTOMERS_PER_SHOP} customers of {ORDERS_EACH} orders "
            f"each. Load: locust, one process, `bench/locustfile.py` (60% consent posts, 25% banner script, 10% "
            f"admin API lists, 5% compliance webhooks incl. 1 in 20 redelivered). Everything shares the 2 cores, "
            f"locust included.")


def _version(package: str) -> str:
    from importlib.metadata import version
    return version(package)


def _endpoint_table(step: LoadStep) -> list[str]:
    lines = ["| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for e in [*sorted(step.endpoints, key=lambda e: -e.requests), step.total]:
        name = "**all**" if e is step.total else f"`{e.name}`"
        lines.append(f"| {name} | {e.requests:,} | {e.rps:,.0f} | {e.p50:.0f} | {e.p95:.0f} | {e.p99:.0f} | "
                     f"{e.max:.0f} | {e.failures} ({_pct(e.failures, e.requests)}) |")
    return lines


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "n/a"


def _cpu(step: LoadStep) -> str:
    return " · ".join(f"{group} {cores:.2f}" for group, cores in step.cpu.items())


def write_peak_section(command: str, began: float, steps: list[tuple[LoadStep, Sampler]], best: LoadStep,
                       stored: tuple[int, int]) -> None:
    lines = [LOAD_BEGIN, "## Mixed load: every surface at once (locust)", "", _header(command, began), "",
             f"Each step: locust with N users sending back to back for {STEP_SECONDS} s; after it, the workers empty "
             "the queues before the next step. Latency is what locust sees (its percentiles are rounded to 2 "
             "significant digits). CPU = cores busy on average during the step.", "",
             "| users | req/s | p50 ms | p95 ms | p99 ms | errors | peak RSS web / worker MiB | CPU cores | "
             "jobs queued | queues empty after | jobs done per s |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |"]
    for step, sampler in steps:
        t = step.total
        lines.append(f"| {step.users} | {t.rps:,.0f} | {t.p50:.0f} | {t.p95:.0f} | {t.p99:.0f} | {t.failures} "
                     f"({_pct(t.failures, t.requests)}) | {sampler.peak_rss('web'):.0f} / "
                     f"{sampler.peak_rss('worker'):.0f} | {_cpu(step)} | {step.jobs:,} | {step.drain_seconds:.1f} s | "
                     f"{step.jobs / (step.seconds + step.drain_seconds):.1f} |")
    peak_sampler = next(s for st, s in steps if st is best)
    lines += ["", f"**Peak: {best.total.rps:,.0f} requests/s** at {best.users} users (the highest throughput "
              "without errors), per endpoint:", "", *_endpoint_table(best), "",
              f"Peak memory during that step: web {peak_sampler.peak_rss('web'):.0f} MiB in all "
              f"(largest process {peak_sampler.peak_largest('web'):.0f} MiB), workers "
              f"{peak_sampler.peak_rss('worker'):.0f} MiB in all including their work horses (largest "
              f"{peak_sampler.peak_largest('worker'):.0f} MiB), scheduler {peak_sampler.peak_rss('scheduler'):.0f} "
              f"MiB. RSS counts pages shared after fork once per process, so the sums overstate.", "",
              f"Privacy requests after all steps: {_statuses(steps[-1][0].statuses)}; webhook deliveries stored: "
              f"{stored[0]:,}; consent records stored: {stored[1]:,}. Jobs queued = new compliance webhooks (each one "
              "privacy request and one job: a compile against the double or an erasure); jobs done per s = jobs / "
              "(step + time until the queues were empty), what the two RQ worker processes (`python -m workers`) worked off "
              "while sharing the cores with the web tier. Where the queues took long to empty, the workers fell "
              "behind during the step: the backlog waits in Redis, every request stays in the database, and the "
              "sweeper re-queues anything lost.", LOAD_END]
    readme.write_section(LOAD_BEGIN, LOAD_END, "\n".join(lines))


def _statuses(statuses: dict[str, int]) -> str:
    return ", ".join(f"{count:,} {status}" for status, count in statuses.items()) or "none"


def write_soak_section(command: str, began: float, step: LoadStep, sampler: Sampler, minutes: int,
                       rate: float, peak: float) -> None:
    start = sampler.samples[0].at
    per_minute: list[list[Sample]] = [[] for _ in range(minutes)]
    for sample in sampler.samples:
        index = int((sample.at - start) // 60)
        if index < minutes:
            per_minute[index].append(sample)
    rows = ["| minute | web RSS MiB | largest web process MiB | worker RSS MiB (incl. horses) | scheduler MiB | "
            "Redis keys | Redis memory MiB | jobs waiting (max) |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for index, samples in enumerate(per_minute, start=1):
        if not samples:
            continue
        rows.append(f"| {index} | {statistics.median(s.rss_mib['web'] for s in samples):.0f} | "
                    f"{statistics.median(s.largest_mib['web'] for s in samples):.0f} | "
                    f"{statistics.median(s.rss_mib['worker'] for s in samples):.0f} | "
                    f"{statistics.median(s.rss_mib['scheduler'] for s in samples):.0f} | "
                    f"{statistics.median(s.redis_keys for s in samples):,.0f} | "
                    f"{statistics.median(s.redis_used_mib for s in samples):.1f} | "
                    f"{max(s.backlog for s in samples):,} |")
    verdict = soak_verdict(per_minute)
    lines = [SOAK_BEGIN, f"## Soak: {minutes} minutes at half the peak", "", _header(command, began), "",
             f"Rate: {rate:,.0f} requests/s requested ({rate / peak:.0%} of the measured peak of {peak:,.0f}/s), "
             f"{step.users} locust users at {step.rate_per_user:.2f} requests/s each; achieved "
             f"{step.total.rps:,.0f}/s over {minutes} minutes. Medians per minute of 1-second samples:", "",
             *rows, "", verdict, "", "Latency over the whole soak:", "", *_endpoint_table(step), "",
             f"Privacy requests at the end: {_statuses(step.statuses)}; queues empty "
             f"{step.drain_seconds:.1f} s after the load stopped. CPU cores: {_cpu(step)}.", SOAK_END]
    readme.write_section(SOAK_BEGIN, SOAK_END, "\n".join(lines))


def soak_verdict(per_minute: list[list[Sample]]) -> str:
    """Compare minute 3 (after warm-up and the first rate-limit windows) with the last minute."""
    full = [m for m in per_minute if m]
    if len(full) < 4:
        return "Too short to judge flatness (needs at least 4 minutes)."
    first, last = full[2], full[-1]

    def median(samples: list[Sample], key: str) -> float:
        if key == "keys":  # a job waiting in a queue is one key: that is backlog, not a leak (column "jobs waiting")
            return statistics.median(s.redis_keys - s.backlog for s in samples)
        return statistics.median(s.rss_mib[key] for s in samples)

    changes = {key: (median(last, key) - median(first, key)) / max(median(first, key), 1.0)
               for key in ("web", "worker", "keys")}
    flat = all(abs(change) < 0.05 for change in changes.values())
    described = ", ".join(f"{name} {changes[key]:+.1%}" for key, name in
                          (("web", "web memory"), ("worker", "worker memory"),
                           ("keys", "Redis keys other than waiting jobs")))
    backlog = (f" Jobs waiting went from {max(s.backlog for s in first):,} to {max(s.backlog for s in last):,} "
               "(the workers fell behind; see the drain time below)." if max(s.backlog for s in last) > 50 else "")
    return (f"From minute 3 to minute {len(full)}: {described}. "
            + ("**Flat** (every change under 5%)." if flat else "**Not flat**: at least one grew by 5% or more.")
            + backlog)


# -- commands -------------------------------------------------------------------------------------


def measure_peak(args: argparse.Namespace) -> int:
    began = time.monotonic()
    steps: list[tuple[LoadStep, Sampler]] = []
    with running_stack() as stack:
        customers = install_shops(stack)
        for users in args.users:
            step, sampler = run_locust(stack, customers, users=users, seconds=args.seconds, rate_per_user=0)
            steps.append((step, sampler))
            t = step.total
            print(f"{users} users: {t.rps:.0f} req/s, p50 {t.p50:.0f} ms, p99 {t.p99:.0f} ms, "
                  f"{t.failures} errors; drained in {step.drain_seconds:.1f} s; {_cpu(step)}", flush=True)
        stored = delivery_counts(stack.env)
        _check_nothing_lost(steps[-1][0].statuses)
    clean = [s for s, _ in steps if s.total.failures == 0] or [s for s, _ in steps]
    best = max(clean, key=lambda s: s.total.rps)
    PEAK_FILE.write_text(json.dumps({"requests_per_second": round(best.total.rps, 1), "users": best.users,
                                     "measured": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}) + "\n")
    write_peak_section("python bench/load.py peak", began, steps, best, stored)
    print(f"peak {best.total.rps:.0f} req/s at {best.users} users; written to bench/README.md and {PEAK_FILE.name}")
    return 0


def measure_soak(args: argparse.Namespace) -> int:
    began = time.monotonic()
    peak = json.loads(PEAK_FILE.read_text())["requests_per_second"] if PEAK_FILE.exists() else None
    if args.rate is None and peak is None:
        print("error: no peak measured yet; run `bench/load.py peak` first or pass --rate", file=sys.stderr)
        return 2
    rate = args.rate if args.rate is not None else peak / 2
    users = args.soak_users
    with running_stack() as stack:
        customers = install_shops(stack)
        step, sampler = run_locust(stack, customers, users=users, seconds=args.minutes * 60,
                                   rate_per_user=rate / users, sampler_interval=1.0)
        _check_nothing_lost(step.statuses)
    command = "python bench/load.py soak" + (f" --minutes {args.minutes}" if args.minutes != 10 else "") + (
        f" --rate {args.rate:g}" if args.rate is not None else "")
    write_soak_section(command, began, step, sampler, args.minutes, rate, peak or rate * 2)
    print(f"soak: {step.total.rps:.0f} req/s for {args.minutes} min; written to bench/README.md")
    return 0


def _check_nothing_lost(statuses: dict[str, int]) -> None:
    pending = {s: n for s, n in statuses.items() if s not in ("completed",)}
    if pending:
        print(f"warning: privacy requests not completed after the drain: {pending}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    peak = commands.add_parser("peak", help="step the load up, find the peak, write the load section")
    peak.add_argument("--users", type=int, nargs="+", default=list(PEAK_STEPS))
    peak.add_argument("--seconds", type=int, default=STEP_SECONDS)
    peak.set_defaults(run=measure_peak)
    soak = commands.add_parser("soak", help="hold half the peak for a while, write the soak section")
    soak.add_argument("--minutes", type=int, default=10)
    soak.add_argument("--rate", type=float, help="requests/s (default: half of bench/load-peak.json)")
    soak.add_argument("--soak-users", type=int, default=32)
    soak.set_defaults(run=measure_soak)
    args = parser.parse_args()
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
