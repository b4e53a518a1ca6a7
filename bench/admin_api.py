"""The embedded admin under load: p95 of ``GET /api/privacy-requests`` and of the consent-log page.

One command (run by hand, from the repository root):

    .venv/bin/python bench/admin_api.py            # seed (if needed), measure, update bench/README.md
    .venv/bin/python bench/admin_api.py --reseed   # drop the seeded rows and seed again

What it does, all on 127.0.0.1:

1. creates the PostgreSQL database ``bench_admin`` if it is missing (``createdb -h 127.0.0.1 -U postgres
   bench_admin``; never the ``test`` database) and runs ``alembic upgrade head`` on it;
2. seeds one installed shop with 10,000 privacy requests and 1,000,000 consent records (13 months of
   decisions), plus a second shop (1,000 requests, 50,000 records) so that every query must filter by
   shop, with ``INSERT … SELECT … FROM generate_series`` in PostgreSQL (about 20 s), then ``VACUUM ANALYZE``;
3. serves the app with gunicorn as the Procfile does (sync workers) and a private ``redis-server``;
4. sends requests with freshly signed session tokens: each scenario gets a warm-up, then a measured
   series from 1 client and from 4 concurrent clients; latency is what the client sees;
5. streams the whole 1,000,000-row CSV export once and samples the gunicorn worker's memory meanwhile;
6. writes the results, the command and the machine into the ``admin`` section of ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import httpx
import jwt
import psutil
import psycopg
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import readme  # noqa: E402

from devtools.redis_server import RedisServer  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
BEGIN, END = "<!-- admin:begin -->", "<!-- admin:end -->"
DB_NAME = "bench_admin"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}"
DATABASE_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
SHOP = "bench-admin.myshopify.com"
OTHER_SHOP = "bench-other.myshopify.com"
REQUESTS, CONSENTS = 10_000, 1_000_000
OTHER_REQUESTS, OTHER_CONSENTS = 1_000, 50_000
API_KEY = "bench-admin-key"
TARGET_P95_MS = 150.0
TABLES = ("audit_entries", "privacy_reports", "webhook_deliveries", "privacy_requests", "consent_records",
          "shop_settings", "banner_configs", "shops")


# -- database -------------------------------------------------------------------------------------


def ensure_database(env: dict[str, str]) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
    if not exists:
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB_NAME], check=True)
    subprocess.run([str(VENV_BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env, check=True, capture_output=True)


def seeded_counts() -> tuple[int, int]:
    with psycopg.connect(PG_URL) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM privacy_requests r JOIN shops s ON s.id = r.shop_id WHERE s.domain = %s),"
            " (SELECT count(*) FROM consent_records c JOIN shops s ON s.id = c.shop_id WHERE s.domain = %s)",
            (SHOP, SHOP)).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


SEED_SHOP = """
INSERT INTO shops (domain, installed_at, access_token_encrypted, granted_scopes)
VALUES (%(domain)s, now() AT TIME ZONE 'utc', %(token)s, 'read_customers,read_orders')
RETURNING id
"""

SEED_REQUESTS = """
INSERT INTO privacy_requests (shop_id, kind, source, status, customer_id, customer_email, customer_phone,
                              orders_requested, orders_to_redact, received_at, due_at, completed_at, closed_at,
                              attempts)
SELECT %(shop)s,
       (ARRAY['data_request', 'customer_redact', 'data_request', 'customer_redact', 'shop_redact'])[1 + g %% 5],
       'webhook',
       (ARRAY['closed', 'closed', 'completed', 'closed', 'received', 'closed', 'processing', 'closed', 'failed',
              'completed'])[1 + (g / 7) %% 10],
       1000000 + g, 'customer' || g || '@example.com', NULL, '[]', '[]',
       base - (g * interval '1 hour'), base - (g * interval '1 hour') + interval '30 days',
       base - (g * interval '1 hour') + interval '2 days', base - (g * interval '1 hour') + interval '3 days', 1
FROM generate_series(1, %(n)s) AS g, (SELECT now() AT TIME ZONE 'utc' AS base) AS b
"""

SEED_CONSENTS = """
INSERT INTO consent_records (shop_id, visitor_id, customer_id, action, analytics, marketing, preferences,
                             sale_of_data, gpc, revision, text_hash, language, ip_truncated, user_agent,
                             recorded_at)
