"""Webhook intake under gunicorn: the environment, the server, the load and the profile.

Everything stays on 127.0.0.1: PostgreSQL (database ``bench``), a private
``redis-server`` and gunicorn started like the Procfile's ``web`` line.
"""

from __future__ import annotations

import base64
import cProfile
import dataclasses
import hashlib
import hmac
import itertools
import json
import os
import pstats
import re
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
from cryptography.fernet import Fernet
from redis import Redis
from sqlalchemy import event

from devtools.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
TOPIC = "customers/redact"
API_VERSION = "2026-10"
SHOPS = tuple(f"bench-shop-{i}.myshopify.com" for i in range(1, 6))
MAX_REQUESTS_PER_CLIENT = 100_000  # a bound on top of the time limit
_customer_ids = itertools.count(1)  # every delivery names a new customer (next() is atomic in CPython)


# -- environment ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BenchEnv:
    """What the app needs from the environment; one per benchmark run."""

    redis: RedisServer
    instance_path: Path
    api_key: str = "bench-api-key"
    api_secret: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex * 2)
    token_encryption_key: str = dataclasses.field(default_factory=lambda: Fernet.generate_key().decode())
    database_url: str = DATABASE_URL

    def process_env(self) -> dict[str, str]:
        """The environment gunicorn (and alembic) start with."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPIFY_", "DEMO_", "WEB_CONCURRENCY"))}
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis.url,
            SHOPIFY_API_KEY=self.api_key,
            SHOPIFY_API_SECRET=self.api_secret,
            TOKEN_ENCRYPTION_KEY=self.token_encryption_key,
            APP_ENV="development",
            INSTANCE_PATH=str(self.instance_path),
            PYTHONUNBUFFERED="1",
        )
        return env


@contextmanager
def bench_env() -> Iterator[BenchEnv]:
    """A migrated ``bench`` database, a private Redis and a temporary instance directory."""
    with tempfile.TemporaryDirectory(prefix="bench-instance-") as instance, RedisServer() as redis_server:
        env = BenchEnv(redis=redis_server, instance_path=Path(instance))
        prepare_database(env)
        yield env


def _libpq_url(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://")


def prepare_database(env: BenchEnv) -> None:
    """Create the ``bench`` database if needed and run ``alembic upgrade head`` (the Procfile's release)."""
    admin_url = _libpq_url(env.database_url).rsplit("/", 1)[0] + "/postgres"
    name = env.database_url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([str(VENV_BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env.process_env(), check=True,
                   capture_output=True)


def reset_state(env: BenchEnv) -> None:
    """Empty every table and the private Redis, so each run starts from the same state."""
    with psycopg.connect(_libpq_url(env.database_url), autocommit=True) as conn:
        tables = [row[0] for row in conn.execute("SELECT quote_ident(tablename) FROM pg_tables "
                                                 "WHERE schemaname = 'public' AND tablename <> 'alembic_version'")]
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        conn.execute("VACUUM ANALYZE")
    Redis.from_url(env.redis.url).flushall()


def seed_history(env: BenchEnv, requests_per_shop: int = 10_000) -> None:
    """The benchmark's shops as a production database holds them: installed, each with a history of
    ``requests_per_shop`` closed erasures and data requests (a delivery and an audit entry each), then
    ``VACUUM ANALYZE``. Without it the intake would meet empty tables whose statistics say so, and
    PostgreSQL would plan for that (sequential scans of tables that then grow by thousands of rows)."""
    with psycopg.connect(_libpq_url(env.database_url), autocommit=True) as conn:
        conn.execute("INSERT INTO shops (domain, installed_at, granted_scopes) "
                     "SELECT unnest(%s::varchar[]), now() - interval '1 year', ''", (list(SHOPS),))
        conn.execute("""
            WITH r AS (
                INSERT INTO privacy_requests (shop_id, kind, source, status, customer_id, orders_requested,
                                              orders_to_redact, shopify_request_id, received_at, due_at,
                                              completed_at, attempts, outcome)
                SELECT s.id, CASE WHEN n %% 4 = 0 THEN 'data_request' ELSE 'customer_redact' END, 'webhook',
                       'completed', NULL, '[]', '[]', CASE WHEN n %% 4 = 0 THEN 'h' || n END,
                       now() - n * interval '10 minutes', now() - n * interval '10 minutes' + interval '30 days',
                       now() - n * interval '10 minutes' + interval '1 minute', 1, 'done'
                FROM shops s, generate_series(1, %s) n
                RETURNING id, shop_id, kind, received_at
            ), d AS (
                INSERT INTO webhook_deliveries (webhook_id, topic, shop_id, received_at, privacy_request_id)
                SELECT 'history-' || id, CASE kind WHEN 'data_request' THEN 'customers/data_request'
                       ELSE 'customers/redact' END, shop_id, received_at, id FROM r
            )
            INSERT INTO audit_entries (shop_id, privacy_request_id, at, actor, action, detail)
            SELECT shop_id, id, received_at, 'shopify', 'webhook.received', '{}' FROM r
        """, (requests_per_shop,))
        conn.execute("VACUUM ANALYZE")


def postgres_version() -> str:
    with psycopg.connect(_libpq_url(DATABASE_URL).rsplit("/", 1)[0] + "/postgres") as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


# -- gunicorn ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Config:
    """One gunicorn configuration: ``sync:5`` (5 sync workers) or ``gthread:2x32`` (2 processes, 32 threads)."""

    worker_class: str
    workers: int
    threads: int = 1

    @classmethod
    def parse(cls, text: str) -> Config:
        kind, _, size = text.partition(":")
        if kind == "sync":
            return cls("sync", int(size))
        if kind == "gthread":
            workers, _, threads = size.partition("x")
            return cls("gthread", int(workers), int(threads))
        raise ValueError(f"unknown configuration {text!r}: sync:N or gthread:NxT")

    @property
    def label(self) -> str:
        return f"sync × {self.workers}" if self.worker_class == "sync" else f"gthread {self.workers} × {self.threads}"

    def args(self) -> list[str]:
        if self.worker_class == "sync":
            return []
        return ["--worker-class", "gthread", "--threads", str(self.threads)]


def procfile_config() -> Config:
    """The Procfile's web line with its default sizes (WEB_CONCURRENCY, WEB_THREADS unset)."""
    web = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))

    def default(option: str) -> int | None:
        match = re.search(rf"{option} (?:\$\{{\w+:-(\d+)\}}|(\d+))", web)
        return int(match.group(1) or match.group(2)) if match else None

    workers = default("--workers") or 1
    if "--worker-class gthread" in web:
        return Config("gthread", workers, default("--threads") or 1)
    return Config("sync", workers)


PROCFILE_CONFIG = procfile_config()


def gunicorn_args(app_spec: str, bind: str, config: Config) -> list[str]:
    """The Procfile's ``web`` options, with this configuration's worker class and sizes, bound to loopback."""
    return [app_spec, "--bind", bind, "--workers", str(config.workers), *config.args(), "--timeout", "30",
            "--graceful-timeout", "10"]


class Gunicorn:
    """``gunicorn "<app>" --bind 127.0.0.1:PORT --workers N [--worker-class gthread --threads T]``, the Procfile's
    timeouts."""

    def __init__(self, app_spec: str, config: Config, env: BenchEnv) -> None:
        self.app_spec, self.config, self.env = app_spec, config, env
        self.workers = config.workers
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)  # noqa: SIM115

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gunicorn:
        args = [str(VENV_BIN / "gunicorn"), *gunicorn_args(self.app_spec, f"127.0.0.1:{self.port}", self.config)]
        self.process = subprocess.Popen(args, cwd=ROOT, env=self.env.process_env(), stdout=self.log,
                                        stderr=subprocess.STDOUT)
        self._wait_ready(timeout=60)
        return self

    def _wait_ready(self, timeout: float) -> None:
        """Until every worker has loaded the app: N distinct worker pids have answered ``/healthz``."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"gunicorn exited: {Path(self.log.name).read_text()[-2000:]}")
                try:
                    ok = client.get(f"{self.url}/healthz").status_code == 200
                except httpx.TransportError:
                    ok = False
                children = psutil.Process(self.process.pid).children()
                if ok and len(children) == self.workers and all(c.cpu_percent(0.1) < 50 for c in children):
                    return
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready")

    def connections_per_worker(self) -> list[int]:
        """Established client connections per worker process, busiest first. The workers share one listening
        socket, and a keep-alive connection stays with whichever worker accepted it."""
        assert self.process is not None
        counts = []
        for worker in psutil.Process(self.process.pid).children():
            try:
                counts.append(sum(1 for c in worker.net_connections("tcp")
                                  if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == self.port))
            except psutil.Error:
                counts.append(0)
        return sorted(counts, reverse=True)

    def pids(self) -> list[int]:
        assert self.process is not None
        return [self.process.pid, *(c.pid for c in psutil.Process(self.process.pid).children(recursive=True))]

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


# -- signed deliveries ------------------------------------------------------------------------------


def sign_webhook(body: bytes, secret: str) -> str:
    """Shopify's ``X-Shopify-Hmac-Sha256``: base64 HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def redact_delivery(secret: str, shop_index: int, customer_id: int) -> tuple[bytes, dict[str, str]]:
    """A validly signed ``customers/redact`` delivery with fresh webhook and event ids."""
    shop = SHOPS[shop_index % len(SHOPS)]
    body = json.dumps({
        "shop_id": 1000 + shop_index % len(SHOPS), "shop_domain": shop,
        "customer": {"id": customer_id, "email": f"customer{customer_id}@example.com", "phone": "+33612345678"},
        "orders_to_redact": [customer_id * 10 + 1, customer_id * 10 + 2],
    }).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": TOPIC,
        "X-Shopify-Hmac-Sha256": sign_webhook(body, secret),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "X-Shopify-API-Version": API_VERSION,
    }
    return body, headers


