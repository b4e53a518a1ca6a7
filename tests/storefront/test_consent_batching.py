"""Group commit of consent proofs over real HTTP: concurrent posts share one INSERT and one COMMIT.

The app is served by the tests' threaded server, one thread per request, like gunicorn's gthread
workers. To make a batch of many records certain (rather than likely), the first batch is held in
the database layer until every other request is waiting in the writer's queue; the next batch then
takes them all.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from shopify_app.models import ConsentRecord
from shopify_app.services.consent import ConsentInput
from shopify_app.services.consent_writer import ConsentWriteFailed
from shopify_app.web import storefront
from shopify_app.web.in_front import InFront
from tests.engines import listening
from tests.waiting import wait_for
from tests.web.test_storefront import consent_body, proxy_query

REQUESTS = 24
INSERT = "INSERT INTO consent_records"


# Batches are counted by statement: start from pools with no dead connection (see the fixture).
pytestmark = pytest.mark.usefixtures("fresh_connections")

def hold_first_insert_until_all_queue(app, inserts: list[int]) -> Callable[..., None]:  # type: ignore[no-untyped-def]
    """A ``before_cursor_execute`` listener: counts the records of each INSERT; the first waits for the others."""
    writer = storefront.consent_writer(app)

    def listener(_conn, _cursor, statement, parameters, _context, executemany) -> None:  # type: ignore[no-untyped-def]
        if INSERT not in statement:
            return
        if executemany:  # SQLite: one set of parameters per row
            inserts.append(len(parameters))
        elif isinstance(parameters[0], str):  # PostgreSQL: one JSON array of rows
            inserts.append(len(json.loads(parameters[0])))
        else:  # SQLite, a single row
            inserts.append(1)
        if len(inserts) == 1:
            wait_for(lambda: writer.waiting() == REQUESTS - 1, timeout=30, interval=0.01)

    return listener


def post_all(live_server: str, visitors: list[str]) -> list[httpx.Response]:
    def post(visitor: str) -> httpx.Response:
        with httpx.Client(base_url=live_server, timeout=60) as http:
            return http.post(f"/proxy/consent?{proxy_query()}", content=json.dumps(consent_body(visitor_id=visitor)),
                             headers={"Content-Type": "application/json"})

    with ThreadPoolExecutor(max_workers=len(visitors)) as pool:
        return list(pool.map(post, visitors))


def stored_visitors(db_session) -> list[str]:
    db_session.rollback()
    return sorted(db_session.scalars(select(ConsentRecord.visitor_id)).all())


def test_concurrent_posts_share_one_insert_and_each_is_stored_exactly_once(app, live_server, install_shop, db_session,
                                                                           database_url):
    install_shop()
    visitors = [f"visitor-{uuid.uuid4().hex}" for _ in range(REQUESTS)]
    inserts: list[int] = []
    with listening(database_url, "before_cursor_execute", hold_first_insert_until_all_queue(app, inserts)):
        responses = post_all(live_server, visitors)
    assert [r.status_code for r in responses] == [204] * REQUESTS
    assert inserts == [1, REQUESTS - 1]  # the first request alone, then all the others in one statement
    assert stored_visitors(db_session) == sorted(visitors)  # each once, none lost, none twice


@pytest.fixture
def failing_inserts(database_url: str, db_session) -> Iterator[Callable[..., None] | None]:
    """Every INSERT of consent records fails once all its rows are written, before its COMMIT.

    PostgreSQL: a statement-level AFTER INSERT trigger raises ``admin_shutdown`` (what a server going
    down says), so the rows are in and the statement fails as a whole. SQLite (no statement triggers):
    an ``after_cursor_execute`` listener raises once the executemany INSERT has run in the open
    transaction. Yields that listener, or None when the trigger does the work.
    """
    if database_url.startswith("postgresql"):
        db_session.execute(text(
            "CREATE FUNCTION consent_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'injected failure' USING ERRCODE = 'admin_shutdown'; END $$"))
        db_session.execute(text("CREATE TRIGGER consent_test_fail AFTER INSERT ON consent_records "
                                "FOR EACH STATEMENT EXECUTE FUNCTION consent_test_fail()"))
        db_session.commit()
        try:
            yield None
        finally:
            db_session.rollback()
            db_session.execute(text("DROP TRIGGER consent_test_fail ON consent_records"))
            db_session.execute(text("DROP FUNCTION consent_test_fail()"))
            db_session.commit()
        return

    def fail_after_insert(_conn, _cursor, statement, parameters, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
        if INSERT in statement:
            raise OperationalError(statement, parameters, Exception("injected failure"))

    yield fail_after_insert


def test_a_batch_that_cannot_be_committed_answers_503_to_each_request_and_stores_nothing(
        app, live_server, client, install_shop, db_session, database_url, failing_inserts):
    install_shop()
    visitors = [f"visitor-{uuid.uuid4().hex}" for _ in range(REQUESTS)]
    inserts: list[int] = []
    with listening(database_url, "before_cursor_execute", hold_first_insert_until_all_queue(app, inserts)):
        if failing_inserts is not None:
            with listening(database_url, "after_cursor_execute", failing_inserts):
                responses = post_all(live_server, visitors)
        else:
            responses = post_all(live_server, visitors)
    assert inserts == [1, REQUESTS - 1]
    assert [r.status_code for r in responses] == [503] * REQUESTS  # so the storefront sends each one again
    assert all(r.headers["Retry-After"] == "5" for r in responses)
    assert stored_visitors(db_session) == []  # nothing half-stored


def test_the_writer_recovers_after_a_failed_batch(app, client, install_shop, db_session, database_url):
    install_shop()

    def fail(_conn, _cursor, statement, parameters, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
        if INSERT in statement:
            raise OperationalError(statement, parameters, Exception("injected failure"))

    body = json.dumps(consent_body(visitor_id="visitor-retried")).encode()
    with listening(database_url, "before_cursor_execute", fail):
        first = client.post(f"/proxy/consent?{proxy_query()}", content=body)
    assert first.status_code == 503
    again = client.post(f"/proxy/consent?{proxy_query()}", content=body)  # what the banner does next
    assert again.status_code == 204
    assert stored_visitors(db_session) == ["visitor-retried"]


def test_rate_limits_hold_within_one_batch(app, live_server, install_shop, db_session, database_url):
    """21 posts from one visitor in the same batch: 20 stored, the 21st refused, as one by one."""
    install_shop()
    visitor = f"visitor-{uuid.uuid4().hex}"
    inserts: list[int] = []
    with listening(database_url, "before_cursor_execute", hold_first_insert_until_all_queue(app, inserts)):
        responses = post_all(live_server, [visitor] * REQUESTS)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [204] * 20 + [429] * (REQUESTS - 20)
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(ConsentRecord)) == 20


def test_the_endpoint_is_served_in_front_of_flask_with_the_same_answers(app, client, install_shop):
    """Every POST to /proxy/consent is answered before Flask; Flask's own route gives the same answers."""
    install_shop()
    in_front = app.wsgi_app
    assert isinstance(in_front, InFront) and in_front.endpoint_for(
        {"REQUEST_METHOD": "POST", "PATH_INFO": "/proxy/consent"}) is storefront.answer_consent
    flask_only = in_front.wsgi_app  # the Flask app behind it
    environ_client = app.test_client()
    for query, body, status in [(proxy_query(), consent_body(), 204), ("shop=x", consent_body(), 401),
                                (proxy_query(), {"visitor_id": "x"}, 400),
                                (proxy_query("nobody.myshopify.com"), consent_body(), 404)]:
        through_endpoint = client.post(f"/proxy/consent?{query}", content=json.dumps(body))
        app.wsgi_app = flask_only
        try:
            through_flask = environ_client.post(f"/proxy/consent?{query}", data=json.dumps(body))
        finally:
            app.wsgi_app = in_front
        assert through_endpoint.status_code == through_flask.status_code == status
        assert through_endpoint.text == through_flask.get_data(as_text=True)
        for header in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"):
            assert through_endpoint.headers[header] == through_flask.headers[header]
    assert client.get(f"/proxy/consent?{proxy_query()}").status_code == 405  # other methods: Flask, as before


def test_a_thread_waiting_in_the_queue_is_woken_even_if_the_leader_fails_unexpectedly(app, database_url, install_shop,
                                                                                      db_session):
    """Whatever the leader meets (not only database errors), no request is left waiting for ever."""
    install_shop()
    writer = storefront.consent_writer(app)
    started = threading.Event()

    def bug(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
        # A RuntimeError, not a DBAPIError: SQLAlchemy passes it on unwrapped, so it escapes the writer's
        # handling of database errors and reaches the batching itself, as a bug in our code would.
        if INSERT not in statement:
            return
        if not started.is_set():  # the first batch waits for the two others to queue behind it
            started.set()
            wait_for(lambda: writer.waiting() == 2, timeout=30, interval=0.01)
        raise RuntimeError("bug")

    record = ConsentInput.from_body(json.dumps(consent_body()).encode())
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            writer.submit("demo-shop.myshopify.com", record)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(3)]
    with listening(database_url, "before_cursor_execute", bug):
        threads[0].start()
        assert started.wait(timeout=30)
        for thread in threads[1:]:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert len(errors) == 3 and all(isinstance(e, ConsentWriteFailed) for e in errors)
    assert writer.waiting() == 0
    assert stored_visitors(db_session) == []
