"""Browser fixtures for the admin tests: Debian's Chromium driven by Playwright, offline but for 127.0.0.1.

Every request that does not go to 127.0.0.1 is aborted, so Shopify's CDN (App Bridge)
is unreachable, as it may be for a merchant: the pages must work on their own. The
script then falls back to the page's own ``id_token`` (see ``static/admin/admin.js``).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode, urlparse

import pytest

from tests.browser import guard_network

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def admin_browser(chromium):  # type: ignore[no-untyped-def]
    return chromium  # the session's one browser (tests/conftest.py)


@pytest.fixture
def left_the_machine() -> list[str]:
    return []


@pytest.fixture
def page(admin_browser, left_the_machine):
    context = admin_browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(8000)

    guard_network(context, left_the_machine)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    # Only App Bridge was asked for, and refused: the pages load nothing else from outside.
    assert {urlparse(u).netloc + urlparse(u).path for u in left_the_machine} <= {
        "cdn.shopify.com/shopifycloud/app-bridge.js"}


@pytest.fixture
def open_admin(page, live_server):
    """Load an admin page as Shopify admin would: a fresh session token in the query."""
    from tests.admin.factories import page_params
    from tests.conftest import DEMO_SHOP

    def open_(path: str, *, shop: str = DEMO_SHOP, locale: str | None = None,  # type: ignore[no-untyped-def]
              **params: str):
        response = page.goto(f"{live_server}{path}?{urlencode(page_params(shop, locale, **params))}")
        return response

    return open_


def axe_serious(page) -> list[dict]:  # type: ignore[no-untyped-def]
    if not AXE.exists():
        pytest.skip("node_modules missing: run `npm ci` to install axe-core")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ['violations'] })).violations
            .map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')) }))"""
    )
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)


@pytest.fixture(scope="session")
def ui():
    """Helpers for the browser tests (a fixture, so test modules never import conftest)."""
    from types import SimpleNamespace

    return SimpleNamespace(axe_serious=axe_serious, screenshot=screenshot)