# -- load -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LoadResult:
    """Figures for a measured window (requests that started in it), or several windows merged."""

    requests: int
    errors: int
    seconds: float
    latencies_ms: tuple[float, ...] = dataclasses.field(repr=False)  # ascending
    cpu_cores: dict[str, float]  # average cores busy during the window, per process group

    @classmethod
    def merge(cls, parts: list[LoadResult]) -> LoadResult:
        seconds = sum(p.seconds for p in parts)
        cpu = {k: sum(p.cpu_cores[k] * p.seconds for p in parts) / seconds for k in parts[0].cpu_cores}
        return cls(requests=sum(p.requests for p in parts), errors=sum(p.errors for p in parts), seconds=seconds,
                   latencies_ms=tuple(sorted(x for p in parts for x in p.latencies_ms)), cpu_cores=cpu)

    @property
    def throughput(self) -> float:
        return (self.requests - self.errors) / self.seconds

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 1.0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p95_ms(self) -> float:
        return percentile(self.latencies_ms, 95)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 99)

    @property
    def max_ms(self) -> float:
        return self.latencies_ms[-1] if self.latencies_ms else float("nan")

    @property
    def disturbance(self) -> float:
        """Cores used by other processes on the machine during the window (other people's tests...)."""
        return max(0.0, self.cpu_cores.get("other processes", 0.0))


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


