"""The storefront consent banner: the shop's configuration, publishing it to the theme, and its state.

The configuration follows the contract of ``extensions/consent-banner/README.md``. The
merchant edits ``texts`` (French and English), ``categories`` (with their cookies) and
``policyUrl``; the app adds ``shop``, ``revision``, ``expiryDays``, ``endpoint`` and
``textHash``. Saved per shop in ``banner_configs``; a shop that never saved gets the
defaults below, taken from the seed privacy policy of Le Petit Lunetier (the same
texts and cookies as ``extensions/consent-banner/sample-config.json``, which a test
keeps in step).

Publishing writes the whole document to the app-data metafield
``privacy_consent.banner_config`` (type ``json``) of the app installation, which the
app embed block inlines as ``app.metafields.privacy_consent.banner_config``.

Proof chain: every consent record carries ``revision`` and ``textHash``; every save
leaves an audit entry with the revision, the hash and the texts and categories
shown, so what a visitor saw can be shown later.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import re
import unicodedata
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app import db
from shopify_app.encryption import TokenCipher
from shopify_app.errors import MalformedPayloadError, ShopifyApiError, ShopNotInstalledError
from shopify_app.models import BannerConfig, Shop
from shopify_app.platform.admin_client import ShopifyAdminClient
from shopify_app.platform.queries import (
    BANNER_CONFIG_SET_MUTATION,
    CURRENT_APP_INSTALLATION_QUERY,
    MAIN_THEME_SETTINGS_DATA_QUERY,
)
from shopify_app.services import audit, shops
from shopify_app.settings import PROJECT_ROOT

METAFIELD_NAMESPACE = "privacy_consent"
METAFIELD_KEY = "banner_config"
EXPIRY_DAYS = 182  # about six months, as the CNIL recommends
CONSENT_ENDPOINT = "/apps/privacy/consent"  # the app proxy (/apps/privacy -> /proxy)
DEFAULT_POLICY_URL = "/policies/privacy-policy"
EMBED_HANDLE = "consent-banner"  # blocks/consent-banner.liquid
ASSETS = PROJECT_ROOT / "extensions" / "consent-banner" / "assets"

LANGUAGES = ("en", "fr")
CATEGORY_IDS = ("necessary", "analytics", "marketing", "preferences")
SHORT_TEXT_KEYS = ("title", "acceptAll", "rejectAll", "customize", "save", "close", "settings", "policy",
                   "cookie", "purpose", "lifetime", "alwaysOn")
LONG_TEXT_KEYS = ("description", "gpc")
EDITABLE_KEYS = ("texts", "categories", "policyUrl")
SHORT_TEXT_CHARS = 200
LONG_TEXT_CHARS = 2000
COOKIE_NAME_CHARS = 100
COOKIE_TEXT_CHARS = 500
MAX_COOKIES_PER_CATEGORY = 50
POLICY_URL_CHARS = 500

_DEFAULT_TEXTS: dict[str, Any] = {
    "en": {
        "title": "Your privacy",
        "description": ("Le Petit Lunetier uses cookies to run the shop and, with your consent, to measure traffic "
                        "and show you relevant ads. Refusing has no effect on your purchases. You can change your "
                        "choice at any time from \"Cookie settings\"."),
        "acceptAll": "Accept all",
        "rejectAll": "Reject all",
        "customize": "Customize",
        "save": "Save my choices",
        "close": "Close (refuse)",
        "settings": "Cookie settings",
        "policy": "Privacy policy",
        "necessary": {
            "title": "Strictly necessary",
            "description": "Required for the shop to work (session, cart, security). They cannot be turned off.",
        },
        "analytics": {
            "title": "Audience measurement",
            "description": "Help us understand how the shop is used (pages visited, number of visits).",
        },
        "marketing": {
            "title": "Advertising",
            "description": ("Used by Facebook and retargeting partners to show you targeted ads, or to stop showing "
                            "them."),
        },
        "preferences": {
            "title": "Preferences",
            "description": ("Remember choices you make, such as language or currency. No such cookies are used at "
                            "the moment."),
        },
        "cookie": "Cookie",
        "purpose": "Purpose",
        "lifetime": "Lifetime",
        "alwaysOn": "Always on",
        "gpc": ("Your browser sends a Global Privacy Control signal, so advertising cookies and the sale or sharing "
                "of your data stay off."),
    },
    "fr": {
        "title": "Votre vie privée",
        "description": ("Le Petit Lunetier utilise des cookies pour faire fonctionner la boutique et, avec votre "
                        "accord, pour mesurer l’audience et vous montrer des publicités pertinentes. Refuser n’a "
                        "aucun effet sur vos achats. Vous pouvez changer d’avis à tout moment via « Paramètres des "
                        "cookies »."),
        "acceptAll": "Tout accepter",
        "rejectAll": "Tout refuser",
        "customize": "Personnaliser",
        "save": "Enregistrer mes choix",
        "close": "Fermer (refuser)",
        "settings": "Paramètres des cookies",
        "policy": "Politique de confidentialité",
        "necessary": {
            "title": "Strictement nécessaires",
            "description": ("Indispensables au fonctionnement de la boutique (session, panier, sécurité). Ils ne "
                            "peuvent pas être désactivés."),
        },
        "analytics": {
            "title": "Mesure d’audience",
            "description": "Nous aident à comprendre l’utilisation de la boutique (pages vues, nombre de visites).",
        },
        "marketing": {
            "title": "Publicité",
            "description": ("Utilisés par Facebook et nos partenaires de reciblage pour vous montrer des publicités "
                            "ciblées, ou cesser de vous en montrer."),
        },
        "preferences": {
            "title": "Préférences",
            "description": ("Mémorisent vos choix, comme la langue ou la devise. Aucun cookie de ce type n’est "
                            "utilisé actuellement."),
        },
        "cookie": "Cookie",
        "purpose": "Finalité",
        "lifetime": "Durée de conservation",
        "alwaysOn": "Toujours actifs",
        "gpc": ("Votre navigateur envoie le signal Global Privacy Control : les cookies publicitaires et la vente "
                "ou le partage de vos données restent désactivés."),
    },
}

_DEFAULT_CATEGORIES: list[dict[str, Any]] = [
    {
        "id": "necessary",
        "required": True,
        "cookies": [
            {
                "name": "_session_id",
                "purpose": {
                    "en": ("Unique session identifier: lets Shopify store information about your session (referrer, "
                           "landing page, etc.)."),
                    "fr": ("Identifiant de session unique : permet à Shopify de conserver des informations sur "
                           "votre session (site de provenance, page d’arrivée, etc.)."),
                },
                "lifetime": {"en": "End of the browsing session", "fr": "Fin de la session de navigation"},
            },
            {
                "name": "_secure_session_id",
                "purpose": {
                    "en": "Unique session identifier used for secure browsing of the shop.",
                    "fr": "Identifiant de session unique utilisé pour la navigation sécurisée sur la boutique.",
                },
                "lifetime": {"en": "24 hours", "fr": "24 heures"},
            },
            {
                "name": "cart",
                "purpose": {
                    "en": "Unique identifier that stores the contents of your shopping cart.",
                    "fr": "Identifiant unique qui conserve le contenu de votre panier.",
                },
                "lifetime": {"en": "2 weeks", "fr": "2 semaines"},
            },
            {
                "name": "storefront_digest",
                "purpose": {
                    "en": ("Unique identifier used, when the shop is password-protected, to know whether you may "
                           "access it."),
                    "fr": ("Identifiant unique utilisé, lorsque la boutique est protégée par un mot de passe, pour "
                           "savoir si vous pouvez y accéder."),
                },
                "lifetime": {
                    "en": "While the shop is password-protected",
                    "fr": "Tant que la boutique est protégée par un mot de passe",
                },
            },
        ],
    },
    {
        "id": "analytics",
        "cookies": [
            {
                "name": "_ga",
                "purpose": {
                    "en": ("Google Analytics: distinguishes visitors to measure and understand the traffic on the "
                           "shop."),
                    "fr": ("Google Analytics : distingue les visiteurs pour mesurer et comprendre la fréquentation "
                           "de la boutique."),
                },
                "lifetime": {"en": "13 months", "fr": "13 mois"},
            },
            {
                "name": "_ga_*",
                "purpose": {
                    "en": "Google Analytics: keeps the state of your current visit.",
                    "fr": "Google Analytics : conserve l’état de votre visite en cours.",
                },
                "lifetime": {"en": "13 months", "fr": "13 mois"},
            },
            {
                "name": "_shopify_visit",
                "purpose": {
                    "en": "No data retained; counts visits for our website provider's internal statistics.",
                    "fr": ("Aucune donnée conservée ; compte les visites pour les statistiques internes de notre "
                           "hébergeur."),
                },
                "lifetime": {"en": "30 minutes after the last visit", "fr": "30 minutes après la dernière visite"},
            },
            {
                "name": "_shopify_uniq",
                "purpose": {
                    "en": "No data retained; counts the number of unique visitors to the shop.",
                    "fr": "Aucune donnée conservée ; compte le nombre de visiteurs uniques de la boutique.",
                },
                "lifetime": {
                    "en": "Until midnight (your local time) the next day",
                    "fr": "Jusqu’à minuit (heure locale) le lendemain",
                },
            },
        ],
    },
    {
        "id": "marketing",
        "cookies": [
            {
                "name": "_fbp",
                "purpose": {
                    "en": "Facebook (Meta): shows you targeted ads, or stops showing them if they bother you.",
                    "fr": ("Facebook (Meta) : vous propose des publicités ciblées, ou cesse de vous les montrer si "
                           "elles vous dérangent."),
                },
                "lifetime": {"en": "3 months", "fr": "3 mois"},
            },
            {
                "name": "Retargeting",
                "purpose": {
                    "en": "Retargeting partners: recognise a visitor who has already been to the shop.",
                    "fr": "Partenaires de reciblage : reconnaissent un visiteur déjà venu sur la boutique.",
                },
                "lifetime": {"en": "13 months", "fr": "13 mois"},
            },
        ],
    },
    {"id": "preferences", "cookies": []},
]


@dataclasses.dataclass(frozen=True)
class EmbedStatus:
    """Whether the app embed is on in the live theme (None: could not tell, see ``reason``), and where to turn it on.

    ``revision`` is the banner configuration's current revision.
    """

    enabled: bool | None
    theme_name: str | None
    deep_link: str
    revision: int | None = None
    reason: str | None = None


def default_settings() -> dict[str, Any]:
    """The editable part of a configuration for a shop that never saved one (a fresh copy)."""
    return {"texts": copy.deepcopy(_DEFAULT_TEXTS), "categories": copy.deepcopy(_DEFAULT_CATEGORIES),
            "policyUrl": DEFAULT_POLICY_URL}


def text_hash(texts: dict[str, Any], categories: list[dict[str, Any]]) -> str:
    """sha256 of the canonical JSON of what the banner shows: the texts and the categories with their cookies."""
    canonical = json.dumps({"categories": categories, "texts": texts}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def build_config(shop_domain: str, stored: dict[str, Any] | None, revision: int) -> dict[str, Any]:
    """The full document of the contract, from what is stored (or the defaults)."""
    settings = default_settings()
    settings.update({k: copy.deepcopy(v) for k, v in (stored or {}).items() if k in EDITABLE_KEYS})
    return {
        "shop": shop_domain,
        "revision": revision,
        "expiryDays": EXPIRY_DAYS,
        "policyUrl": settings["policyUrl"],
        "endpoint": CONSENT_ENDPOINT,
        "textHash": text_hash(settings["texts"], settings["categories"]),
        "texts": settings["texts"],
        "categories": settings["categories"],
    }


def get_banner_config(session: Session, shop: Shop) -> dict[str, Any]:
    """The shop's banner configuration; the defaults (revision 1) if it never saved one."""
    row = session.get(BannerConfig, shop.id)
    return build_config(shop.domain, row.config if row else None, row.revision if row else 1)


