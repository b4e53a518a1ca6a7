"""The banner configuration service: defaults, validation, revisions, publishing, and embed detection."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import select

from devtools.admin_double.themes import SETTINGS_HEADER
from shopify_app.errors import MalformedPayloadError
from shopify_app.models import BannerConfig, Shop
from shopify_app.services import banner
from tests.conftest import DEMO_SHOP

SAMPLE = json.loads((banner.PROJECT_ROOT / "extensions" / "consent-banner" / "sample-config.json").read_text("utf-8"))


@pytest.fixture
def shop(db_session) -> Shop:
    row = Shop(domain=DEMO_SHOP)
    db_session.add(row)
    db_session.commit()
    return row


def test_defaults_are_the_seed_texts_and_cookies_of_the_sample_config():
    config = banner.build_config(DEMO_SHOP, None, 1)
    assert config["texts"] == SAMPLE["texts"] and config["categories"] == SAMPLE["categories"]
    assert list(config) == list(SAMPLE)  # same keys, same order as the contract's sample
    assert (config["expiryDays"], config["endpoint"], config["policyUrl"]) == (
        182, "/apps/privacy/consent", "/policies/privacy-policy")


def test_text_hash_covers_texts_and_cookies_and_nothing_else():
    config = banner.build_config(DEMO_SHOP, None, 1)
    texts, categories = config["texts"], config["categories"]
    assert config["textHash"] == banner.text_hash(texts, categories)
    assert len(config["textHash"]) == 64 and banner.text_hash(copy.deepcopy(texts), categories) == config["textHash"]
    changed_cookie = copy.deepcopy(categories)
    changed_cookie[1]["cookies"][0]["lifetime"]["fr"] = "12 mois"
    assert banner.text_hash(texts, changed_cookie) != config["textHash"]
    assert banner.build_config(DEMO_SHOP, {"policyUrl": "/pages/x"}, 7)["textHash"] == config["textHash"]


def test_the_sample_config_validates_as_a_merchant_save():
    changes = {k: SAMPLE[k] for k in ("texts", "categories", "policyUrl")}
    assert banner.validate_changes(changes) == changes


def _broken(path: str, value):
    changes = {"texts": copy.deepcopy(SAMPLE["texts"]), "categories": copy.deepcopy(SAMPLE["categories"])}
    target = changes
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is KeyError:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return changes


@pytest.mark.parametrize("changes", [
    pytest.param("texts", id="not-an-object"),
    pytest.param({"shop": "other.myshopify.com"}, id="read-only-field"),
    pytest.param({"texts": {"en": SAMPLE["texts"]["en"]}}, id="one-language"),
    pytest.param(_broken("texts.fr.title", ""), id="empty-text"),
    pytest.param(_broken("texts.fr.title", "   "), id="blank-text"),
    pytest.param(_broken("texts.fr.title", "x" * 201), id="long-title"),
    pytest.param(_broken("texts.en.description", "x" * 2001), id="long-description"),
    pytest.param(_broken("texts.en.acceptAll", 3), id="text-not-a-string"),
    pytest.param(_broken("texts.en.gpc", KeyError), id="missing-key"),
    pytest.param(_broken("texts.en.extra", "x"), id="unknown-key"),
    pytest.param(_broken("texts.en.save", "Save\x07"), id="control-character"),
    pytest.param(_broken("texts.fr.marketing.title", KeyError), id="category-text-missing"),
    pytest.param(_broken("categories.0.required", False), id="necessary-not-required"),
    pytest.param(_broken("categories.1.required", True), id="analytics-required"),
    pytest.param(_broken("categories.3.id", "fun"), id="unknown-category"),
    pytest.param(_broken("categories.1.cookies.0.purpose", {"en": "x"}), id="cookie-one-language"),
    pytest.param(_broken("categories.1.cookies.0.name", ""), id="cookie-no-name"),
    pytest.param(_broken("categories.1.cookies", "_ga"), id="cookies-not-a-list"),
    pytest.param(_broken("categories.1.cookies.0.extra", "x"), id="cookie-unknown-key"),
    pytest.param({"categories": list(reversed(SAMPLE["categories"]))}, id="categories-reordered"),
    pytest.param({"policyUrl": "javascript:alert(1)"}, id="policy-javascript"),
    pytest.param({"policyUrl": "//evil.example/x"}, id="policy-protocol-relative"),
    pytest.param({"policyUrl": "http://example.com/privacy"}, id="policy-http"),
    pytest.param({"policyUrl": '/x" onload="alert(1)'}, id="policy-quote"),
])
def test_invalid_changes_are_refused(changes):
    with pytest.raises(MalformedPayloadError):
        banner.validate_changes(changes)


def test_texts_may_use_typographic_spaces_and_new_lines():
    texts = copy.deepcopy(SAMPLE["texts"])
    texts["fr"]["description"] = "Nous utilisons des cookies\u202f: mesure d\u2019audience.\nÀ bientôt\u00a0!"
    assert banner.validate_changes({"texts": texts})["texts"]["fr"]["description"] == texts["fr"]["description"]


def test_save_stores_the_whole_editable_part_and_bumps_only_when_asked(db_session, shop):
    config = banner.save_banner_config(db_session, shop, {"policyUrl": "/pages/rgpd"}, bump_revision=False)
    db_session.commit()
    row = db_session.scalars(select(BannerConfig)).one()
    assert set(row.config) == {"texts", "categories", "policyUrl"} and row.revision == 1
    assert config["policyUrl"] == "/pages/rgpd" and config["texts"] == SAMPLE["texts"]
    texts = copy.deepcopy(SAMPLE["texts"])
    texts["en"]["title"] = "Cookies"
    config = banner.save_banner_config(db_session, shop, {"texts": texts}, bump_revision=True)
    db_session.commit()
    assert config["revision"] == 2 and config["policyUrl"] == "/pages/rgpd"
    assert banner.get_banner_config(db_session, shop) == config


def test_storefront_config_is_only_for_installed_shops(db_session, shop):
    assert banner.find_storefront_config(db_session, DEMO_SHOP)["revision"] == 1  # a Shop() row is installed
    shop.uninstalled_at = shop.installed_at
    db_session.commit()
    assert banner.find_storefront_config(db_session, DEMO_SHOP) is None
    assert banner.find_storefront_config(db_session, "nobody.myshopify.com") is None


def test_storefront_script_keeps_merchant_text_inert():
    config = banner.build_config(DEMO_SHOP, None, 1)
    config["texts"]["en"]["title"] = "</script><script>alert(1)</script>\u2028"
    script = banner.storefront_script(config).decode()
    head = script.split(";\n", 1)[0]
    assert "</script>" not in head and "<" not in head and "\u2028" not in head
    parsed = json.loads(head.removeprefix("window.PrivacyConsentConfig="))
    assert parsed["texts"]["en"]["title"] == config["texts"]["en"]["title"]


# ------------------------------------------------------------------ embed detection


def settings_data(blocks: dict, *, header: str = SETTINGS_HEADER) -> str:
    return header + json.dumps({"current": {"sections": {}, "blocks": blocks}})


OURS = "shopify://apps/privacy-consent/blocks/consent-banner/0c1a3d76-0000-4000-8000-000000000001"
KLAVIYO = "shopify://apps/klaviyo/blocks/klaviyo-onsite-embed/2632fe16-c075-4321-a88b-50b567f42507"


@pytest.mark.parametrize("content, expected", [
    (settings_data({"1": {"type": OURS, "disabled": False, "settings": {}}}), True),
    (settings_data({"1": {"type": OURS, "settings": {}}}), True),
    (settings_data({"1": {"type": OURS, "disabled": True}}), False),
    (settings_data({"1": {"type": KLAVIYO, "disabled": False}}), False),  # never enabled: no block at all
    (settings_data({}), False),
    (settings_data({"1": {"type": OURS}}, header="/* one */\n/* two */\n"), True),
    (settings_data({"1": {"type": OURS}}, header=""), True),
    (json.dumps({"current": "Default", "presets": {"Default": {"blocks": {"1": {"type": OURS}}}}}), True),
    ("/* unterminated", None),
    ("{not json", None),
    (json.dumps([1, 2]), None),
    (None, None),
])
def test_embed_enabled(content, expected):
    assert banner.embed_enabled(content) is expected


def test_deep_link_is_shopifys_app_embed_format():
    assert banner.embed_deep_link(DEMO_SHOP, "4a1b2c") == (
        "https://demo-shop.myshopify.com/admin/themes/current/editor?context=apps&activateAppId=4a1b2c/consent-banner")


def test_embed_status_takes_the_api_key_from_shopify_when_not_given(app, install_shop, shopify_double, db_session):
    install_shop()
    shop = db_session.scalars(select(Shop).where(Shop.domain == DEMO_SHOP)).one()
    status = banner.banner_embed_status(db_session, app.extensions["shopify_admin"], app.extensions["token_cipher"],
                                        shop)
    assert status.enabled is True and status.theme_name == "Dawn" and status.revision == 1
    assert status.deep_link.endswith("&activateAppId=test-api-key/consent-banner")


def test_publish_writes_the_app_data_metafield(app, install_shop, shopify_double, db_session):
    install_shop()
    shop = db_session.scalars(select(Shop).where(Shop.domain == DEMO_SHOP)).one()
    written = banner.publish_banner_config(db_session, app.extensions["shopify_admin"], app.extensions["token_cipher"],
                                           shop)
    [record] = [m for m in shopify_double.mutations if m.field == "metafieldsSet"]
    [metafield] = record.variables["metafields"]
    assert metafield["ownerId"] == shopify_double.app_installation_id(DEMO_SHOP)
    assert (metafield["namespace"], metafield["key"], metafield["type"]) == ("privacy_consent", "banner_config", "json")
    assert json.loads(metafield["value"]) == written == banner.get_banner_config(db_session, shop)


def test_a_new_install_publishes_the_default_banner(install_shop, run_worker, shopify_double):
    from tests.conftest import DEMO_SHOP

    install_shop()
    assert not [m for m in shopify_double.mutations if m.field == "metafieldsSet"]
    run_worker()  # the job queued at install
    [published] = [m for m in shopify_double.mutations if m.field == "metafieldsSet"]
    [metafield] = published.variables["metafields"]
    assert (metafield["namespace"], metafield["key"], metafield["type"]) == ("privacy_consent", "banner_config", "json")
    assert json.loads(metafield["value"])["shop"] == DEMO_SHOP
    install_shop()  # later loads do not publish again
    run_worker()
    assert len([m for m in shopify_double.mutations if m.field == "metafieldsSet"]) == 1
