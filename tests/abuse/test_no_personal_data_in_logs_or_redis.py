"""After a full run, neither the logs nor Redis hold an email, a phone number or an address in clear."""

from __future__ import annotations

import logging

from shopify_app import queue
from shopify_app.models import RequestKind
from tests.conftest import load_sample

PERSONAL_DATA = ["camille", "dubois", "@example.fr", "+33612345678", "0612345678", "rue oberkampf", "de l'opéra"]


def redis_dump(redis_conn) -> str:
    chunks = []
    for key in redis_conn.scan_iter(count=500):
        kind = redis_conn.type(key).decode()
        chunks.append(key.decode(errors="replace"))
        if kind == "string":
            chunks.append(repr(redis_conn.get(key)))
        elif kind == "hash":
            chunks.append(repr(redis_conn.hgetall(key)))
        elif kind == "list":
            chunks.append(repr(redis_conn.lrange(key, 0, -1)))
        elif kind == "set":
            chunks.append(repr(redis_conn.smembers(key)))
        elif kind == "zset":
            chunks.append(repr(redis_conn.zrange(key, 0, -1)))
        elif kind == "stream":
            chunks.append(repr(redis_conn.xrange(key)))
    return "\n".join(chunks).lower()


def test_a_full_run_leaves_no_personal_data_in_logs_or_redis(caplog, install_shop, post_webhook, run_worker,
                                                              redis_conn, shopify_double, settings):
    caplog.set_level(logging.DEBUG)
    install_shop()
    shopify_double.fail_next("500", times=1)  # the retry path logs too
    post_webhook("customers/data_request", load_sample("customers_data_request"))
    post_webhook("customers/data_request", b"{not json")  # and a rejected one
    run_worker()
    post_webhook("customers/redact", load_sample("customers_redact"))
    run_worker()
    post_webhook("shop/redact", load_sample("shop_redact"))
    run_worker()
    # Finished jobs leave Redis at once (queue.RESULT_TTL_SECONDS): queue one more as the sweeper would, so
    # RQ's job records are inspected too.
    assert queue.enqueue_privacy_request(redis_conn, settings, 1, RequestKind.DATA_REQUEST)

    logs = "\n".join(f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records).lower()
    stored = redis_dump(redis_conn)
    assert "privacy-request-" in stored  # the dump did read RQ's keys
    for value in PERSONAL_DATA:
        assert value not in logs, f"{value!r} appears in the logs"
        assert value not in stored, f"{value!r} appears in Redis"