class _CpuMeter:
    """CPU seconds used by process groups between two snapshots (psutil; reading only)."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self.start = self._snapshot()
        self.start_wall = time.monotonic()
        self.start_machine = machine_busy_seconds()

    def _snapshot(self) -> dict[str, dict[int, float]]:
        snap: dict[str, dict[int, float]] = {}
        for name, pids in {**self.groups, "postgres": postgres_pids()}.items():
            snap[name] = {}
            for pid in pids:
                try:
                    t = psutil.Process(pid).cpu_times()
                    snap[name][pid] = t.user + t.system
                except psutil.NoSuchProcess:
                    pass
        return snap

    def stop(self) -> dict[str, float]:
        end, wall = self._snapshot(), time.monotonic() - self.start_wall
        cores = {name: sum(v - self.start[name].get(pid, 0.0) for pid, v in end[name].items()) / wall
                 for name in end}
        cores["other processes"] = (machine_busy_seconds() - self.start_machine) / wall - sum(cores.values())
        return cores


def machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def postgres_pids(database_url: str = DATABASE_URL) -> list[int]:
    """The server's own processes and the backends connected to our database (not the test suite's)."""
    name = database_url.rsplit("/", 1)[1]
    pids = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        title = " ".join(proc.info["cmdline"] or ())
        if proc.info["name"] == "postgres" and ("(" not in title or f" {name} " in title):
            pids.append(proc.pid)
    return pids


def wait_for_quiet(max_cores: float = 0.3, max_wait: float = 60.0) -> float:
    """Wait (at most ``max_wait`` s) until the machine uses under ``max_cores``; return the last reading."""
    deadline = time.monotonic() + max_wait
    while True:
        busy = float(psutil.cpu_percent(interval=1.0)) / 100 * (os.cpu_count() or 1)
        if busy < max_cores or time.monotonic() > deadline:
            return busy


Request = tuple[str, bytes, dict[str, str], int]  # path, body, headers, the status that means success


def webhook_request(secret: str, client_index: int) -> Request:
    body, headers = redact_delivery(secret, client_index, next(_customer_ids))
    return f"/webhooks/{TOPIC}", body, headers, 200


def run_load(url: str, secret: str, server_pids: list[int], redis_pid: int, *, clients: int, warmup: float,
             duration: float, make_request: Callable[[str, int], Request] = webhook_request,
             midway: Callable[[], None] | None = None) -> LoadResult:
    """``clients`` threads, each with a keep-alive ``httpx.Client``, post deliveries back to back.

    Requests that start during the first ``warmup`` seconds are not counted; the
    window lasts ``duration`` seconds. Each request carries a new customer id, so
    every delivery creates a privacy request and queues a job. ``midway`` is called
    once, halfway through the window (to look at the servers under load).
    """
    start = time.monotonic() + 0.5
    window_start, window_end = start + warmup, start + warmup + duration
    samples: list[list[tuple[float, float, bool]]] = [[] for _ in range(clients)]
    meter: list[_CpuMeter] = []
    process = psutil.Process()

    def client_loop(index: int) -> None:
        out = samples[index]
        with httpx.Client(base_url=url, timeout=10) as http:
            while len(out) < MAX_REQUESTS_PER_CLIENT:
                path, body, headers, success = make_request(secret, index)
                began = time.monotonic()
                if began >= window_end:
                    return
                try:
                    ok = http.post(path, content=body, headers=headers).status_code == success
                except httpx.HTTPError:
                    ok = False
                out.append((began, time.monotonic() - began, ok))

    threads = [threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(clients)]
    time.sleep(max(0.0, start - time.monotonic()))
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, window_start - time.monotonic()))
    meter.append(_CpuMeter({"gunicorn": server_pids, "redis": [redis_pid], "load generator": [process.pid]}))
    if midway is not None:
        time.sleep(max(0.0, window_start + duration / 2 - time.monotonic()))
        midway()
    time.sleep(max(0.0, window_end - time.monotonic()))
    cpu = meter[0].stop()
    for thread in threads:
        thread.join(timeout=30)

    measured = [s for per_client in samples for s in per_client if window_start <= s[0] < window_end]
    return LoadResult(requests=len(measured), errors=sum(1 for s in measured if not s[2]), seconds=duration,
                      latencies_ms=tuple(sorted(s[1] * 1000 for s in measured)), cpu_cores=cpu)


def count_effects(env: BenchEnv, queue_name: str) -> tuple[int, int]:
    """(privacy requests received, jobs waiting in ``queue_name``): proof that the work was done. (No worker
    runs, so every request the load created is still ``received``; :func:`seed_history`'s are closed.)"""
    with psycopg.connect(_libpq_url(env.database_url)) as conn:
        row = conn.execute("SELECT count(*) FROM privacy_requests WHERE status = 'received'").fetchone()
    return (int(row[0]) if row else 0), int(Redis.from_url(env.redis.url).llen(f"rq:queue:{queue_name}"))


def write_counters(env: BenchEnv) -> tuple[int, int]:
    """(write transactions so far, deliveries stored so far): their differences over a window give the
    deliveries stored per commit, i.e. the intake's batch size. Each committed write gets a transaction id;
    reading the next one to be assigned takes none."""
    with psycopg.connect(_libpq_url(env.database_url), autocommit=True) as conn:
        row = conn.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint, "
                           "(SELECT count(*) FROM webhook_deliveries)").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