def find_storefront_config(session: Session, shop_domain: str) -> dict[str, Any] | None:
    """The configuration served to a storefront, or None if the shop is unknown or uninstalled. One query."""
    found = session.execute(
        select(Shop.uninstalled_at, BannerConfig.config, BannerConfig.revision)
        .outerjoin(BannerConfig, BannerConfig.shop_id == Shop.id)
        .where(Shop.domain == shop_domain)
    ).first()
    if found is None or found.uninstalled_at is not None:
        return None
    return build_config(shop_domain, found.config, found.revision or 1)


def validate_changes(changes: Any) -> dict[str, Any]:
    """Check what a merchant sends; raise :class:`MalformedPayloadError` (400) with the first problem found.

    Each given key replaces the stored value whole: ``texts`` must have both languages and
    every key, ``categories`` the four categories in order.
    """
    if not isinstance(changes, dict) or not changes:
        raise MalformedPayloadError(f"Send a JSON object with one or more of {', '.join(EDITABLE_KEYS)}.")
    unknown = sorted(set(changes) - set(EDITABLE_KEYS))
    if unknown:
        raise MalformedPayloadError(f"Unknown or read-only fields: {', '.join(unknown)}.")
    validated: dict[str, Any] = {}
    if "texts" in changes:
        validated["texts"] = _texts(changes["texts"])
    if "categories" in changes:
        validated["categories"] = _categories(changes["categories"])
    if "policyUrl" in changes:
        validated["policyUrl"] = _policy_url(changes["policyUrl"])
    return validated


