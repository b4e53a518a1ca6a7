"""Consent-record ingestion through gunicorn on PostgreSQL, beside a minimal signature-only endpoint.

    .venv/bin/python bench/consent_ingestion.py [--quick]

Both apps are served by gunicorn like the Procfile's web line, loaded in turn by the same 16 clients
posting validly signed app-proxy requests (`POST /proxy/consent?shop=…&timestamp=…&signature=…`) with a
new visitor each time, spread over 100 shops so the per-shop rate limit (2,000 a minute) is not what is
measured. Writes records/s, latency percentiles and the ratio to bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import itertools
import json
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import intake, readme  # noqa: E402

BEGIN, END = "<!-- consent:begin -->", "<!-- consent:end -->"
SHOPS = [f"consent-bench-{i}.myshopify.com" for i in range(100)]
_visitors = itertools.count(1)


def consent_request(secret: str, client_index: int) -> intake.Request:
    n = next(_visitors)
    shop = SHOPS[n % len(SHOPS)]
    params = {"shop": shop, "path_prefix": "/apps/privacy", "timestamp": str(int(time.time())),
              "logged_in_customer_id": ""}
    message = "".join(f"{k}={params[k]}" for k in sorted(params))
    params["signature"] = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    body = json.dumps({"visitor_id": uuid.uuid4().hex, "action": "custom", "revision": 1, "text_hash": "a" * 64,
                       "language": "fr", "gpc": False, "page": "/products/riviera",
                       "choices": {"analytics": True, "marketing": False, "preferences": True,
                                   "sale_of_data": False}}).encode()
    headers = {"Content-Type": "application/json", "X-Forwarded-For": f"203.0.113.{n % 250}",
               "User-Agent": "Mozilla/5.0 (bench)"}
    return f"/proxy/consent?{urlencode(params)}", body, headers, 204


def seed_shops(env: intake.BenchEnv) -> None:
    url = env.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE consent_records")
        for shop in SHOPS:
            conn.execute("INSERT INTO shops (domain, installed_at, granted_scopes) VALUES (%s, now(), '') "
                         "ON CONFLICT (domain) DO NOTHING", (shop,))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    warmup, slice_seconds, slices, workers = (1.0, 3.0, 2, 5) if args.quick else (2.0, 5.0, 4, 5)
    results: dict[str, list[intake.LoadResult]] = {"ours": [], "minimal": []}
    with intake.bench_env() as env:
        seed_shops(env)
        apps = {"ours": "shopify_app:create_app()", "minimal": "bench.minimal_consent_app:create_app()"}
        servers = {name: intake.Gunicorn(spec, workers, env) for name, spec in apps.items()}
        for server in servers.values():
            server.__enter__()
        try:
            for _ in range(slices):  # alternate, so background load hits both alike
                for name, server in servers.items():
                    results[name].append(intake.run_load(server.url, env.api_secret, server.pids(),
                                                         env.redis.process.pid, clients=16, warmup=warmup,
                                                         duration=slice_seconds, make_request=consent_request))
        finally:
            for server in servers.values():
                server.__exit__(None, None, None)
        url = env.database_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url) as conn:
            stored = conn.execute("SELECT count(*) FROM consent_records").fetchone()[0]
    merged = {name: intake.LoadResult.merge(parts) for name, parts in results.items()}
    ours, minimal = merged["ours"], merged["minimal"]
    rows = [f"| {name} | {r.throughput:,.0f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.p99_ms:.1f} | "
            f"{r.error_rate:.2%} |" for name, r in merged.items()]
    section = "\n".join([
        BEGIN, "## Consent-record ingestion (`POST /proxy/consent`)", "",
        f"Command: `.venv/bin/python bench/consent_ingestion.py{' --quick' if args.quick else ''}` · "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · {readme.machine()} · "
        f"gunicorn {workers} sync workers each, PostgreSQL database `bench`, 16 clients, {slices} alternating slices "
        f"of {slice_seconds:.0f} s per app after {warmup:.0f} s warm-up; 100 shops, a new visitor per request.", "",
        "| app | records/s | p50 ms | p95 ms | p99 ms | errors |", "| --- | ---: | ---: | ---: | ---: | ---: |",
        *rows, "",
        f"Ratio ours / minimal: **{ours.throughput / minimal.throughput:.2f}**. Target: at least 2,000 records/s "
        f"({'met' if ours.throughput >= 2000 else 'not met'}). Rows stored: {stored:,} (every 204 is one row). "
        "The minimal endpoint only verifies the app-proxy signature (no database, no Redis); ours also validates "
        "the body, checks the Redis rate limits (one pipeline) and inserts one row (`INSERT … SELECT` finding the "
        "shop by domain) before answering. The load generator shares the 2 cores.", END])
    readme.write_section(BEGIN, END, section)
    print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
