"""The request page in a real browser, inside a storefront-like page, and a request that goes all the way through.

Shopify's side is played by a small server on 127.0.0.1 that does what the app proxy does:
it forwards ``/apps/privacy/*`` to the app's ``/proxy/*`` with the signed query (``shop``,
``logged_in_customer_id``, ``path_prefix``, ``timestamp``, ``signature``), drops cookies, and
puts an ``application/liquid`` answer inside the theme's layout. Liquid itself is not
available here, so the answer's few Liquid tags are rendered as Shopify renders them for a
guest (``{% if customer %}…{% endif %}`` is empty); everything else in the answer is HTML.
Chromium is Debian's (``/usr/bin/chromium``); every request that does not go to 127.0.0.1 is aborted.
"""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy import select

from shopify_app.models import PrivacyRequest
from tests.conftest import DEMO_SHOP
from tests.signing import sign_proxy_query
from tests.browser import guard_network
from tests.storefront.helpers import link_in, outbox

pytestmark = pytest.mark.browser

LAYOUT = """<!doctype html><html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Le Petit Lunetier</title></head>
<body style="margin:0;font:16px/1.5 Georgia,serif">
<header id="theme-header"><a href="/">Le Petit Lunetier</a></header>
<main id="MainContent">{content}</main>
<footer id="theme-footer"><a href="/apps/privacy">Vos données personnelles</a></footer>
</body></html>"""


def render_liquid_for_a_guest(source: str) -> str:
    """The Liquid the app sends, as Shopify renders it for a visitor who is not logged in."""
    source = re.sub(r"\{%\s*if customer\s*%\}.*?\{%\s*endif\s*%\}", "", source, flags=re.S)
    assert "{{" not in source and "{%" not in source, "unexpected Liquid in the app's answer"
    return source


def make_storefront(app_url: str) -> type[BaseHTTPRequestHandler]:
    class Storefront(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

        def _forward(self, method: str) -> None:
            url = urlsplit(self.path)
            if not url.path.startswith("/apps/privacy"):
                self.send_response(404)
                self.end_headers()
                return
            pairs = parse_qsl(url.query, keep_blank_values=True)
            pairs += [("shop", DEMO_SHOP), ("logged_in_customer_id", ""), ("path_prefix", "/apps/privacy"),
                      ("timestamp", str(int(time.time())))]
            target = f"{app_url}/proxy{url.path[len('/apps/privacy'):]}?{sign_proxy_query(pairs)}"
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else None
            headers = {"X-Forwarded-For": "203.0.113.50", "Accept-Language": self.headers.get("Accept-Language", "")}
            if body is not None:
                headers["Content-Type"] = self.headers.get("Content-Type", "")
            answer = httpx.request(method, target, content=body, headers=headers, timeout=10)
            content = answer.content
            content_type = answer.headers.get("content-type", "text/plain")
            if content_type.startswith("application/liquid"):
                content = LAYOUT.format(content=render_liquid_for_a_guest(answer.text)).encode()
                content_type = "text/html; charset=utf-8"
            self.send_response(answer.status_code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def do_GET(self) -> None:
            self._forward("GET")

        def do_POST(self) -> None:
            self._forward("POST")

    return Storefront


@pytest.fixture
def storefront(live_server):
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_storefront(live_server))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def in_browser(chromium):
    """``in_browser(scenario)`` runs ``scenario(page)`` in a fresh French-locale tab that may only reach 127.0.0.1.

    ``chromium`` is the run's one browser (``tests/conftest.py``).
    """

    def run(scenario):
        context = chromium.new_context(viewport={"width": 1100, "height": 900}, locale="fr-FR")
        context.set_default_timeout(5000)
        blocked: list[str] = []
        guard_network(context, blocked)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda e: errors.append(str(e)))
        try:
            scenario(tab)
        finally:
            context.close()
        assert not errors, f"JavaScript errors on the page: {errors}"
        assert not blocked, f"requests left 127.0.0.1: {blocked}"

    return run


def test_a_guest_asks_for_erasure_in_the_theme_and_confirms_by_email(in_browser, storefront, install_shop, settings,
                                                                     db_session):
    install_shop()
    in_browser(lambda page: ask_for_erasure(page, storefront, settings))
    db_session.rollback()
    request = db_session.scalars(select(PrivacyRequest)).one()
    assert (request.kind, request.status, request.customer_email) == ("erasure", "received", "zoe.martin@example.org")


def ask_for_erasure(page, storefront: str, settings) -> None:
    page.goto(f"{storefront}/apps/privacy")
    assert page.locator("#theme-header").is_visible() and page.locator("#theme-footer").is_visible()
    form = page.locator("#MainContent form")
    assert page.get_by_role("heading", name="Vos droits sur vos données").is_visible()
    correction, channel = page.locator("#pc-correction"), page.locator("#pc-channel")
    assert not correction.is_visible() and not channel.is_visible()  # shown only for their right
    page.get_by_label("Corriger mes données").check()
    assert correction.is_visible() and not channel.is_visible()
    page.get_by_label("Ne plus recevoir de prospection").check()
    assert channel.is_visible() and not correction.is_visible()

    page.get_by_label("Effacer mes données").check()
    page.get_by_label("Votre adresse e-mail").fill("zoe.martin@example.org")
    page.get_by_label("Message (facultatif)").fill("Merci de supprimer mon compte {{ shop.name }}.")
    with page.expect_navigation():
        form.get_by_role("button", name="Envoyer ma demande").click()
    assert page.get_by_role("heading", name="Consultez votre messagerie").is_visible()
    assert page.locator("#theme-header").is_visible()

    [message] = outbox(settings)
    link = link_in(message).replace(f"https://{DEMO_SHOP}", storefront)
    page.goto(link)
    assert page.get_by_role("heading", name="Confirmez votre demande").is_visible()
    assert "effacer mes données" in page.locator("#MainContent").inner_text()
    with page.expect_navigation():
        page.get_by_role("button", name="Confirmer ma demande").click()
    assert page.get_by_role("heading", name="Demande confirmée").is_visible()
    page.goto(link)  # a second time: used
    assert page.get_by_role("heading", name="Lien non valide").is_visible()


def test_the_browser_checks_the_form_before_it_is_sent(in_browser, storefront, install_shop, settings):
    install_shop()

    def scenario(page) -> None:
        page.goto(f"{storefront}/apps/privacy?locale=en")
        page.get_by_label("Correct my data").check()
        page.get_by_label("Your email address").fill("zoe.martin@example.org")
        page.get_by_role("button", name="Send my request").click()
        # The correction is required for a rectification: the browser stops the form, nothing is sent.
        assert page.evaluate("document.getElementById('pc-correction').validity.valueMissing")

    in_browser(scenario)
    assert outbox(settings) == []