# -- in-process profile -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class IntakeProfile:
    """One delivery, measured serially in this process (Flask test client, no gunicorn, no contention)."""

    wall_ms: float  # without the profiler
    cpu_ms: float  # CPU of this process, without the profiler
    sql_statements: float  # as SQLAlchemy executes them
    postgres_round_trips: float  # psycopg waits for the server (statements, COMMIT, pool pre-ping)
    redis_round_trips: float  # commands or pipelines sent
    steps_ms: dict[str, float]  # cumulative wall ms under each step, with cProfile on (inflated by it)


PROFILE_STEPS = {
    "verify HMAC": ("platform/signatures.py", "verify_webhook_hmac"),
    "parse the delivery": ("platform/webhooks.py", "from_request"),
    "store the batch, committed (a batch of one here)": ("services/webhook_intake.py", "_accept"),
    "· delivery_statement.accept_deliveries (one statement, autocommit)": ("services/delivery_statement.py",
                                                                           "accept_deliveries"),
    "· · of which psycopg waits for PostgreSQL": ("psycopg/connection.py", "wait"),
    "· privacy_requests.accept_deliveries (the general path: none here)": ("services/privacy_requests.py",
                                                                          "accept_deliveries"),
    "queue the batch's jobs (Redis)": ("services/webhook_intake.py", "_queue_jobs"),
    "minimal: Queue.enqueue": ("rq/queue.py", "enqueue"),
}