SELECT %(shop)s, 'v' || substr(md5((g %% %(visitors)s)::text), 1, 20),
       CASE WHEN g %% 10 = 0 THEN 7000000000 + g %% 50000 END,
       a.action, a.action IN ('accept_all', 'custom'), a.action = 'accept_all', a.action IN ('accept_all', 'custom'),
       a.action = 'accept_all', g %% 50 = 0, 1 + g %% 4, md5('texts' || (1 + g %% 4)),
       CASE WHEN g %% 3 = 0 THEN 'en' ELSE 'fr' END, '203.0.' || (g %% 250) || '.0',
       'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari',
       base - (g * %(spacing)s * interval '1 second')
FROM generate_series(1, %(n)s) AS g
CROSS JOIN LATERAL (SELECT CASE WHEN g %% 20 < 11 THEN 'accept_all' WHEN g %% 20 < 16 THEN 'reject_all'
                                WHEN g %% 20 < 19 THEN 'custom' ELSE 'close' END AS action) AS a,
     (SELECT now() AT TIME ZONE 'utc' AS base) AS b
"""


def seed(token_key: str) -> float:
    """Empty the tables and seed both shops; returns the seconds it took."""
    began = time.perf_counter()
    thirteen_months = 13 * 30.4 * 86400
    cipher = Fernet(token_key.encode())
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        for domain, requests, consents in ((SHOP, REQUESTS, CONSENTS), (OTHER_SHOP, OTHER_REQUESTS, OTHER_CONSENTS)):
            token = cipher.encrypt(b"shpat_bench_not_a_real_token").decode()
            row = conn.execute(SEED_SHOP, {"domain": domain, "token": token}).fetchone()
            assert row is not None
            shop_id = int(row[0])
            conn.execute("INSERT INTO shop_settings (shop_id, report_language, policy, updated_at) "
                         "VALUES (%s, 'auto', '{}', now() AT TIME ZONE 'utc')", (shop_id,))
            conn.execute(SEED_REQUESTS, {"shop": shop_id, "n": requests})
            conn.execute(SEED_CONSENTS, {"shop": shop_id, "n": consents, "visitors": consents * 2 // 5,
                                         "spacing": thirteen_months / consents})
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - began


def reencrypt_tokens(token_key: str) -> None:
    cipher = Fernet(token_key.encode())
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("UPDATE shops SET access_token_encrypted = %s, access_token_expires_at = NULL, "
                     "uninstalled_at = NULL", (cipher.encrypt(b"shpat_bench_not_a_real_token").decode(),))


def sample_values() -> dict[str, str]:
    """A visitor and a customer of the big shop that have records, for the filtered searches."""
    with psycopg.connect(PG_URL) as conn:
        visitor = conn.execute("SELECT c.visitor_id FROM consent_records c JOIN shops s ON s.id = c.shop_id "
                               "WHERE s.domain = %s ORDER BY c.id LIMIT 1 OFFSET 12345", (SHOP,)).fetchone()
        customer = conn.execute("SELECT c.customer_id FROM consent_records c JOIN shops s ON s.id = c.shop_id "
                                "WHERE s.domain = %s AND c.customer_id IS NOT NULL ORDER BY c.id LIMIT 1 "
                                "OFFSET 777", (SHOP,)).fetchone()
    assert visitor and customer
    return {"visitor_id": str(visitor[0]), "customer_id": str(customer[0])}


# -- server ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(env: dict[str, str], workers: int) -> Iterator[tuple[str, psutil.Process]]:
    """``gunicorn "shopify_app:create_app()"`` as the Procfile's ``web`` line, on a free port."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-admin-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "shopify_app:create_app()", "--bind", f"127.0.0.1:{port}", "--workers",
         str(workers), "--timeout", "30", "--graceful-timeout", "10"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(Path(log.name).read_text()[-3000:])
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200 and \
                        len(psutil.Process(process.pid).children()) == workers:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)
        yield url, psutil.Process(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        Path(log.name).unlink(missing_ok=True)


def session_token(secret: str, shop: str = SHOP) -> str:
    now = int(time.time())
    return jwt.encode({"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": API_KEY, "sub": "1",
                       "exp": now + 60, "nbf": now, "iat": now, "jti": str(uuid.uuid4()), "sid": "bench"},
                      secret, algorithm="HS256")


# -- load -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # "api" (Bearer) or "page" (id_token in the query)
    path: str
    params: dict[str, str]


@dataclasses.dataclass(frozen=True)
class Result:
    scenario: Scenario
    clients: int
    latencies_ms: list[float]
    errors: int
    seconds: float

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
        return ordered[rank - 1]

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds


def one_request(http: httpx.Client, secret: str, scenario: Scenario) -> bool:
    token = session_token(secret)
    if scenario.kind == "api":
        response = http.get(scenario.path, params=scenario.params, headers={"Authorization": f"Bearer {token}"})
    else:
        query = {"shop": SHOP, "host": "YmVuY2g", "embedded": "1", "id_token": token, **scenario.params}
        response = http.get(f"{scenario.path}?{urlencode(query)}")
    return response.status_code == 200 and len(response.content) > 500


def run(url: str, secret: str, scenario: Scenario, *, clients: int, per_client: int, warmup: int) -> Result:
    samples: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients

    def loop(index: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            for _ in range(warmup):
                one_request(http, secret, scenario)
            for _ in range(per_client):
                began = time.perf_counter()
                ok = one_request(http, secret, scenario)
                samples[index].append((time.perf_counter() - began) * 1000)
                errors[index] += not ok

    began = time.perf_counter()
    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result(scenario, clients, [s for per in samples for s in per], sum(errors), time.perf_counter() - began)


def export_csv(url: str, secret: str, worker_processes: Callable[[], list[psutil.Process]]) -> dict[str, float]:
    """Stream the whole export once; sample the RSS of the gunicorn workers meanwhile."""
    before = {p.pid: p.memory_info().rss for p in worker_processes()}
    peak = dict(before)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for p in worker_processes():
                try:
                    peak[p.pid] = max(peak.get(p.pid, 0), p.memory_info().rss)
                except psutil.NoSuchProcess:
                    pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    query = urlencode({"shop": SHOP, "host": "YmVuY2g", "embedded": "1", "id_token": session_token(secret)})
    began = time.perf_counter()
    size = lines = 0
    first_byte = None
    with httpx.Client(base_url=url, timeout=120) as http, http.stream("GET", f"/consent-log/export.csv?{query}") as r:
        assert r.status_code == 200, r.status_code
        for chunk in r.iter_bytes():
            if first_byte is None:
                first_byte = time.perf_counter() - began
            size += len(chunk)
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - began
    done.set()
    sampler.join()
    growth = max(peak[pid] - before.get(pid, peak[pid]) for pid in peak)
    return {"rows": lines - 1, "mb": size / 1e6, "seconds": seconds, "first_byte_ms": (first_byte or 0) * 1000,
            "rss_growth_mb": growth / 1e6, "rss_peak_mb": max(peak.values()) / 1e6}


# -- report ---------------------------------------------------------------------------------------


def machine() -> str:
    mem = psutil.virtual_memory().total / 2**30
    with psycopg.connect(PG_ADMIN_URL) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    pg = str(row[0]) if row else "?"
    cpu = platform.processor() or platform.machine()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.1f} GiB RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}, PostgreSQL {pg}; load average at the end {load} "
            "(the machine is shared with other work)")


