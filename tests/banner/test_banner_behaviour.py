"""Behaviour of the storefront consent banner in real headless Chromium."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ALL = {"analytics": True, "marketing": True, "preferences": True, "sale_of_data": True}
NONE = {"analytics": False, "marketing": False, "preferences": False, "sale_of_data": False}
ONLY_ANALYTICS = {"analytics": True, "marketing": False, "preferences": False, "sale_of_data": False}


def gcm(analytics: bool, marketing: bool) -> dict:
    a = "granted" if analytics else "denied"
    m = "granted" if marketing else "denied"
    return {"analytics_storage": a, "ad_storage": m, "ad_user_data": m, "ad_personalization": m}


DEFAULT = {"ad_storage": "denied", "analytics_storage": "denied", "ad_user_data": "denied",
           "ad_personalization": "denied", "wait_for_update": 500}


def expected_post(bt, action, choices, lang="fr", gpc=False, revision=3):
    cfg = bt.sample_config()
    return {"action": action, "choices": choices, "revision": revision, "text_hash": cfg["textHash"],
            "language": lang, "gpc": gpc, "page": bt.PAGE_PATH}


def check_post(bt, body, action, choices, **kw):
    visitor = body.pop("visitor_id")
    assert str(uuid.UUID(visitor)) == visitor
    assert body == expected_post(bt, action, choices, **kw)
    return visitor


def flags(page) -> tuple:
    return tuple(page.evaluate("[window.__analyticsRan || 0, window.__marketingRan || 0]"))


def banner(page):
    return page.locator("#pc-banner")


def dialog(page):
    return page.get_by_role("dialog")


def open_fresh(page, server, **query):
    page.goto(server.url(**query))
    expect(banner(page)).to_be_visible()


# ------------------------------------------------------------------ first layer


def test_banner_shows_in_french(page, server, bt):
    open_fresh(page, server, lang="fr")
    region = page.get_by_role("region", name="Votre vie privée")
    expect(region).to_be_visible()
    for name in ("Tout accepter", "Tout refuser", "Personnaliser", "Fermer (refuser)"):
        expect(region.get_by_role("button", name=name)).to_be_visible()
    expect(region.get_by_role("link", name="Politique de confidentialité")).to_have_attribute(
        "href", "/policies/privacy-policy")
    assert bt.rec(page)["features"] == [{"name": "consent-tracking-api", "version": "0.1"}]


def test_banner_shows_in_english(page, server):
    open_fresh(page, server, lang="en-GB")
    region = page.get_by_role("region", name="Your privacy")
    for name in ("Accept all", "Reject all", "Customize", "Close (refuse)"):
        expect(region.get_by_role("button", name=name)).to_be_visible()


def test_accept_and_reject_have_equal_weight(page, server):
    open_fresh(page, server, lang="fr")
    props = ["fontSize", "fontWeight", "fontFamily", "color", "backgroundColor", "borderTopWidth",
             "borderTopColor", "paddingTop", "paddingLeft", "borderRadius"]
    styles = [page.get_by_role("button", name=n).evaluate(
        "(el, props) => props.map(p => getComputedStyle(el)[p])", props) for n in ("Tout accepter", "Tout refuser")]
    assert styles[0] == styles[1]
    boxes = [page.get_by_role("button", name=n).bounding_box() for n in ("Tout accepter", "Tout refuser")]
    assert abs(boxes[0]["width"] - boxes[1]["width"]) <= 1 and abs(boxes[0]["height"] - boxes[1]["height"]) <= 1


def test_nothing_runs_before_consent_and_browsing_is_not_consent(page, server, bt, context):
    open_fresh(page, server, lang="fr")
    assert flags(page) == (0, 0)
    assert bt.consent_calls(page, "default") == [DEFAULT]
    assert bt.consent_calls(page, "update") == []
    page.mouse.wheel(0, 1500)
    page.wait_for_function("window.scrollY > 0")
    page.get_by_role("link", name="Other product").click()
    page.wait_for_url("**/products/other")
    expect(banner(page)).to_be_visible()
    assert flags(page) == (0, 0)
    assert bt.rec(page)["stc"] == [] and server.posts == []
    assert bt.stored_consent(context) is None
    # the marketing script was never even requested
    assert bt.consent_calls(page, "update") == []


def test_banner_is_fixed_overlay_without_layout_shift(browser, server, bt):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    blocked: list = []
    bt.guard_network(ctx, blocked)
    p = ctx.new_page()
    p.add_init_script("""
      window.__cls = 0; window.__lcp = [];
      new PerformanceObserver(l => l.getEntries().forEach(e => { if (!e.hadRecentInput) window.__cls += e.value; }))
        .observe({ type: 'layout-shift', buffered: true });
      new PerformanceObserver(l => l.getEntries().forEach(e => window.__lcp.push(e.element)))
        .observe({ type: 'largest-contentful-paint', buffered: true });
    """)
    try:
        p.goto(server.url(lang="fr"))
        expect(p.locator("#pc-banner")).to_be_visible()
        p.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        assert p.locator("#pc-banner").evaluate("el => getComputedStyle(el).position") == "fixed"
        assert p.evaluate("window.__cls") == 0
        assert p.evaluate("window.__lcp.length") > 0
        assert p.evaluate("window.__lcp.every(el => !el || !el.closest('#pc-banner, .pc-o'))")
        assert blocked == []
    finally:
        ctx.close()


# ------------------------------------------------------------------ choices


def test_accept_all(page, server, bt, context):
    open_fresh(page, server, lang="fr")
    body = bt.post_after(page, lambda: page.get_by_role("button", name="Tout accepter").click())
    visitor = check_post(bt, body, "accept_all", ALL)
    assert bt.wait_tracking_calls(page, 1) == [ALL]
    assert bt.consent_calls(page, "update") == [gcm(True, True)]
    page.wait_for_function("window.__analyticsRan === 1 && window.__marketingRan === 1")
    expect(banner(page)).to_have_count(0)
    expect(page.get_by_role("button", name="Paramètres des cookies")).to_be_visible()
    stored = bt.stored_consent(context)
    c = stored["cookie"]
    assert c["sameSite"] == "Lax" and c["path"] == "/" and c["secure"] is False
    assert abs(c["expires"] - (time.time() + 182 * 86400)) < 120
    v = stored["value"]
    assert v["id"] == visitor and v["rev"] == 3 and v["c"] == ALL and v["gpc"] is False
    assert abs(v["ts"] / 1000 - time.time()) < 60
    assert server.posts == [dict(body, visitor_id=visitor)]


def test_reject_all(page, server, bt, context):
    open_fresh(page, server, lang="fr")
    body = bt.post_after(page, lambda: page.get_by_role("button", name="Tout refuser").click())
    check_post(bt, body, "reject_all", NONE)
    assert bt.wait_tracking_calls(page, 1) == [NONE]
    assert bt.consent_calls(page, "update") == [gcm(False, False)]
    assert flags(page) == (0, 0)
    assert bt.stored_consent(context)["value"]["c"] == NONE


def test_customize_only_analytics(page, server, bt):
    open_fresh(page, server, lang="fr")
    page.get_by_role("button", name="Personnaliser").click()
    dlg = dialog(page)
    expect(dlg).to_be_visible()
    expect(dlg).to_have_attribute("aria-modal", "true")
    expect(dlg).to_have_accessible_name("Paramètres des cookies")
    necessary = dlg.get_by_role("switch", name="Strictement nécessaires")
    expect(necessary).to_be_checked()
    expect(necessary).to_be_disabled()
    for name in ("Mesure d’audience", "Publicité", "Préférences"):
        sw = dlg.get_by_role("switch", name=name)
        expect(sw).not_to_be_checked()
        expect(sw).to_be_enabled()
    # every cookie of the configuration is listed with its purpose and lifetime (French)
    for cat in bt.sample_config()["categories"]:
        for ck in cat["cookies"]:
            row = dlg.locator("tr", has=page.locator("td", has_text=ck["name"])).first
            expect(row).to_contain_text(ck["purpose"]["fr"])
            expect(row).to_contain_text(ck["lifetime"]["fr"])
    dlg.get_by_role("switch", name="Mesure d’audience").check()
    body = bt.post_after(page, lambda: dlg.get_by_role("button", name="Enregistrer mes choix").click())
    check_post(bt, body, "custom", ONLY_ANALYTICS)
    assert bt.wait_tracking_calls(page, 1) == [ONLY_ANALYTICS]
    assert bt.consent_calls(page, "update") == [gcm(True, False)]
    page.wait_for_function("window.__analyticsRan === 1")
    assert flags(page) == (1, 0)
    expect(dialog(page)).to_have_count(0)
    expect(banner(page)).to_have_count(0)


def test_close_button_counts_as_refusal(page, server, bt):
    open_fresh(page, server, lang="en")
    body = bt.post_after(page, lambda: page.get_by_role("button", name="Close (refuse)").click())
    check_post(bt, body, "close", NONE, lang="en")
    assert bt.wait_tracking_calls(page, 1) == [NONE]
    assert bt.consent_calls(page, "update") == [gcm(False, False)]
    assert flags(page) == (0, 0)
    expect(banner(page)).to_have_count(0)


# ------------------------------------------------------------------ persistence


def test_reload_keeps_choice_and_reactivates_allowed_scripts(page, server, bt):
    open_fresh(page, server, lang="fr")
    page.get_by_role("button", name="Personnaliser").click()
    dialog(page).get_by_role("switch", name="Mesure d’audience").check()
    bt.post_after(page, lambda: dialog(page).get_by_role("button", name="Enregistrer mes choix").click())
    page.reload()
    expect(page.get_by_role("button", name="Paramètres des cookies")).to_be_visible()
    expect(banner(page)).to_have_count(0)
    page.wait_for_function("window.__analyticsRan === 1")
    assert flags(page) == (1, 0)
    assert bt.consent_calls(page, "update") == [gcm(True, False)]
    assert bt.rec(page)["stc"] == []  # Shopify already has the choice: no new call, no new proof
    assert len(server.posts) == 1


def test_revision_bump_asks_again(page, server, bt):
    open_fresh(page, server, lang="fr", rev=3)
    bt.post_after(page, lambda: page.get_by_role("button", name="Tout accepter").click())
    page.goto(server.url(lang="fr", rev=4))
    expect(banner(page)).to_be_visible()
    assert flags(page) == (0, 0)
    assert bt.consent_calls(page, "update") == []
    body = bt.post_after(page, lambda: page.get_by_role("button", name="Tout refuser").click())
    check_post(bt, body, "reject_all", NONE, revision=4)


def _cookie(server, value: dict) -> dict:
    return {"name": "pc_consent", "value": quote(json.dumps(value)), "url": server.base}


def test_expired_choice_asks_again(page, server, bt, context):
    old = int((time.time() - 183 * 86400) * 1000)
    context.add_cookies([_cookie(server, {"id": str(uuid.uuid4()), "rev": 3, "ts": old, "c": ALL, "gpc": False})])
    open_fresh(page, server, lang="fr")
    assert flags(page) == (0, 0)
    assert bt.consent_calls(page, "update") == []


def test_should_show_banner_false_hides_banner_but_honours_stored_choice(page, server, bt, context):
    page.goto(server.url(lang="fr", show="0"))
    page.wait_for_function("window.__rec.ssb > 0")
    expect(banner(page)).to_have_count(0)
    assert flags(page) == (0, 0) and bt.consent_calls(page, "update") == []
    # a stored choice is still applied
    now = int(time.time() * 1000)
    context.add_cookies([_cookie(server, {"id": str(uuid.uuid4()), "rev": 3, "ts": now, "c": ONLY_ANALYTICS,
                                          "gpc": False})])
    page.goto(server.url(lang="fr", show="0"))
    page.wait_for_function("window.__analyticsRan === 1")
    assert flags(page) == (1, 0)
    assert bt.consent_calls(page, "update") == [gcm(True, False)]
    expect(banner(page)).to_have_count(0)


def test_no_banner_region_reuses_choice_held_by_shopify(page, server, bt):
    """Shopify says no banner is needed because it already holds a choice (e.g. our cookie was capped
    by the browser but Shopify's consent cookie survived): apply that choice, do not record a new one."""
    page.goto(server.url(lang="fr", show="0", spc="analytics"))
    page.wait_for_function("window.__analyticsRan === 1")
    expect(page.get_by_role("button", name="Paramètres des cookies")).to_be_visible()
    expect(banner(page)).to_have_count(0)
    assert flags(page) == (1, 0)
    assert bt.consent_calls(page, "update") == [gcm(True, False)]
    assert bt.rec(page)["stc"] == [] and server.posts == []


def test_stored_marketing_consent_is_dropped_when_gpc_turns_on(page, server, bt, context):
    now = int(time.time() * 1000)
    context.add_cookies([_cookie(server, {"id": str(uuid.uuid4()), "rev": 3, "ts": now, "c": ALL, "gpc": False})])
    context.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', { value: true });")
    page.goto(server.url(lang="fr"))
    page.wait_for_function("window.__analyticsRan === 1")
    expect(page.get_by_role("button", name="Paramètres des cookies")).to_be_visible()
    assert flags(page) == (1, 0)
    assert bt.consent_calls(page, "update") == [gcm(True, False)]


# ------------------------------------------------------------------ reopen / withdraw


def test_reopen_with_settings_button_and_withdraw(page, server, bt, context):
    open_fresh(page, server, lang="fr")
    bt.post_after(page, lambda: page.get_by_role("button", name="Tout accepter").click())
    page.reload()
    page.wait_for_function("window.__analyticsRan === 1 && window.__marketingRan === 1")
    context.add_cookies([{"name": n, "value": "x", "url": server.base} for n in ("_ga", "_ga_ABC123", "_fbp")])
    fab = page.get_by_role("button", name="Paramètres des cookies")
    fab.click()
    dlg = dialog(page)
    expect(dlg).to_be_visible()
    for name in ("Mesure d’audience", "Publicité", "Préférences"):
        expect(dlg.get_by_role("switch", name=name)).to_be_checked()
        dlg.get_by_role("switch", name=name).uncheck()
    body = bt.post_after(page, lambda: dlg.get_by_role("button", name="Enregistrer mes choix").click())
    check_post(bt, body, "custom", NONE)
    assert bt.wait_tracking_calls(page, 1) == [NONE]
    assert bt.consent_calls(page, "update")[-1] == gcm(False, False)
    assert bt.stored_consent(context)["value"]["c"] == NONE
    names = {c["name"] for c in context.cookies()}
    assert not names & {"_ga", "_ga_ABC123", "_fbp"}, names
    expect(dialog(page)).to_have_count(0)
    expect(fab).to_be_focused()


def test_reopen_with_cookie_settings_link(page, server, bt):
    open_fresh(page, server, lang="fr")
    bt.post_after(page, lambda: page.get_by_role("button", name="Tout refuser").click())
    link = page.locator('a[href="#cookie-settings"]')
    link.click()
    expect(dialog(page)).to_be_visible()
    assert not page.url.endswith("#cookie-settings")  # default navigation prevented
    body = bt.post_after(page, lambda: dialog(page).get_by_role("button", name="Tout accepter").click())
    check_post(bt, body, "accept_all", ALL)
    assert bt.wait_tracking_calls(page, 2) == [NONE, ALL]
    page.wait_for_function("window.__analyticsRan === 1 && window.__marketingRan === 1")
    expect(link).to_be_focused()


def test_reopen_with_data_attribute_and_hash(page, server):
    open_fresh(page, server, lang="en")
    page.locator("[data-cookie-settings]").click()
    expect(dialog(page)).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog(page)).to_have_count(0)
    expect(banner(page)).to_be_visible()  # closing the dialog is not a choice
    page.evaluate("location.hash = '#cookie-settings'")  # same-page hash change
    expect(dialog(page)).to_be_visible()
    page.keyboard.press("Escape")
    page.goto(server.url("/pages/about", lang="en") + "#cookie-settings")  # fresh load with the hash
    expect(dialog(page)).to_be_visible()