def _text(value: Any, where: str, max_chars: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MalformedPayloadError(f"{where} must be a non-empty text.")
    if len(value) > max_chars:
        raise MalformedPayloadError(f"{where} is longer than {max_chars} characters.")
    if any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in value):
        raise MalformedPayloadError(f"{where} contains control characters.")
    return value.strip()


def _exact_keys(value: Any, keys: tuple[str, ...], where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != set(keys):
        raise MalformedPayloadError(f"{where} must have exactly these keys: {', '.join(keys)}.")
    return value


def _texts(value: Any) -> dict[str, Any]:
    texts = _exact_keys(value, LANGUAGES, "texts")
    result: dict[str, Any] = {}
    for lang in LANGUAGES:
        given = _exact_keys(texts[lang], (*SHORT_TEXT_KEYS, *LONG_TEXT_KEYS, *CATEGORY_IDS), f"texts.{lang}")
        lang_texts: dict[str, Any] = {}
        for key in SHORT_TEXT_KEYS:
            lang_texts[key] = _text(given[key], f"texts.{lang}.{key}", SHORT_TEXT_CHARS)
        for key in LONG_TEXT_KEYS:
            lang_texts[key] = _text(given[key], f"texts.{lang}.{key}", LONG_TEXT_CHARS)
        for category in CATEGORY_IDS:
            where = f"texts.{lang}.{category}"
            pair = _exact_keys(given[category], ("title", "description"), where)
            lang_texts[category] = {"title": _text(pair["title"], f"{where}.title", SHORT_TEXT_CHARS),
                                    "description": _text(pair["description"], f"{where}.description",
                                                         LONG_TEXT_CHARS)}
        result[lang] = lang_texts
    return result


def _categories(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or [c.get("id") if isinstance(c, dict) else None for c in value] != list(
            CATEGORY_IDS):
        raise MalformedPayloadError(f"categories must be the four categories in this order: {', '.join(CATEGORY_IDS)}.")
    result = []
    for category in value:
        where = f"categories.{category['id']}"
        if set(category) - {"id", "required", "cookies"}:
            raise MalformedPayloadError(f"{where} may only have id, required and cookies.")
        required = category["id"] == "necessary"
        if category.get("required", required) is not required:
            raise MalformedPayloadError("Only the necessary category is required, and it always is.")
        cookies = category.get("cookies", [])
        if not isinstance(cookies, list) or len(cookies) > MAX_COOKIES_PER_CATEGORY:
            raise MalformedPayloadError(f"{where}.cookies must be a list of at most {MAX_COOKIES_PER_CATEGORY}.")
        checked = []
        for index, cookie in enumerate(cookies):
            at = f"{where}.cookies[{index}]"
            cookie = _exact_keys(cookie, ("name", "purpose", "lifetime"), at)
            checked.append({
                "name": _text(cookie["name"], f"{at}.name", COOKIE_NAME_CHARS),
                "purpose": {lang: _text(text, f"{at}.purpose.{lang}", COOKIE_TEXT_CHARS)
                            for lang, text in _exact_keys(cookie["purpose"], LANGUAGES, f"{at}.purpose").items()},
                "lifetime": {lang: _text(text, f"{at}.lifetime.{lang}", COOKIE_TEXT_CHARS)
                             for lang, text in _exact_keys(cookie["lifetime"], LANGUAGES, f"{at}.lifetime").items()},
            })
        entry: dict[str, Any] = {"id": category["id"]}
        if required:
            entry["required"] = True
        entry["cookies"] = checked
        result.append(entry)
    return result


_POLICY_URL = re.compile(r"(/(?!/)|https://)[^\s<>\"'\\]*")


def _policy_url(value: Any) -> str:
    if not isinstance(value, str) or len(value) > POLICY_URL_CHARS or not _POLICY_URL.fullmatch(value):
        raise MalformedPayloadError("policyUrl must be a path on the shop (/policies/…) or an https:// address.")
    return value


def save_banner_config(session: Session, shop: Shop, changes: dict[str, Any], *,
                       bump_revision: bool) -> dict[str, Any]:
    """Store ``changes`` (validated here) over the shop's configuration; return the full document.

    The first save stores the whole editable part, so later changes to the defaults never
    alter a saved shop's texts. Adds to the caller's transaction; the caller commits.
    """
    validated = validate_changes(changes)
    row = session.get(BannerConfig, shop.id, with_for_update=True)
    if row is None:
        row = BannerConfig(shop_id=shop.id, config=default_settings(), revision=1)
        session.add(row)
    # A new dict, so the JSON column sees the change.
    row.config = {**default_settings(), **{k: v for k, v in row.config.items() if k in EDITABLE_KEYS}, **validated}
    if bump_revision:
        row.revision += 1
    session.flush()
    return build_config(shop.domain, row.config, row.revision)


def update_banner(session: Session, admin: ShopifyAdminClient, cipher: TokenCipher, shop: Shop,
                  changes: Any, *, actor: str) -> dict[str, Any]:
    """The merchant's save: store (a new revision when the texts or cookies shown change), audit, commit, publish.

    If publishing fails the change stays saved and the error says so; saving again publishes it.
    """
    validated = validate_changes(changes)
    db.begin_write(session)
    row = session.get(BannerConfig, shop.id, with_for_update=True)  # concurrent saves queue here
    current = build_config(shop.domain, row.config if row else None, row.revision if row else 1)
    bump = any(k in validated and validated[k] != current[k] for k in ("texts", "categories"))
    config = save_banner_config(session, shop, validated, bump_revision=bump)
    audit.record(session, shop.id, actor=actor, action="banner.saved", detail={
        "revision": config["revision"], "textHash": config["textHash"], "newRevision": bump,
        "policyUrl": config["policyUrl"], "texts": config["texts"], "categories": config["categories"],
    })
    session.commit()
    try:
        publish_banner_config(session, admin, cipher, shop)
    except (ShopifyApiError, ShopNotInstalledError) as exc:
        raise type(exc)(f"Saved, but not published to the theme ({exc}) Save again to retry.") from exc
    return config


def publish_banner_config(session: Session, admin: ShopifyAdminClient, cipher: TokenCipher,
                          shop: Shop) -> dict[str, Any]:
    """Write the configuration to the app-data metafield the app embed block reads; return what was written.

    Ends the session's transaction before calling Shopify (no transaction stays open over HTTP).
    """
    config = get_banner_config(session, shop)
    token = shops.usable_access_token(session, admin, cipher, shop)
    session.commit()
    installation = admin.graphql(shop.domain, token, CURRENT_APP_INSTALLATION_QUERY).data.get(
        "currentAppInstallation") or {}
    if not installation.get("id"):
        raise ShopifyApiError("Shopify did not return the app installation.")
    result = admin.graphql(shop.domain, token, BANNER_CONFIG_SET_MUTATION, {"metafields": [{
        "ownerId": installation["id"],
        "namespace": METAFIELD_NAMESPACE,
        "key": METAFIELD_KEY,
        "type": "json",
        "value": json.dumps(config, ensure_ascii=False, separators=(",", ":")),
    }]})
    payload = result.data.get("metafieldsSet") or {}
    errors = payload.get("userErrors") or []
    if errors or not payload.get("metafields"):
        detail = "; ".join(str(e.get("message")) for e in errors) or "no metafield returned"
        raise ShopifyApiError(f"Shopify refused the banner configuration: {detail}")
    return config


def embed_deep_link(shop_domain: str, api_key: str) -> str:
    """The theme editor, App embeds tab, with our embed selected and switched on (the merchant saves).

    Format from Shopify's "Configure theme app extensions" page (app embed block deep linking):
    ``https://<myshopifyDomain>/admin/themes/current/editor?context=apps&template=…&activateAppId={api_key}/{handle}``;
    without ``template`` the editor opens the index template.
    """
    return (f"https://{shop_domain}/admin/themes/current/editor?context=apps"
            f"&activateAppId={quote(api_key, safe='')}/{EMBED_HANDLE}")


def banner_embed_status(session: Session, admin: ShopifyAdminClient, cipher: TokenCipher, shop: Shop, *,
                        api_key: str | None = None) -> EmbedStatus:
    """Is the consent banner embed on in the live (MAIN) theme? Reads its ``config/settings_data.json``.

    The deep link needs the app's API key (its client id): ``api_key`` if given, else the one
    Shopify reports for the installation, read in the same query.
    """
    revision = get_banner_config(session, shop)["revision"]
    token = shops.usable_access_token(session, admin, cipher, shop)
    session.commit()
    result = admin.graphql(shop.domain, token, MAIN_THEME_SETTINGS_DATA_QUERY)
    app = (result.data.get("currentAppInstallation") or {}).get("app") or {}
    deep_link = embed_deep_link(shop.domain, api_key or str(app.get("apiKey") or ""))
    themes = (result.data.get("themes") or {}).get("nodes") or []
    if not themes:
        return EmbedStatus(enabled=None, theme_name=None, deep_link=deep_link, revision=revision,
                           reason="no published theme")
    theme = themes[0]
    files = (theme.get("files") or {}).get("nodes") or []
    content = ((files[0] or {}).get("body") or {}).get("content") if files else None
    enabled = embed_enabled(content)
    return EmbedStatus(enabled=enabled, theme_name=theme.get("name"), deep_link=deep_link, revision=revision,
                       reason="config/settings_data.json could not be read" if enabled is None else None)


_LEADING_COMMENT = re.compile(r"\A\s*/\*.*?\*/", re.S)


def embed_enabled(settings_data: str | None) -> bool | None:
    """True if ``settings_data.json`` has our embed block, not disabled; None if the file cannot be read.

    Shopify adds the block only once the merchant first enables the embed, and then sets
    ``disabled`` when it is switched off. The file starts with a ``/* … */`` comment.
    """
    if not isinstance(settings_data, str):
        return None
    text = settings_data
    while (match := _LEADING_COMMENT.match(text)) is not None:
        text = text[match.end():]
    try:
        data = json.loads(text)
    except ValueError:
        return None
    current = data.get("current") if isinstance(data, dict) else None
    if isinstance(current, str):  # a theme still on one of its presets names it here
        current = (data.get("presets") or {}).get(current)
    if not isinstance(current, dict):
        return None
    blocks = current.get("blocks") or {}
    if not isinstance(blocks, dict):
        return None
    marker = f"/blocks/{EMBED_HANDLE}/"
    return any(isinstance(block, dict) and marker in str(block.get("type", "")) and not block.get("disabled", False)
               for block in blocks.values())


@functools.cache
def _assets() -> tuple[str, str]:
    return ((ASSETS / "consent-banner.js").read_text(encoding="utf-8"),
            (ASSETS / "consent-banner.css").read_text(encoding="utf-8"))


def _script_json(value: Any) -> str:
    """JSON that is also safe JavaScript anywhere, even if the file is ever inlined in HTML."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                         ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def storefront_script(config: dict[str, Any]) -> bytes:
    """The banner for headless storefronts: the configuration, the stylesheet injector, then the banner itself."""
    script, css = _assets()
    return (
        f"window.PrivacyConsentConfig={_script_json(config)};\n"
        "(function(d){if(d.getElementById('pc-consent-css'))return;var s=d.createElement('style');"
        f"s.id='pc-consent-css';s.textContent={_script_json(css)};(d.head||d.documentElement).appendChild(s);}})(document);\n"
        f"{script}"
    ).encode()
