"""The worker and the cron scheduler outlive a Redis outage: started while Redis is down, they wait for it,
then do what they do at start; SIGTERM stops them at any point.

Real processes (``python -m workers.cron``, ``python -m workers``) against a private redis-server that is
not running yet. ``--max-retry-delay 0.5`` keeps their waits for Redis short.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from rq.cron import CronScheduler
from sqlalchemy.orm import Session

from devtools.redis_server import RedisServer
from shopify_app import db, queue
from shopify_app.services import shops
from shopify_app.settings import Settings
from tests.admin.factories import add_request
from tests.conftest import DEMO_SHOP, ROOT
from tests.signing import API_KEY, API_SECRET
from tests.waiting import wait_for
from tests.workers.test_maintenance import redact_body, statuses
from workers.maintenance import sweep_pending_requests

RETRY_LOG_LINE = "starting again in"


@pytest.fixture
def redis_down() -> Iterator[RedisServer]:
    server = RedisServer()  # a free port, nothing listening on it until the test starts it
    yield server
    server.stop()


def spawn(module: str, settings: Settings, redis_url: str, log: Path,
          max_retry_delay: float = 0.5) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SHOPIFY_API_KEY": API_KEY, "SHOPIFY_API_SECRET": API_SECRET,
           "TOKEN_ENCRYPTION_KEY": settings.token_encryption_key, "DATABASE_URL": settings.database_url,
           "REDIS_URL": redis_url, "SHOPIFY_SHOP_URL_TEMPLATE": settings.shop_url_template,
           "INSTANCE_PATH": str(settings.instance_path)}
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", module, "--max-retry-delay", str(max_retry_delay)], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT)


def waits_for_redis(process: subprocess.Popen[bytes], log: Path, attempts: int = 2) -> None:
    """Wait until the process has failed to reach Redis ``attempts`` times, and check it is still alive."""
    wait_for(lambda: process.poll() is not None or log.read_text().count(RETRY_LOG_LINE) >= attempts, timeout=30)
    assert process.poll() is None, log.read_text()[-3000:]


def stop(process: subprocess.Popen[bytes], timeout: float = 5) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=timeout)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.slow
def test_the_cron_scheduler_waits_for_redis_then_queues_the_sweeper(settings, redis_down, tmp_path, processes):
    log = tmp_path / "cron.log"
    scheduler = spawn("workers.cron", settings, redis_down.url, log)
    processes.append(scheduler)
    waits_for_redis(scheduler, log)

    redis_down.start()
    redis = queue.connect(redis_down.url)
    maintenance = queue.get_queue(redis, queue.MAINTENANCE_QUEUE)
    # (Other cron jobs may be due as well, whatever the hour the test runs at.)
    wait_for(lambda: "workers.maintenance.sweep_pending_requests" in [job.func_name for job in maintenance.jobs],
             timeout=15)
    assert len(CronScheduler.all(redis)) == 1
    assert scheduler.poll() is None

    redis_down.stop()  # down again: a stop must not be mistaken for an outage when unregistering fails
    assert stop(scheduler) == 0, log.read_text()[-3000:]
    redis.close()


@pytest.mark.slow
def test_the_worker_waits_for_redis_and_sweeps_before_it_works(post_webhook, settings, db_session, redis_down,
                                                                tmp_path, processes):
    post_webhook("customers/redact", redact_body(1001))  # its job is in the app's Redis, not in this one
    log = tmp_path / "worker.log"
    worker = spawn("workers", settings, redis_down.url, log)
    processes.append(worker)
    waits_for_redis(worker, log)
    assert statuses(db_session) == ["received"]

    redis_down.start()  # empty: only the start-up sweep can queue the request's job
    wait_for(lambda: statuses(db_session) == ["completed"], timeout=30)
    assert worker.poll() is None
    assert stop(worker) == 0, log.read_text()[-3000:]


@pytest.mark.slow
def test_the_worker_waits_for_the_database_and_sweeps_before_it_works(settings, redis_conn, tmp_path, processes):
    """Started before its database can be reached, the worker waits for it rather than exiting. A SQLite file
    in a folder that does not exist yet stands for a database server that is not up yet."""
    database_url = f"sqlite:///{tmp_path / 'later' / 'app.sqlite3'}"
    log = tmp_path / "worker.log"
    worker = spawn("workers", dataclasses.replace(settings, database_url=database_url), settings.redis_url, log)
    processes.append(worker)
    wait_for(lambda: worker.poll() is not None or log.read_text().count("Database unavailable") >= 2, timeout=30)
    assert worker.poll() is None, log.read_text()[-3000:]

    (tmp_path / "later").mkdir()  # the database is up: migrated, with one request waiting, no job for it
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", database_url)
    command.upgrade(config, "head")
    with Session(db.get_engine(database_url)) as session:
        shop_id = shops.get_or_create_shop(session, DEMO_SHOP).id
        session.commit()
        add_request(session, shop_id, kind="customer_redact")
        wait_for(lambda: statuses(session) == ["completed"], timeout=30)
    assert worker.poll() is None
    assert stop(worker) == 0, log.read_text()[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("module", ["workers.cron", "workers"])
def test_sigterm_stops_a_process_waiting_for_redis_at_once(module, settings, redis_down, tmp_path, processes):
    log = tmp_path / "process.log"
    process = spawn(module, settings, redis_down.url, log, max_retry_delay=60)
    processes.append(process)
    wait_for(lambda: process.poll() is not None or f"{RETRY_LOG_LINE} 4.0 s" in log.read_text(), timeout=30)
    assert process.poll() is None, log.read_text()[-3000:]
    # Before the end of its 4 s wait. Not sooner: the interpreter's own exit (SQLAlchemy's teardown above all)
    # takes ~0.6 s on a slow idle machine, and over 1 s was seen in CI.
    assert stop(process, timeout=3) == 0
    assert log.read_text().count(RETRY_LOG_LINE) == 3, log.read_text()[-3000:]


def test_sweeps_share_one_redis_client_which_survives_a_redis_restart(post_webhook, redis_conn, redis_server):
    post_webhook("customers/redact", redact_body(1001))
    redis_conn.flushall()  # the job is lost: each sweep queues it again
    assert sweep_pending_requests()["queued"] == 1
    clients = len(redis_conn.client_list())
    for _ in range(3):
        redis_conn.flushall()
        assert sweep_pending_requests()["queued"] == 1
    assert len(redis_conn.client_list()) == clients

    redis_server.stop()
    redis_server.start()  # back, and empty
    assert sweep_pending_requests()["queued"] == 1
