"""Consent-record ingestion through gunicorn on PostgreSQL, beside a minimal signature-only endpoint.

    .venv/bin/python bench/consent_ingestion.py [--quick] [--configs gthread:2x32,sync:5] [--no-readme]

Both apps are served by gunicorn with the Procfile's options, at several worker configurations, and loaded
in turn (alternating slices) by the same load generator: wrk (C; installed with apt-get when missing), whose
Lua script (bench/pool_wrk.lua, driven by bench/wrk.py) sends a pool of validly signed app-proxy requests made
here just before each slice: a new visitor each time, spread over 200 shops so that the per-shop limit (2,000 a minute)
is not what is measured. Without wrk it falls back to the Python generator (httpx threads), with a warning:
that one needs about a core of its own, so its figures are a floor.

Writes its section of bench/README.md (and the consent line of the summary table at the top): records/s,
latency, errors, rows stored against 204s, the ratio to the minimal endpoint, CPU per record of each
process group, and the in-process CPU cost of each step.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import hmac
import io
import itertools
import json
import platform
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import intake, readme  # noqa: E402
from bench import wrk as wrk_load  # noqa: E402
from bench.wrk import Slice, ensure_wrk, merge  # noqa: E402

BEGIN, END = "<!-- consent:begin -->", "<!-- consent:end -->"
SUMMARY_LINE = "| consent ingestion |"
SHOPS = [f"consent-bench-{i}.myshopify.com" for i in range(200)]
APPS = {"ours": "shopify_app:create_app()", "minimal": "bench.minimal_consent_app:create_app()"}
USER_AGENT = "Mozilla/5.0 (bench)"
TARGET = 2000
_visitors = itertools.count(1)


# -- gunicorn configurations -------------------------------------------------------------------------


Config, PROCFILE_CONFIG = intake.Config, intake.PROCFILE_CONFIG
OTHER_CONFIGS = [Config("sync", 2), Config("sync", 5), Config("gthread", 2, 8), Config("gthread", 2, 32),
                 Config("gthread", 3, 16), Config("gthread", 4, 16)]


# -- signed requests --------------------------------------------------------------------------------


def signed_query(secret: str, shop: str) -> str:
    params = {"shop": shop, "path_prefix": "/apps/privacy", "timestamp": str(int(time.time())),
              "logged_in_customer_id": ""}
    message = "".join(f"{k}={params[k]}" for k in sorted(params))
    params["signature"] = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return urlencode(params)


def consent_body() -> bytes:
    return json.dumps({"visitor_id": uuid.uuid4().hex, "action": "custom", "revision": 1, "text_hash": "a" * 64,
                       "language": "fr", "gpc": False, "page": "/products/riviera",
                       "choices": {"analytics": True, "marketing": False, "preferences": True,
                                   "sale_of_data": False}}, separators=(",", ":")).encode()


def consent_request(secret: str, client_index: int) -> intake.Request:
    """One request, signed now, for a new visitor (the Python generator's, and a line of wrk's pool)."""
    n = next(_visitors)
    headers = {"Content-Type": "application/json", "X-Forwarded-For": f"198.51.100.{n % 250}",
               "User-Agent": USER_AGENT}
    return f"/proxy/consent?{signed_query(secret, SHOPS[n % len(SHOPS)])}", consent_body(), headers, 204


def run_python(url: str, secret: str, groups: dict[str, list[int]], *, connections: int, warmup: float,
               duration: float, rows_counter: Callable[[], int]) -> Slice:
    before = rows_counter()
    r = intake.run_load(url, secret, groups["gunicorn"], groups["redis"][0], clients=connections, warmup=warmup,
                        duration=duration, make_request=consent_request)
    cpu = dict(r.cpu_cores)
    cpu["wrk"] = cpu.pop("load generator", 0.0)  # the Python generator, in the same column
    return Slice(requests=r.requests, seconds=r.seconds, statuses={204: r.requests - r.errors, 0: r.errors},
                 success=204, socket_errors=0, p50_ms=r.p50_ms, p99_ms=r.p99_ms, max_ms=r.max_ms, cpu_cores=cpu,
                 rows=rows_counter() - before)  # the warm-up's rows too: not comparable to the 204s


# -- database ---------------------------------------------------------------------------------------


def _libpq(env: intake.BenchEnv) -> str:
    return env.database_url.replace("postgresql+psycopg://", "postgresql://")


def reset(env: intake.BenchEnv) -> None:
    """No consent records, the bench shops present, Redis (rate-limit counters) empty."""
    with psycopg.connect(_libpq(env), autocommit=True) as conn:
        conn.execute("TRUNCATE consent_records")
        for shop in SHOPS:
            conn.execute("INSERT INTO shops (domain, installed_at, granted_scopes) VALUES (%s, now(), '') "
                         "ON CONFLICT (domain) DO NOTHING", (shop,))
        conn.execute("VACUUM ANALYZE consent_records")
    Redis.from_url(env.redis.url).flushall()


def stored_rows(env: intake.BenchEnv) -> int:
    with psycopg.connect(_libpq(env)) as conn:
        row = conn.execute("SELECT count(*) FROM consent_records").fetchone()
    return int(row[0]) if row else 0


def settled_rows(env: intake.BenchEnv) -> int:
    """The row count once the requests still in flight when the load stopped have been written."""
    last, stable_since = stored_rows(env), time.monotonic()
    while time.monotonic() - stable_since < 0.5:
        time.sleep(0.1)
        now = stored_rows(env)
        if now != last:
            last, stable_since = now, time.monotonic()
    return last


# -- the run ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class ConfigResult:
    config: Config
    connections: int
    ours: Slice
    minimal: Slice

    @property
    def ratio(self) -> float:
        return self.ours.throughput / self.minimal.throughput if self.minimal.throughput else float("nan")


def measure(env: intake.BenchEnv, config: Config, args: argparse.Namespace, load: str, wrk: str | None,
            workdir: Path, connections: int) -> ConfigResult:
    reset(env)
    results: dict[str, list[Slice]] = {"ours": [], "minimal": []}
    servers = {name: intake.Gunicorn(spec, config, env) for name, spec in APPS.items()}
    for server in servers.values():
        server.__enter__()
    try:
        for _ in range(args.slices):  # alternate, so that other work on the machine weighs on both alike
            for name, server in servers.items():
                intake.wait_for_quiet(max_cores=0.3, max_wait=30)
                groups = {"gunicorn": server.pids(), "redis": [env.redis.process.pid]}
                if load == "wrk":
                    assert wrk is not None
                    part = wrk_load.run(wrk, server.url, lambda: consent_request(env.api_secret, 0), groups,
                                        connections=connections, threads=args.wrk_threads, warmup=args.warmup,
                                        duration=args.duration, workdir=workdir,
                                        rows_counter=lambda: settled_rows(env))
                else:
                    part = run_python(server.url, env.api_secret, groups, connections=connections,
                                      warmup=args.warmup, duration=args.duration,
                                      rows_counter=lambda: settled_rows(env))
                results[name].append(part)
                print(f"  {config.label:<16} {connections:>3} conns {name:<8} {part.throughput:7,.0f}/s  "
                      f"p50 {part.p50_ms:6.1f} ms  p99 {part.p99_ms:6.1f} ms  statuses {part.statuses}  "
                      f"socket errors {part.socket_errors}  rows {part.rows}  cpu "
                      + ", ".join(f"{k} {v:.2f}" for k, v in part.cpu_cores.items()), flush=True)
    finally:
        for server in servers.values():
            server.__exit__(None, None, None)
    return ConfigResult(config, connections, merge(results["ours"]), merge(results["minimal"]))


def cpu_ms(s: Slice, group: str) -> float:
    """Milliseconds of CPU per stored record (per answered request for the minimal app)."""
    return s.cpu_cores.get(group, 0.0) * s.seconds / max(s.ok, 1) * 1000


# -- in process: what each step costs ----------------------------------------------------------------


def _environ(path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    route, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST", "PATH_INFO": route, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        "wsgi.input_terminated": True, "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": headers["Content-Type"]}
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if k != "Content-Type"})
    return environ


def _cpu_per_call(calls: list[Callable[[], object]], repeats: int = 3) -> float:
    """Least CPU milliseconds per call over ``repeats`` rounds (the least disturbed by other work)."""
    best = float("inf")
    size = len(calls) // repeats
    for r in range(repeats):
        chunk = calls[r * size:(r + 1) * size]
        began = time.process_time()
        for call in chunk:
            call()
        best = min(best, (time.process_time() - began) / len(chunk) * 1000)
    return best


def step_costs(env: intake.BenchEnv, requests: int = 3000) -> dict[str, float]:
    """CPU ms per request in this process, serially, calling each WSGI app directly (no HTTP server)."""
    from bench.minimal_consent_app import create_app as create_minimal
    from shopify_app import create_app, db, queue
    from shopify_app.services import consent
    from shopify_app.services.consent_writer import ConsentWriter, _Record, _row
    from shopify_app.services.rate_limits import FixedWindowLimiter
    from shopify_app.settings import Settings
    from shopify_app.web import storefront

    reset(env)
    statuses: list[str] = []

    def start_response(status: str, _headers: object, _exc: object = None) -> None:
        statuses.append(status)

    def wsgi_calls(app: Any) -> list[Callable[[], object]]:
        environs = [_environ(*consent_request(env.api_secret, 0)[:3]) for _ in range(requests)]
        return [lambda e=e: b"".join(app(e, start_response)) for e in environs]

    costs: dict[str, float] = {}
    minimal = create_minimal(env.api_secret)
    _cpu_per_call(wsgi_calls(minimal)[:200], repeats=1)
    costs["minimal endpoint (Flask: signature check, 204)"] = _cpu_per_call(wsgi_calls(minimal))

    ours = create_app(Settings(api_key=env.api_key, api_secret=env.api_secret,
                               token_encryption_key=env.token_encryption_key, database_url=env.database_url,
                               redis_url=env.redis.url, instance_path=env.instance_path))
    writer = storefront.consent_writer(ours)

    class NoWrite:
        def submit(self, *_args: object, **_kwargs: object) -> None:
            pass

    ours.extensions[storefront.WRITER_KEY] = NoWrite()
    _cpu_per_call(wsgi_calls(ours)[:200], repeats=1)
    costs["ours, request path only (signature, body, validation; no write)"] = _cpu_per_call(wsgi_calls(ours))
    ours.extensions[storefront.WRITER_KEY] = writer
    costs["ours, whole request, alone (a batch of 1 each time)"] = _cpu_per_call(wsgi_calls(ours)[:requests // 3])
    assert all(s.startswith("204") for s in statuses), set(statuses)

    limiter = FixedWindowLimiter(queue.connect(env.redis.url))
    batch_writer = ConsentWriter(db.get_engine(env.database_url), limiter,
                                 autocommit_engine=db.get_autocommit_engine(env.database_url))

    def item(n: int) -> _Record:
        record = consent.ConsentInput.from_body(consent_body(), client_ip="198.51.100.7", user_agent=USER_AGENT)
        shop = SHOPS[n % len(SHOPS)]
        return _Record(shop, record.visitor_id, _row(shop, record, dt.datetime.now(dt.UTC)))

    for size in (1, 8, 32):
        batches = [[item(n) for n in range(size)] for _ in range(max(60, 1200 // size))]
        cost = _cpu_per_call([lambda b=b: batch_writer._write(b) for b in batches])
        costs[f"writer, one batch of {size} (rate limits in Redis + INSERT, committed): per record"] = cost / size
    return costs


# -- the section ------------------------------------------------------------------------------------


def section(results: list[ConfigResult], sweep: list[ConfigResult], costs: dict[str, float],
            args: argparse.Namespace, load: str, wrk_version: str, took: float) -> str:
    command = "`.venv/bin/python bench/consent_ingestion.py" + (" --quick" if args.quick else "") + \
        (f" --configs {args.configs}" if args.configs else "") + "`"
    machine = (f"{readme.machine()}, {platform.machine()}, Linux {platform.release()}, Python "
               f"{platform.python_version()}, PostgreSQL {intake.postgres_version()} (fsync and synchronous_commit "
               f"on), gunicorn {_version('gunicorn')}, Flask {_version('flask')}")
    generator = (f"{wrk_version} (`bench/pool_wrk.lua`, {args.wrk_threads} thread)" if load == "wrk" else
                 "the Python generator (httpx threads) because wrk is missing: a floor, it takes about a core")
    h = next((r for r in results if r.config == PROCFILE_CONFIG), results[0])
    verdict = "met" if h.ours.throughput >= TARGET else "not met"
    lines = [
        BEGIN, "## Consent-record ingestion (`POST /proxy/consent`)", "",
        f"Command: {command} · run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · took {took / 60:.1f} min", "",
        f"Machine: {machine}. Load: {generator}, {args.connections} connections; per app and configuration "
        f"{args.slices} slices of {args.duration:g} s alternating between the two apps, each after {args.warmup:g} s "
        "of warm-up and once the machine is quiet (at most 30 s of waiting); a new visitor per request, 200 shops. "
        "PostgreSQL database `bench`, a private `redis-server`, both on this machine; consent records and Redis "
        "emptied before each configuration. Both apps are served by `gunicorn APP --bind 127.0.0.1:PORT --workers "
        "N --timeout 30 --graceful-timeout 10` plus the configuration's worker class.", "",
        f"**{h.config.label} threads (the Procfile's web line with its defaults, `WEB_CONCURRENCY="
        f"{PROCFILE_CONFIG.workers}`, `WEB_THREADS={PROCFILE_CONFIG.threads}`): "
        f"{h.ours.throughput:,.0f} records/s, p50 {h.ours.p50_ms:.1f} ms, p99 {h.ours.p99_ms:.1f} ms, "
        f"{h.ours.errors} errors; the minimal endpoint {h.minimal.throughput:,.0f} requests/s; ratio "
        f"{h.ratio:.2f}. Target ≥ {TARGET:,} records/s: {verdict}.**", "",
        "| gunicorn | ours records/s | minimal req/s | ratio | ours p50 / p99 ms | minimal p50 / p99 ms "
        "| ours errors | rows stored / 204s | ours CPU ms per record: gunicorn · postgres · redis · wrk · other "
        "| minimal CPU ms per request: gunicorn · wrk · other |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in results:
        lines.append(_row(r))
    if sweep:
        lines += ["", f"Connections, at {h.config.label} threads (same columns):", "",
                  "| connections | ours records/s | minimal req/s | ratio | ours p50 / p99 ms | minimal p50 / p99 ms "
                  "| ours errors | rows stored / 204s | ours CPU ms per record: gunicorn · postgres · redis · wrk · "
                  "other | minimal CPU ms per request: gunicorn · wrk · other |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
        for r in sorted([*sweep, h], key=lambda r: r.connections):
            lines.append(_row(r, first=str(r.connections)))
    lines += [
        "",
        "\"rows stored / 204s\": rows added to `consent_records` during the measured runs against the 204 answers "
        "wrk read; rows may exceed the 204s by at most the number of connections per slice (requests in flight when "
        "wrk stopped, answered after it closed the connection), never fall short. Errors are any other answer or "
        "socket error. CPU per record = CPU time of each process group (psutil) during the measured runs / 204 "
        "answers; \"other\" is the rest of the machine (other people's tests), which slows both apps. Latency is "
        "wrk's (p50: the median slice's; p99: the worst slice's).", "",
        "In this process, serially, each WSGI app called directly (no HTTP server, no contention), CPU per request "
        "or record:", "",
        "| step | CPU ms |", "| --- | ---: |",
        *(f"| {label} | {value:.3f} |" for label, value in costs.items()),
        "",
        "Ours answers `POST /proxy/consent` in front of Flask (`web/in_front.py`, a WSGI "
        "middleware using the same signature check as the guard of the other proxy routes), validates the body, "
        "and hands the record to the process's group-commit writer (`services/consent_writer.py`): concurrent "
        "requests' records are counted against the per-visitor and per-shop limits in one Redis call and "
        "inserted in one statement, committed before any of them is answered 204. The minimal endpoint "
        "(`bench/minimal_consent_app.py`) is a Flask route that only checks the signature: no body parsing, no "
        "database, no Redis. Sync workers close the connection after each answer (every request pays a TCP "
        "connect), serve one request at a time per process (batches of one record) and are listed for comparison; "
        "gthread workers keep connections alive.",
        END,
    ]
    return "\n".join(lines)


def _row(r: ConfigResult, first: str | None = None) -> str:
    o, m = r.ours, r.minimal
    other = {k: v for k, v in o.statuses.items() if k != 204}
    return (f"| {first or r.config.label} | {o.throughput:,.0f} | {m.throughput:,.0f} | {r.ratio:.2f} | "
            f"{o.p50_ms:.1f} / {o.p99_ms:.1f} | {m.p50_ms:.1f} / {m.p99_ms:.1f} | "
            f"{o.errors}{' ' + str(other) if other else ''} | {o.rows:,} / {o.ok:,}"
            f"{' (rows missing!)' if o.rows < o.ok else ''} | "
            f"{cpu_ms(o, 'gunicorn'):.2f} · {cpu_ms(o, 'postgres'):.2f} · {cpu_ms(o, 'redis'):.2f} · "
            f"{cpu_ms(o, 'wrk'):.2f} · {cpu_ms(o, 'other processes'):.2f} | "
            f"{cpu_ms(m, 'gunicorn'):.2f} · {cpu_ms(m, 'wrk'):.2f} · {cpu_ms(m, 'other processes'):.2f} |")


def summary_line(results: list[ConfigResult]) -> str:
    h = next((r for r in results if r.config == PROCFILE_CONFIG), results[0])
    verdict = "met" if h.ours.throughput >= TARGET else "not met"
    return (f"{SUMMARY_LINE} {h.ours.throughput:,.0f} records/s, p99 {h.ours.p99_ms:.0f} ms ({h.config.label} "
            f"threads, wrk, {h.connections} connections); {h.ratio:.2f}× a signature-only endpoint "
            f"| ≥ {TARGET:,}/s — {verdict} |")


def write_summary_line(line: str) -> None:
    text = readme.README.read_text()
    lines = text.splitlines(keepends=True)
    for i, old in enumerate(lines):
        if old.startswith(SUMMARY_LINE):
            lines[i] = line + "\n"
            readme.README.write_text("".join(lines))
            return


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the Procfile's configuration only, short slices")
    parser.add_argument("--configs", help="sync:N or gthread:NxT, comma-separated (default: the Procfile's, six more)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--duration", type=float, help="seconds per slice (10; --quick 4)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up before each slice (2; --quick 1)")
    parser.add_argument("--slices", type=int, help="slices per app and configuration (2; --quick 1)")
    parser.add_argument("--python-load", action="store_true", help="the Python generator even if wrk is there")
    parser.add_argument("--no-readme", action="store_true", help="print the section, leave bench/README.md alone")
    args = parser.parse_args()
    configs = [Config.parse(c) for c in args.configs.split(",")] if args.configs else \
        ([PROCFILE_CONFIG] if args.quick else [PROCFILE_CONFIG, *OTHER_CONFIGS])
    args.duration = args.duration or (4.0 if args.quick else 10.0)
    args.warmup = args.warmup or (1.0 if args.quick else 2.0)
    args.slices = args.slices or (1 if args.quick else 2)

    wrk = None if args.python_load else ensure_wrk()
    load = "wrk" if wrk else "python"
    if load == "python":
        warnings.warn("wrk is not available: the Python load generator shares the cores, so the figures are a floor",
                      stacklevel=1)
    wrk_version = wrk_load.version(wrk) if wrk else ""
    began = time.monotonic()
    with intake.bench_env() as env, tempfile.TemporaryDirectory(prefix="consent-bench-") as workdir:
        results = [measure(env, config, args, load, wrk, Path(workdir), args.connections) for config in configs]
        sweep = [] if args.quick or args.configs else [
            measure(env, PROCFILE_CONFIG, args, load, wrk, Path(workdir), connections)
            for connections in (16, 32) if connections != args.connections]
        costs = step_costs(env)
    text = section(results, sweep, costs, args, load, wrk_version, time.monotonic() - began)
    if not args.no_readme:
        readme.write_section(BEGIN, END, text)
        write_summary_line(summary_line(results))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
