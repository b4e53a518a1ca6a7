"""Consent proofs under faults: a gunicorn stop while they wait for their batch, connections the database dropped.

Stopping gunicorn while consent proofs wait for their batch: each accepted post is answered and stored.

The Procfile's web line is run as a shell would run it (gthread workers, group commit in each process).
The consent table is locked, so the first batch waits in the database while the other posts queue
behind it; then gunicorn is told to stop (SIGTERM, as a deploy or a scale-down does), and the lock is
released. A graceful stop finishes the requests in flight: every post gets its 204, every 204 is a row,
and gunicorn exits cleanly. (A request that never got an answer may be stored or not; the banner sends
it again, and proofs are append-only, so at worst it is stored twice. None is answered 204 and lost.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, select, text

from devtools.redis_server import free_port
from shopify_app import db
from shopify_app.models import ConsentRecord, Shop
from tests.conftest import DEMO_SHOP, ROOT
from tests.faults.postgres import kill_this_process_connections
from tests.signing import API_KEY, API_SECRET
from tests.waiting import wait_for
from tests.web.test_storefront import consent_body, proxy_query

POSTS = 12


def start_procfile_web(database_url: str, redis_url: str, instance: Path, log: Path) -> tuple[subprocess.Popen, int]:
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    port = free_port()
    env = {"PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}", "PORT": str(port),
           "WEB_CONCURRENCY": "1", "SHOPIFY_API_KEY": API_KEY, "SHOPIFY_API_SECRET": API_SECRET,
           "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(), "DATABASE_URL": database_url,
           "REDIS_URL": redis_url, "INSTANCE_PATH": str(instance)}
    with log.open("wb") as out:
        server = subprocess.Popen(["/bin/sh", "-c", f"exec {procfile['web']}"], cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT)

    def answers() -> bool:
        assert server.poll() is None, f"gunicorn exited: {log.read_text()[-2000:]}"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(answers, timeout=60, interval=0.2)
    return server, port


def established(worker: psutil.Process, port: int) -> int:
    return sum(1 for c in worker.net_connections("tcp") if c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED)


def test_a_graceful_stop_answers_and_stores_every_post_waiting_for_its_batch(database_url, redis_server, db_session,
                                                                             tmp_path):
    db_session.add(Shop(domain=DEMO_SHOP))
    db_session.commit()
    log = tmp_path / "gunicorn.log"
    server, port = start_procfile_web(database_url, redis_server.url, tmp_path, log)
    [worker] = psutil.Process(server.pid).children()
    locker = create_engine(database_url, connect_args={} if database_url.startswith("postgresql")
                           else {"isolation_level": None})
    visitors = [f"visitor-{uuid.uuid4().hex}" for _ in range(POSTS)]

    def post(visitor: str) -> int | str:
        try:
            response = httpx.post(f"http://127.0.0.1:{port}/proxy/consent?{proxy_query()}",
                                  content=json.dumps(consent_body(visitor_id=visitor)), timeout=60)
        except httpx.TransportError as exc:
            return type(exc).__name__
        return response.status_code

    try:
        with locker.connect() as lock, ThreadPoolExecutor(max_workers=POSTS) as pool:
            # Writers wait: PostgreSQL's INSERT for the table lock, SQLite's BEGIN IMMEDIATE for the write
            # lock (up to its 5 s busy timeout, so the steps below must not dawdle).
            if database_url.startswith("postgresql"):
                lock.execute(text("LOCK TABLE consent_records IN SHARE MODE"))
            else:
                lock.exec_driver_sql("BEGIN IMMEDIATE")
            answers = [pool.submit(post, visitor) for visitor in visitors]
            wait_for(lambda: established(worker, port) >= POSTS, timeout=30, interval=0.02)  # all accepted
            if database_url.startswith("postgresql"):  # the first batch is in, waiting for the lock
                wait_for(lambda: locker_sees_waiting_insert(lock), timeout=30, interval=0.02)
            assert not stopped_accepting(worker, port)  # still serving: the check below can tell
            server.send_signal(signal.SIGTERM)
            wait_for(lambda: b"Handling signal: term" in log.read_bytes(), timeout=30, interval=0.02)
            wait_for(lambda: stopped_accepting(worker, port), timeout=30, interval=0.02)  # its graceful stop began
            assert not any(answer.done() for answer in answers)  # every post still waits for its batch
            lock.rollback() if database_url.startswith("postgresql") else lock.exec_driver_sql("ROLLBACK")
            statuses = [answer.result(timeout=60) for answer in answers]
        assert server.wait(timeout=30) == 0, log.read_text()[-2000:]
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
        locker.dispose()
    assert statuses == [204] * POSTS
    db_session.rollback()
    assert sorted(db_session.scalars(select(ConsentRecord.visitor_id))) == sorted(visitors)
    assert db_session.scalar(select(func.count()).select_from(ConsentRecord)) == POSTS


def stopped_accepting(worker: psutil.Process, port: int) -> bool:
    """True once the gunicorn worker no longer polls its listening socket: it left its accept loop, which is
    the first step of its graceful stop (Linux: the socket is gone from its epoll's ``tfd`` entries)."""
    listeners = {c.fd for c in worker.net_connections("tcp") if c.laddr.port == port and c.status == psutil.CONN_LISTEN}
    fd_dir = Path(f"/proc/{worker.pid}/fd")
    polled: set[int] = set()
    for fd in fd_dir.iterdir():
        try:
            if os.readlink(fd) != "anon_inode:[eventpoll]":
                continue
            info = Path(f"/proc/{worker.pid}/fdinfo/{fd.name}").read_text()
        except OSError:  # closed meanwhile
            continue
        polled |= {int(line.split()[1]) for line in info.splitlines() if line.startswith("tfd:")}
    return bool(listeners) and not listeners & polled


def locker_sees_waiting_insert(lock) -> bool:  # type: ignore[no-untyped-def]
    return bool(lock.execute(text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
        "AND query LIKE '%INSERT INTO consent_records%'")).scalar())


def test_a_connection_the_database_dropped_costs_no_proof(settings, client, install_shop, db_session):
    """After a database restart (or an idle timeout) the writer's pooled connection is dead: the batch is
    written again on a new connection, instead of answering 503 once per process."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    install_shop()

    def post(visitor: str) -> int:
        return client.post(f"/proxy/consent?{proxy_query()}", content=json.dumps(consent_body(visitor_id=visitor)),
                           headers={"Content-Type": "application/json"}).status_code

    assert post("visitor-before") == 204  # the writer's pool now holds a connection
    assert kill_this_process_connections(settings.database_url) >= 1
    db_session.close()
    db.get_engine(settings.database_url).dispose()  # the test's own session's connections died too
    assert post("visitor-after") == 204
    assert sorted(db_session.scalars(select(ConsentRecord.visitor_id))) == ["visitor-after", "visitor-before"]
