"""The app as deployed: shopify.app.toml matches the routes, and the Procfile's web line boots."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import httpx
from cryptography.fernet import Fernet

from devtools.redis_server import free_port
from shopify_app.platform.topics import Topic
from shopify_app.settings import ACCESS_SCOPES, API_VERSION
from tests.conftest import ROOT
from tests.waiting import wait_for

TOML = tomllib.loads((ROOT / "shopify.app.toml").read_text())


def test_every_subscribed_topic_has_a_route(app):
    rules = {rule.rule: rule for rule in app.url_map.iter_rules()}
    assert "/webhooks/<path:topic>" in rules or "/webhooks/<topic>" in rules
    subscriptions = TOML["webhooks"]["subscriptions"]
    declared = {topic: sub["uri"] for sub in subscriptions for topic in sub.get("topics", []) + sub.get(
        "compliance_topics", [])}
    assert set(declared) == {topic.value for topic in Topic}
    for topic, uri in declared.items():
        assert uri == f"/webhooks/{topic}"
        adapter = app.url_map.bind("localhost")
        assert adapter.match(uri, method="POST")[0] == "webhooks.receive"
    compliance = {t for sub in subscriptions for t in sub.get("compliance_topics", [])}
    assert compliance == {"customers/data_request", "customers/redact", "shop/redact"}


def test_toml_declares_what_the_code_uses():
    assert TOML["embedded"] is True
    assert TOML["webhooks"]["api_version"] == API_VERSION
    assert set(TOML["access_scopes"]["scopes"].split(",")) == set(ACCESS_SCOPES)
    proxy = TOML["app_proxy"]
    assert (proxy["prefix"], proxy["subpath"]) == ("apps", "privacy") and proxy["url"].endswith("/proxy")
    assert all(url.endswith("/auth/callback") for url in TOML["auth"]["redirect_urls"])


def test_the_procfile_web_line_boots_under_plain_gunicorn(database_url, redis_server, tmp_path):
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert set(procfile) >= {"release", "web", "worker"}
    port = free_port()
    venv_bin = os.path.dirname(sys.executable)  # where pip put gunicorn
    env = {"PATH": f"{venv_bin}:{os.environ['PATH']}", "PORT": str(port), "SHOPIFY_API_KEY": "key", "SHOPIFY_API_SECRET": "s" * 32,
           "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(), "DATABASE_URL": database_url,
           "REDIS_URL": redis_server.url, "INSTANCE_PATH": str(tmp_path), "WEB_CONCURRENCY": "1"}
    # The Procfile line as a shell would run it, with only these variables set.
    server = subprocess.Popen(["/bin/sh", "-c", f"exec {procfile['web']}"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def answers() -> bool:
            assert server.poll() is None, "gunicorn exited"
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(answers, timeout=30, interval=0.2)
        response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert response.status_code == 200 and response.json()["database"] is True
    finally:
        server.terminate()
        server.wait(timeout=15)
