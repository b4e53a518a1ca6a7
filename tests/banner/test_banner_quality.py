"""Accessibility (axe-core), size budget, theme-check and the configuration contract."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

BUDGET_GZIP = 7 * 1024  # JS + CSS + storefront locales, gzip -9, summed per file
JS_LIMIT = 10_000  # theme-check AssetSizeAppBlockJavaScript threshold (bytes, raw)
BUDGET_FILES = ["assets/consent-banner.js", "assets/consent-banner.css", "locales/en.default.json", "locales/fr.json"]


# ------------------------------------------------------------------ accessibility


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_axe_first_layer(page, server, bt, lang):
    page.goto(server.url(lang=lang))
    expect(page.locator("#pc-banner")).to_be_visible()
    bt.screenshot(page, f"banner-first-layer-{lang}.png")
    assert bt.axe_serious(page, "#pc-banner") == []


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_axe_customize_layer(page, server, bt, lang):
    page.goto(server.url(lang=lang))
    page.locator("#pc-banner .pc-s").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    bt.screenshot(page, f"banner-customize-{lang}.png")
    assert bt.axe_serious(page, ".pc-o") == []


@pytest.mark.browser
def test_axe_customize_layer_with_gpc_and_mobile(browser, server, bt):
    ctx = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    ctx.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', { value: true });")
    blocked: list = []
    bt.guard_network(ctx, blocked)
    page = ctx.new_page()
    try:
        page.goto(server.url(lang="fr"))
        expect(page.locator("#pc-banner")).to_be_visible()
        bt.screenshot(page, "banner-first-layer-mobile.png")
        assert bt.axe_serious(page, "#pc-banner") == []
        page.locator("#pc-banner .pc-s").click()
        expect(page.locator(".pc-n")).to_be_visible()
        bt.screenshot(page, "banner-customize-mobile-gpc.png")
        assert bt.axe_serious(page, ".pc-o") == []
        # the dialog fits the small screen and scrolls inside itself
        box = page.get_by_role("dialog").bounding_box()
        assert box["width"] <= 375 and box["height"] <= 740
        assert blocked == []
    finally:
        ctx.close()


@pytest.mark.browser
def test_settings_button_axe(page, server, bt):
    page.goto(server.url(lang="fr"))
    page.get_by_role("button", name="Tout refuser").click()
    expect(page.locator(".pc-f")).to_be_visible()
    assert bt.axe_serious(page, ".pc-f") == []


# ------------------------------------------------------------------ budget


def _gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def test_size_budget(bt):
    sizes = {f: _gz((bt.EXT / f).read_bytes()) for f in BUDGET_FILES}
    total = sum(sizes.values())
    js_raw = len((bt.ASSETS / "consent-banner.js").read_bytes())
    print(f"gzip -9 sizes: {sizes} total={total} B; consent-banner.js raw={js_raw} B")
    assert total <= BUDGET_GZIP, f"{total} B gzip > {BUDGET_GZIP} B budget: {sizes}"
    assert js_raw < JS_LIMIT, f"consent-banner.js is {js_raw} B, theme-check limit is {JS_LIMIT} B"
    # together, too (one gzip stream), for the record
    assert _gz(b"".join((bt.EXT / f).read_bytes() for f in BUDGET_FILES)) <= BUDGET_GZIP


def test_no_external_dependencies(bt):
    js = (bt.ASSETS / "consent-banner.js").read_text("utf-8")
    css = (bt.ASSETS / "consent-banner.css").read_text("utf-8")
    assert not re.search(r"\bimport\b|require\(|https?://", js)
    assert not re.search(r"@import|url\(", css)
    assert "innerHTML" not in js and "eval(" not in js and "document.write" not in js


# ------------------------------------------------------------------ theme-check


def _theme_check(root: Path, target: Path) -> list[dict]:
    cli = root / "node_modules" / "@shopify" / "theme-check-node" / "dist" / "cli.js"
    if not cli.exists():
        pytest.skip("node_modules missing: run `npm ci` to install @shopify/theme-check-node")
    node = shutil.which("node")
    assert node, "node is required to run theme-check"
    # The CLI prints: offenses JSON, then the config JSON, then the file list; it always exits 0.
    out = subprocess.run([node, str(cli), str(target)], capture_output=True, text=True, timeout=120, cwd=root)
    assert out.returncode == 0, out.stderr
    offenses, _ = json.JSONDecoder().raw_decode(out.stdout.lstrip())
    files, _ = json.JSONDecoder().raw_decode(out.stdout.rstrip()[out.stdout.rstrip().rindex("\n[") + 1:])
    assert any(f.endswith("blocks/consent-banner.liquid") for f in files), files
    return offenses


def test_theme_check_has_no_offenses(bt):
    offenses = _theme_check(bt.ROOT, bt.EXT)
    readable = [f"{o['check']} {o['uri'].rsplit('/', 2)[-2:]} {o['message']}" for o in offenses]
    assert offenses == [], "\n".join(readable)


def test_theme_check_really_checks_the_app_block(bt, tmp_path):
    """Guard against a silent theme-check: an oversized JS and a missing translation must be reported."""
    copy = tmp_path / "consent-banner"
    shutil.copytree(bt.EXT, copy)
    js = copy / "assets" / "consent-banner.js"
    js.write_text(js.read_text("utf-8") + "\n/*" + "x" * JS_LIMIT + "*/\n", "utf-8")
    fr = copy / "locales" / "fr.json"
    data = json.loads(fr.read_text("utf-8"))
    del data["consent_banner"]["gpc"]
    fr.write_text(json.dumps(data), "utf-8")
    checks = {o["check"] for o in _theme_check(bt.ROOT, copy)}
    assert {"AssetSizeAppBlockJavaScript", "MatchingTranslations"} <= checks, checks


# ------------------------------------------------------------------ contract & block structure


def test_block_schema_and_inline_order(bt):
    src = bt.LIQUID.read_text("utf-8")
    schema = json.loads(re.search(r"{%\s*schema\s*%}(.*?){%\s*endschema\s*%}", src, re.S).group(1))
    assert schema["target"] == "compliance_head"
    assert schema["javascript"] == "consent-banner.js" and schema["stylesheet"] == "consent-banner.css"
    assert {s["id"] for s in schema["settings"]} == {"position", "settings_button"}
    for s in schema["settings"]:  # every t: key of the schema exists in both schema locales
        for lang in ("en.default", "fr"):
            strings = json.loads((bt.EXT / "locales" / f"{lang}.schema.json").read_text("utf-8"))
            for key in [s["label"]] + [o["label"] for o in s.get("options", [])]:
                node = strings
                for part in key[2:].split("."):
                    node = node[part]
                assert isinstance(node, str) and node
    body = src.split("{% schema %}")[0]
    i_default = body.index("gtag('consent', 'default'")
    assert i_default < body.index('id="pc-consent-config"') < body.index('id="pc-consent-i18n"')
    assert body.index("<script") < i_default  # the Consent Mode default is the very first script
    assert "app.metafields.privacy_consent.banner_config" in body
    assert "| json" in body
    for option in ("bottom", "bottom-left", "bottom-right"):
        assert f".pc-{option}" in (bt.ASSETS / "consent-banner.css").read_text("utf-8") or option == "bottom"


def test_locales_match_and_cover_js_fallbacks(bt):
    en, fr = bt.locale("en")["consent_banner"], bt.locale("fr")["consent_banner"]
    assert en.keys() == fr.keys() and all(en.values()) and all(fr.values())
    mapping = bt.liquid_i18n_mapping()
    assert set(mapping.values()) == set(en)
    js = (bt.ASSETS / "consent-banner.js").read_text("utf-8")
    for js_key in mapping:
        assert f"T.{js_key}" in js, js_key


def test_sample_config_contract(bt):
    cfg = bt.sample_config()
    assert {"shop", "revision", "expiryDays", "policyUrl", "endpoint", "textHash", "texts", "categories"} <= cfg.keys()
    assert isinstance(cfg["revision"], int) and cfg["expiryDays"] == 182
    assert re.fullmatch(r"[0-9a-f]{64}", cfg["textHash"])
    text_keys = {"title", "description", "acceptAll", "rejectAll", "customize", "save", "close", "settings",
                 "policy", "cookie", "purpose", "lifetime", "alwaysOn", "gpc"}
    for lang in ("en", "fr"):
        t = cfg["texts"][lang]
        assert text_keys <= t.keys(), text_keys - t.keys()
        for cat in ("necessary", "analytics", "marketing", "preferences"):
            assert t[cat]["title"] and t[cat]["description"]
    assert cfg["texts"]["fr"]["acceptAll"] == "Tout accepter"
    assert cfg["texts"]["fr"]["rejectAll"] == "Tout refuser"
    assert cfg["texts"]["fr"]["customize"] == "Personnaliser"
    cats = {c["id"]: c for c in cfg["categories"]}
    assert list(cats) == ["necessary", "analytics", "marketing", "preferences"]
    assert cats["necessary"]["required"] is True and not any(c.get("required") for c in cfg["categories"][1:])
    names = {cid: {k["name"] for k in c["cookies"]} for cid, c in cats.items()}
    # from the shop's privacy policy
    assert {"_session_id", "_secure_session_id", "cart", "storefront_digest"} == names["necessary"]
    assert {"_ga", "_shopify_visit", "_shopify_uniq"} <= names["analytics"]
    assert "_fbp" in names["marketing"] and "Retargeting" in names["marketing"]
    assert names["preferences"] == set()
    for c in cfg["categories"]:
        for k in c["cookies"]:
            for f in ("purpose", "lifetime"):
                assert k[f]["en"] and k[f]["fr"], (k["name"], f)
    lifetimes = {k["name"]: k["lifetime"]["en"] for c in cfg["categories"] for k in c["cookies"]}
    assert lifetimes["cart"] == "2 weeks" and lifetimes["_shopify_visit"].startswith("30 minutes")