ProfileStats = dict[tuple[str, int, str], tuple[Any, ...]]  # pstats: (file, line, function) -> (cc, nc, tt, ct, ...)


def _ncalls(raw: ProfileStats, file_part: str, func: str) -> int:
    return sum(int(v[1]) for (file, _line, name), v in raw.items() if name == func and file_part in file)


def _cumulative(raw: ProfileStats, file_part: str, func: str) -> float:
    return sum(float(v[3]) for (file, _line, name), v in raw.items() if name == func and file_part in file)


def profile_intake(env: BenchEnv, requests: int, *, minimal: bool = False) -> IntakeProfile:
    """Send ``requests`` deliveries through our app (or the minimal one) in this process."""
    from shopify_app import db
    from shopify_app.settings import Settings

    if minimal:
        from bench.minimal_app import create_app as create_minimal

        app = create_minimal(env.api_secret, env.redis.url)
    else:
        from shopify_app import create_app

        app = create_app(Settings(api_key=env.api_key, api_secret=env.api_secret,
                                  token_encryption_key=env.token_encryption_key, database_url=env.database_url,
                                  redis_url=env.redis.url, instance_path=env.instance_path))
    client = app.test_client()
    statements = [0]

    def on_sql(*_: object) -> None:
        statements[0] += 1

    engines = [db.get_engine(env.database_url), db.get_autocommit_engine(env.database_url)]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", on_sql)
    serial = iter(range(7_000_000, 8_000_000))

    def send() -> None:
        i = next(serial)
        body, headers = redact_delivery(env.api_secret, i, i)
        status = client.post(f"/webhooks/{TOPIC}", data=body, headers=headers).status_code
        assert status == 200, status

    try:
        for _ in range(min(100, requests)):  # warm caches, prepared statements and pools
            send()
        began, cpu = time.perf_counter(), time.process_time()
        for _ in range(requests):
            send()
        wall_ms = (time.perf_counter() - began) / requests * 1000
        cpu_ms = (time.process_time() - cpu) / requests * 1000
        statements[0] = 0
        profiler = cProfile.Profile()
        for _ in range(requests):
            profiler.enable()
            send()
            profiler.disable()
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", on_sql)
    raw: ProfileStats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    steps = {label: _cumulative(raw, *where) / requests * 1000 for label, where in PROFILE_STEPS.items()
             if label.startswith("minimal") == minimal}
    return IntakeProfile(
        wall_ms=wall_ms, cpu_ms=cpu_ms, sql_statements=statements[0] / requests,
        postgres_round_trips=_ncalls(raw, "psycopg/connection.py", "wait") / requests,
        redis_round_trips=_ncalls(raw, "redis/connection.py", "send_packed_command") / requests,
        steps_ms=steps,
    )