# ------------------------------------------------------------------ GPC, headless


def test_global_privacy_control_is_honoured(page, server, bt, context):
    context.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', { value: true });")
    open_fresh(page, server, lang="en")
    page.get_by_role("button", name="Customize").click()
    dlg = dialog(page)
    marketing = dlg.get_by_role("switch", name="Advertising")
    expect(marketing).to_be_disabled()
    expect(marketing).not_to_be_checked()
    expect(dlg).to_contain_text("Global Privacy Control")
    body = bt.post_after(page, lambda: dlg.get_by_role("button", name="Accept all").click())
    expected = {"analytics": True, "marketing": False, "preferences": True, "sale_of_data": False}
    check_post(bt, body, "accept_all", expected, lang="en", gpc=True)
    assert bt.wait_tracking_calls(page, 1) == [expected]
    assert bt.consent_calls(page, "update") == [gcm(True, False)]
    page.wait_for_function("window.__analyticsRan === 1")
    assert flags(page) == (1, 0)
    assert bt.stored_consent(context)["value"]["gpc"] is True


def test_headless_storefront_config_from_window(page, server, bt):
    page.goto(server.url(lang="fr", mode="headless", lf="0"))
    expect(banner(page)).to_be_visible()
    # no Liquid block: the script itself pushed the Consent Mode default before anything else
    assert bt.consent_calls(page, "default") == [DEFAULT]
    assert page.evaluate("document.getElementById('pc-consent-config')") is None
    body = bt.post_after(page, lambda: page.get_by_role("button", name="Tout accepter").click())
    check_post(bt, body, "accept_all", ALL)
    assert bt.consent_calls(page, "update") == [gcm(True, True)]
    assert bt.rec(page)["stc"] == []  # no Shopify.loadFeatures on this storefront
    page.wait_for_function("window.__analyticsRan === 1 && window.__marketingRan === 1")


