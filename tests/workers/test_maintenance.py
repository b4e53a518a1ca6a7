"""The sweeper and the cron scheduler: nothing is lost when Redis or a worker goes away."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import subprocess
import sys

import psutil
import pytest
from rq.cron import CronScheduler
from sqlalchemy import create_engine, func, select, text, update

from shopify_app import queue
from shopify_app.models import AuditEntry, PrivacyReport, PrivacyRequest, Shop, utcnow
from shopify_app.services import privacy_requests
from tests.admin.factories import add_request
from tests.conftest import ROOT, load_sample
from tests.signing import API_KEY, API_SECRET, json_body
from tests.waiting import wait_for
from workers.cron import build_scheduler
from workers.maintenance import purge_expired_data, sweep_pending_requests

SWEEPER = "workers.maintenance.sweep_pending_requests"


def statuses(db_session) -> list[str]:
    db_session.rollback()
    return [r.status for r in db_session.scalars(select(PrivacyRequest).order_by(PrivacyRequest.id))]


def redact_body(customer_id: int) -> bytes:
    return json_body({"shop_id": 1, "shop_domain": "demo-shop.myshopify.com",
                      "customer": {"id": customer_id, "email": f"c{customer_id}@example.fr"}})


def kill_worker_tree(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL a worker and everything it forked: RQ's work horse calls setsid(), so killpg would miss it."""
    parent = psutil.Process(worker.pid)
    family = [*parent.children(recursive=True), parent]
    for process in family:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    worker.wait(timeout=10)
    psutil.wait_procs(family, timeout=10)


def start_worker(settings, tmp_path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SHOPIFY_API_KEY": API_KEY, "SHOPIFY_API_SECRET": API_SECRET,
           "TOKEN_ENCRYPTION_KEY": settings.token_encryption_key, "DATABASE_URL": settings.database_url,
           "REDIS_URL": settings.redis_url, "SHOPIFY_SHOP_URL_TEMPLATE": settings.shop_url_template,
           "INSTANCE_PATH": str(tmp_path)}
    return subprocess.Popen([sys.executable, "-m", "workers"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def test_deliveries_are_accepted_while_redis_is_down_and_done_once_it_is_back(
        install_shop, post_webhook, run_worker, db_session, redis_server, redis_conn):
    install_shop()
    redis_server.stop()
    try:
        for customer_id in (1001, 1002, 1003):
            assert post_webhook("customers/redact", redact_body(customer_id)).status_code == 200
        # Another customer's: an erasure closes the same customer's open data requests (test_privacy.py).
        data_request = json.loads(load_sample("customers_data_request"))
        data_request["customer"] = {"id": 1004, "email": "c1004@example.fr"}
        assert post_webhook("customers/data_request", json_body(data_request)).status_code == 200
        assert statuses(db_session) == ["received"] * 4
    finally:
        redis_server.start()  # back, and empty: it keeps nothing on disk
    assert redis_conn.keys("rq:job:*") == []
    assert sweep_pending_requests() == {"pending": 4, "queued": 4}
    assert sweep_pending_requests() == {"pending": 4, "queued": 0}  # queued jobs are not queued twice
    run_worker()
    assert statuses(db_session) == ["completed"] * 4


def test_cron_scheduler_queues_the_sweeper_which_a_json_worker_runs(post_webhook, run_worker, settings, db_session,
                                                                     redis_conn):
    post_webhook("customers/redact", redact_body(1001))
    redis_conn.flushall()  # the job is lost
    scheduler = build_scheduler(settings)
    assert [job.func_name for job in scheduler.enqueue_jobs()] == ["workers.maintenance.sweep_pending_requests"]
    run_worker()  # runs the sweeper, which queues the lost job, which the same burst then runs
    assert statuses(db_session) == ["completed"]


def test_cron_scheduler_registers_the_sweeper_every_minute_and_queues_it_again_a_minute_later(settings, redis_conn):
    scheduler = build_scheduler(settings)
    sweeper = next(job for job in scheduler.get_jobs() if job.func_name == SWEEPER)
    assert [job.func_name for job in scheduler.enqueue_jobs()] == [SWEEPER]  # at start
    assert scheduler.enqueue_jobs() == []  # not again at once

    # The registration as RQ stores it in Redis (what `rq cron` monitoring shows): an interval, at most a minute.
    scheduler.register_birth()
    registered = next(job for job in CronScheduler.fetch(scheduler.name, redis_conn).get_jobs()
                      if job.func_name == SWEEPER)
    assert registered.cron is None and registered.interval is not None and 0 < registered.interval <= 60
    assert registered.next_enqueue_time - registered.latest_enqueue_time <= dt.timedelta(seconds=60)

    # A minute later (RQ's own record of the last run set a minute back, through its public method): due again.
    sweeper.set_enqueue_time(sweeper.latest_enqueue_time - dt.timedelta(seconds=60))
    assert [job.func_name for job in scheduler.enqueue_jobs()] == [SWEEPER]
    assert scheduler.enqueue_jobs() == []
    assert queue.get_queue(redis_conn, queue.MAINTENANCE_QUEUE).count == 2


def test_a_worker_killed_mid_job_leaves_the_request_to_be_retried(
        install_shop, post_webhook, run_worker, db_session, settings, shopify_double, tmp_path):
    install_shop()
    shopify_double.latency = 1.0  # every Shopify call takes a second: the job is still running when killed
    post_webhook("customers/data_request", load_sample("customers_data_request"))
    worker = start_worker(settings, tmp_path)
    try:
        wait_for(lambda: statuses(db_session) == ["processing"])
    finally:
        kill_worker_tree(worker)  # the worker and its work horse, mid-job
    assert statuses(db_session) == ["processing"]
    assert db_session.scalar(select(func.count()).select_from(PrivacyReport)) == 0

    shopify_double.latency = 0.0
    later = utcnow() + dt.timedelta(hours=1)  # past the longest job timeout: the job cannot still be running
    assert sweep_pending_requests(now=later)["queued"] == 1
    run_worker()
    db_session.rollback()
    privacy_request = db_session.scalars(select(PrivacyRequest)).one()
    assert privacy_request.status == "completed" and privacy_request.attempts == 2
    assert db_session.scalar(select(func.count()).select_from(PrivacyReport)) == 1


def test_expired_reports_are_purged_and_counted(install_shop, post_webhook, run_worker, db_session):
    install_shop()
    post_webhook("customers/data_request", load_sample("customers_data_request"))
    run_worker()
    assert purge_expired_data(now=utcnow() + dt.timedelta(days=29)) == {"privacy_reports": 0}
    assert purge_expired_data(now=utcnow() + dt.timedelta(days=31)) == {"privacy_reports": 1}
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(PrivacyReport)) == 0
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.purged")).one()
    assert entry.detail == {"privacy_reports": 1}


def test_a_worker_killed_mid_erase_leaves_the_request_to_be_retried(
        install_shop, post_webhook, run_worker, db_session, settings, redis_conn, tmp_path):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: holding one table is how the test catches the job mid-way")
    install_shop()
    post_webhook("customers/redact", redact_body(1001))
    # Hold a table the erase writes to, so the job is caught mid-way, after it marked the request processing.
    locker = create_engine(settings.database_url)
    connection = locker.connect()
    transaction = connection.begin()
    connection.exec_driver_sql("LOCK TABLE consent_records IN ACCESS EXCLUSIVE MODE")
    worker = start_worker(settings, tmp_path)
    try:
        wait_for(lambda: statuses(db_session) == ["processing"])
    finally:
        kill_worker_tree(worker)
        transaction.rollback()
        connection.close()
        locker.dispose()
    assert sweep_pending_requests()["queued"] == 0  # as far as Redis knows, the job may still be running
    later = utcnow() + dt.timedelta(hours=1)  # past the longest job timeout: it cannot be
    assert sweep_pending_requests(now=later)["queued"] == 1
    run_worker()
    assert statuses(db_session) == ["completed"]
    proof = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "data.erased")).one()
    assert proof.detail["counts"]["privacy_requests_anonymised"] == 1