def markdown(results: list[Result], export: dict[str, float], seed_seconds: float | None, workers: int,
             command: str, took: float) -> str:
    lines = [
        BEGIN,
        "## Embedded admin: privacy requests API and consent log",
        "",
        f"Command: `{command}` · run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · took {took / 60:.1f} min",
        "",
        f"Machine: {machine()}.",
        "",
        f"Data (PostgreSQL database `{DB_NAME}`, `alembic upgrade head`): shop `{SHOP}` with "
        f"{REQUESTS:,} privacy requests and {CONSENTS:,} consent records over 13 months (about 400,000 visitors, "
        f"10 % with a customer id), plus a second shop with {OTHER_REQUESTS:,} requests and {OTHER_CONSENTS:,} "
        "records; seeded with `INSERT … SELECT … FROM generate_series`"
        + (f" in {seed_seconds:.0f} s" if seed_seconds is not None else " (already seeded: reused)")
        + ", then `VACUUM ANALYZE`.",
        "",
        f"Served by `gunicorn \"shopify_app:create_app()\" --workers {workers} --timeout 30` (the Procfile's `web` "
        "line, sync workers) with a private `redis-server`. Every request carries a freshly signed session token "
        "(Bearer for the API, `id_token` in the query for the page), so token verification and the shop lookup are "
        "included. Latency is what an `httpx` client on the same machine sees; the clients share the cores with "
        "the server and PostgreSQL.",
        "",
        "| request | clients | requests | p50 ms | p95 ms | p99 ms | max ms | req/s | errors "
        f"| p95 < {TARGET_P95_MS:.0f} ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for r in results:
        query = ("?" + urlencode(r.scenario.params)) if r.scenario.params else ""
        lines.append(f"| `GET {r.scenario.path}{query}` | {r.clients} | {len(r.latencies_ms)} | "
                     f"{statistics.median(r.latencies_ms):.1f} | {r.pct(95):.1f} | {r.pct(99):.1f} | "
                     f"{max(r.latencies_ms):.1f} | {r.throughput:.0f} | {r.errors} | "
                     f"{'yes' if r.pct(95) < TARGET_P95_MS else '**no**'} |")
    lines += [
        "",
        "The consent-log page is the server-rendered page (50 rows, newest first, through "
        "`services/consent.list_consent_records`); `offset=5000` is page 101. The API rows are "
        "`GET /api/privacy-requests` (50 rows, soonest due first).",
        "",
        f"CSV export of the whole log (`GET /consent-log/export.csv`, streamed in keyset batches of 5,000 rows): "
        f"{export['rows']:,.0f} rows, {export['mb']:.0f} MB in {export['seconds']:.1f} s "
        f"(first byte after {export['first_byte_ms']:.0f} ms); the serving gunicorn worker's memory grew by "
        f"{export['rss_growth_mb']:.1f} MB at most (peak RSS {export['rss_peak_mb']:.0f} MB), so the file is never "
        "held in memory. Caveat: gunicorn's sync workers are killed when one request runs longer than "
        "`--timeout` (30 s in the Procfile; a probe with `--timeout 4` cut the export after 4 s), so at this rate "
        f"one export can carry about {export['rows'] / export['seconds'] * 30 / 1e6:.1f} million rows; a larger "
        "log must be exported by date range, or served with `--worker-class gthread` (whose heartbeat does not "
        "wait for the request) or a longer `--timeout`.",
        END,
    ]
    return "\n".join(lines)


def update_readme(section: str) -> None:
    """Replace only the ``admin`` section of bench/README.md (other sections belong to other benchmarks)."""
    readme.write_section(BEGIN, END, section)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reseed", action="store_true", help="seed again even if the data is there")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (Procfile default: 2)")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per scenario and client count")
    parser.add_argument("--no-readme", action="store_true", help="print the results only")
    args = parser.parse_args()
    if shutil.which("createdb") is None:
        print("error: createdb (PostgreSQL client) is not on PATH", file=sys.stderr)
        return 2
    started = time.perf_counter()
    secret = uuid.uuid4().hex * 2
    token_key = Fernet.generate_key().decode()
    with tempfile.TemporaryDirectory(prefix="bench-admin-") as instance, RedisServer() as redis_server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPIFY_", "DEMO_", "WEB_CONCURRENCY"))}
        env.update(DATABASE_URL=DATABASE_URL, REDIS_URL=redis_server.url, SHOPIFY_API_KEY=API_KEY,
                   SHOPIFY_API_SECRET=secret, TOKEN_ENCRYPTION_KEY=token_key, APP_ENV="development",
                   INSTANCE_PATH=instance, PYTHONUNBUFFERED="1")
        ensure_database(env)
        seed_seconds: float | None = None
        if args.reseed or seeded_counts() != (REQUESTS, CONSENTS):
            seed_seconds = seed(token_key)
            print(f"seeded in {seed_seconds:.1f} s: {seeded_counts()}", flush=True)
        else:
            reencrypt_tokens(token_key)  # this run's key: the app must find a usable offline token (no exchange)
            print(f"reusing the seeded data: {seeded_counts()}", flush=True)
        samples = sample_values()
        week_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=7)).date().isoformat()
        scenarios = [
            Scenario("api", "api", "/api/privacy-requests", {}),
            Scenario("api status", "api", "/api/privacy-requests", {"status": "received"}),
            Scenario("api kind page 20", "api", "/api/privacy-requests", {"kind": "customer_redact", "offset": "1000"}),
            Scenario("page", "page", "/consent-log", {}),
            Scenario("page visitor", "page", "/consent-log", {"visitor_id": samples["visitor_id"]}),
            Scenario("page customer", "page", "/consent-log", {"customer_id": samples["customer_id"]}),
            Scenario("page week", "page", "/consent-log", {"since": week_ago}),
            Scenario("page 101", "page", "/consent-log", {"offset": "5000"}),
        ]
        results: list[Result] = []
        with gunicorn(env, args.workers) as (url, master):
            for scenario in scenarios:
                for clients in (1, 4):
                    result = run(url, secret, scenario, clients=clients, per_client=max(1, args.requests // clients),
                                 warmup=10)
                    results.append(result)
                    print(f"{scenario.name:18} clients={clients}: p50 {statistics.median(result.latencies_ms):6.1f}"
                          f"  p95 {result.pct(95):6.1f}  p99 {result.pct(99):6.1f} ms  errors {result.errors}",
                          flush=True)
            export = export_csv(url, secret, lambda: master.children())
            print(f"export: {export}", flush=True)
    command = " ".join([".venv/bin/python bench/admin_api.py", *sys.argv[1:]])
    section = markdown(results, export, seed_seconds, args.workers, command, time.perf_counter() - started)
    print(section)
    if not args.no_readme:
        update_readme(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