def test_no_config_does_nothing(page, server, bt):
    page.goto(server.url(lang="fr", noconfig="1"))
    page.wait_for_load_state("load")
    assert page.evaluate("document.readyState") == "complete"
    assert page.evaluate("[typeof window.__pcLoaded, typeof window.PrivacyConsent]") == ["undefined", "undefined"]
    expect(banner(page)).to_have_count(0)
    assert bt.rec(page)["lf"] == 0 and bt.consent_calls(page, "default") == [DEFAULT]


# ------------------------------------------------------------------ keyboard


def test_keyboard_only_flow(page, server, bt):
    open_fresh(page, server, lang="fr")
    for _ in range(4):
        page.keyboard.press("Tab")
        if bt.active_text(page) == "Tout accepter":
            break
    assert bt.active_text(page) == "Tout accepter"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Tab")
    assert bt.active_text(page) == "Tout refuser"
    page.keyboard.press("Tab")
    assert bt.active_text(page) == "Personnaliser"
    page.keyboard.press("Enter")
    dlg = dialog(page)
    expect(dlg).to_be_visible()
    expect(dlg).to_be_focused()
    inside = "document.querySelector('[role=dialog]').contains(document.activeElement)"
    for _ in range(20):  # focus is trapped, both directions
        page.keyboard.press("Tab")
        assert page.evaluate(inside)
    for _ in range(5):
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(inside)
    page.keyboard.press("Escape")
    expect(dialog(page)).to_have_count(0)
    assert bt.active_text(page) == "Personnaliser"  # focus returned to the opener
    # keyboard-only custom choice
    page.keyboard.press("Enter")
    expect(dialog(page)).to_be_visible()
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.c") == "analytics":
            break
    page.keyboard.press("Space")
    expect(dialog(page).get_by_role("switch", name="Mesure d’audience")).to_be_checked()
    for _ in range(30):
        page.keyboard.press("Tab")
        if bt.active_text(page) == "Enregistrer mes choix":
            break
    body = bt.post_after(page, lambda: page.keyboard.press("Enter"))
    check_post(bt, body, "custom", ONLY_ANALYTICS)
    expect(page.get_by_role("button", name="Paramètres des cookies")).to_be_focused()


def test_escape_on_first_layer_is_refusal(page, server, bt):
    open_fresh(page, server, lang="fr")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    body = bt.post_after(page, lambda: page.keyboard.press("Escape"))
    check_post(bt, body, "close", NONE)
    expect(banner(page)).to_have_count(0)


@pytest.mark.parametrize("position", ["bottom-left", "bottom-right"])
def test_position_setting(page, server, position):
    open_fresh(page, server, lang="fr", position=position)
    box = banner(page).bounding_box()
    assert box["width"] <= 440
    assert (box["x"] < 100) if position == "bottom-left" else (box["x"] + box["width"] > 1180)


def test_settings_button_can_be_disabled(page, server, bt):
    open_fresh(page, server, lang="fr", settings_button="false")
    bt.post_after(page, lambda: page.get_by_role("button", name="Tout refuser").click())
    expect(page.locator(".pc-f")).to_have_count(0)