def test_the_sweeper_reads_a_backlog_bigger_than_its_page(install_shop, db_session, redis_conn, run_worker):
    install_shop()
    shop_id = db_session.scalars(select(Shop.id)).one()
    ids = [add_request(db_session, shop_id, kind="customer_redact", customer_id=2000 + n) for n in range(5)]
    # The same instant for all (one batch of deliveries shares it): the pages are keyed on (received_at, id).
    db_session.execute(update(PrivacyRequest).values(received_at=utcnow()))
    db_session.commit()
    assert sweep_pending_requests(page_size=2) == {"pending": 5, "queued": 5}
    assert sweep_pending_requests(page_size=2) == {"pending": 5, "queued": 0}
    run_worker()
    assert statuses(db_session) == ["completed"] * len(ids)


@pytest.mark.parametrize("time_zone", ["America/New_York", "Asia/Tokyo"])
def test_the_open_requests_pages_do_not_depend_on_the_sessions_time_zone(install_shop, db_session, settings,
                                                                         time_zone):
    """Times are stored as naive UTC: a page's boundary must be compared as such, whatever the session's time
    zone (west of UTC the same page came back for ever; east of it, requests were skipped)."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no session time zone")
    install_shop()
    shop_id = db_session.scalars(select(Shop.id)).one()
    ids = [add_request(db_session, shop_id, kind="customer_redact", customer_id=2000 + n) for n in range(5)]
    db_session.execute(update(PrivacyRequest).values(received_at=utcnow()))  # one instant: pages end on ties
    db_session.commit()
    db_session.execute(text(f"SET LOCAL TIME ZONE '{time_zone}'"))  # this transaction only
    pages = itertools.islice(privacy_requests.open_requests(db_session, page_size=2), 10)
    assert [[r.id for r in page] for page in pages] == [ids[0:2], ids[2:4], ids[4:]]
    db_session.rollback()


def test_a_processing_request_whose_job_vanished_is_requeued_at_once(
        install_shop, post_webhook, db_session, redis_conn, run_worker):
    post_webhook("customers/redact", redact_body(1001))
    request = db_session.scalars(select(PrivacyRequest)).one()
    request.status = "processing"  # as a worker leaves it, just before Redis restarts empty
    request.started_at = utcnow()
    db_session.commit()
    redis_conn.flushall()
    assert sweep_pending_requests()["queued"] == 1
    run_worker()
    assert statuses(db_session) == ["completed"]
