"""Shared fixtures: a real database, a private real Redis, the Shopify double over real HTTP,
and our app served over real HTTP by a threaded WSGI server.

The database is SQLite unless ``TEST_DATABASE_URL`` is set (CI sets it to PostgreSQL).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from cryptography.fernet import Fernet
from redis import Redis
from rq.serializers import JSONSerializer
from rq.worker import SimpleWorker
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from devtools.admin_double import AdminApiDouble
from devtools.redis_server import RedisServer
from shopify_app import create_app, db, queue
from shopify_app.models import Base
from shopify_app.settings import Settings
from tests.engines import app_engines
from tests.signing import API_KEY, API_SECRET, PREVIOUS_SECRET
from workers import context

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright never downloads a browser here
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DEMO_SHOP = "demo-shop.myshopify.com"
OTHER_SHOP = "other-shop.myshopify.com"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.downgrade(config, "base")  # a clean slate, and proof that downgrades work
    command.upgrade(config, "head")
    return url


@pytest.fixture(autouse=True)
def clean_database(database_url: str) -> Iterator[None]:
    yield
    engine = db.get_engine(database_url)
    with engine.begin() as connection:
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        if engine.dialect.name == "postgresql":
            # A session a test left open in a transaction would block TRUNCATE for ever: fail loudly instead.
            connection.execute(text("SET LOCAL lock_timeout = '15s'"))
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def fresh_connections(database_url: str) -> None:
    """Pools with no connection a server has closed. Tests that count statements need it: earlier tests
    (tests/faults) kill connections, and the group-commit writers rightly retry a statement once on a
    new connection, which would count twice."""
    for engine in app_engines(database_url):
        engine.dispose()


@pytest.fixture
def db_session(database_url: str) -> Iterator[Session]:
    # Unlike the app's sessions, this one expires on commit, so a test always reads what the app wrote.
    session = sessionmaker(bind=db.get_engine(database_url))()
    yield session
    session.rollback()
    session.close()


@pytest.fixture(scope="session")
def chromium():  # type: ignore[no-untyped-def]
    """One headless Chromium for the whole run: Playwright's sync API allows one instance per thread."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    # A private server, so tests may stop and restart it without touching anyone else's.
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_conn(redis_server: RedisServer) -> Iterator[Redis]:
    if redis_server.process is None:
        redis_server.start()
    connection = queue.connect(redis_server.url)
    connection.flushall()
    yield connection
    connection.close()


@pytest.fixture
def shopify_double() -> Iterator[AdminApiDouble]:
    with AdminApiDouble(API_KEY, API_SECRET) as double:
        yield double
        assert double.validation_errors == [], "the app sent a GraphQL document the schema rejects"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_server: RedisServer, shopify_double: AdminApiDouble) -> Settings:
    return Settings(
        api_key=API_KEY,
        api_secret=API_SECRET,
        api_secret_previous=PREVIOUS_SECRET,
        token_encryption_key=Fernet.generate_key().decode(),
        database_url=database_url,
        redis_url=redis_server.url,
        shop_url_template=shopify_double.shop_url_template,
        instance_path=tmp_path / "instance",
        shopify_timeout_seconds=2.0,
        shopify_retry_base_delay=0.01,
        job_retry_intervals=(0, 0),
    )


@pytest.fixture
def app(settings: Settings, redis_conn: Redis):  # type: ignore[no-untyped-def]
    context.configure(settings)  # the in-process worker uses the same settings
    application = create_app(settings)
    application.config["TESTING"] = True
    return application


@contextlib.contextmanager
def serving(application) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """``application`` over real HTTP on a free port, in a thread: its base URL."""
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with serving(app) as url:
        yield url


@pytest.fixture
def client(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=10, follow_redirects=False) as http:
        yield http


@pytest.fixture
def run_worker(settings: Settings, redis_conn: Redis):  # type: ignore[no-untyped-def]
    """Run every queued job with a real RQ worker in burst mode, in this process (with other settings than the
    app's if given: a worker machine configured otherwise)."""

    def run(settings_of_jobs: Settings | None = None) -> None:
        context.configure(settings_of_jobs or settings)
        queues = [queue.get_queue(redis_conn, name) for name in queue.QUEUE_NAMES]
        SimpleWorker(queues, connection=redis_conn, serializer=JSONSerializer).work(burst=True, logging_level="WARNING")

    return run


def load_sample(name: str) -> bytes:
    return (ROOT / "tests" / "samples" / f"{name}.json").read_bytes()


@pytest.fixture
def install_shop(client: httpx.Client):  # type: ignore[no-untyped-def]
    """Open the embedded app as a shop's admin would, which runs token exchange against the double."""
    from tests.signing import make_session_token

    def install(shop: str = DEMO_SHOP) -> httpx.Response:
        response = client.get("/", params={"shop": shop, "host": "aG9zdA", "embedded": "1",
                                           "id_token": make_session_token(shop)})
        assert response.status_code == 200, response.text
        return response

    return install


@pytest.fixture
def post_webhook(client: httpx.Client):  # type: ignore[no-untyped-def]
    from tests.signing import webhook_headers

    def post(topic: str, body: bytes, *, shop: str = DEMO_SHOP, **header_options: str) -> httpx.Response:
        return client.post(f"/webhooks/{topic}", content=body, headers=webhook_headers(topic, body, shop=shop,
                                                                                       **header_options))

    return post
