"""Online Store themes of the double and their ``config/settings_data.json``.

Each seeded shop gets a ``MAIN`` theme ("Dawn") and an ``UNPUBLISHED`` copy.  The body of
``config/settings_data.json`` is rendered on every read from the shop's app embed state, so
:func:`set_app_embed` changes are visible immediately.  Like real Shopify files it starts
with a ``/* ... */`` comment block before the JSON object: readers must strip it.

App embed blocks appear under ``current.blocks`` as::

    "<block id>": {"type": "shopify://apps/<app handle>/blocks/<block handle>/<uuid>",
                   "disabled": false, "settings": {}}

An embed that was never enabled has no block at all; a disabled one has ``"disabled": true``.
A third-party embed (Klaviyo) is always present, so detection must match on the handle.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from .data import ShopState, gid, iso, utcnow

__all__ = ["SETTINGS_DATA", "file_nodes", "seed_themes", "set_app_embed"]

SETTINGS_DATA = "config/settings_data.json"
SETTINGS_HEADER = """/*
 * ------------------------------------------------------------
 * IMPORTANT: The contents of this file are auto-generated.
 *
 * This file may be updated by the Shopify admin theme editor
 * or related systems. Please exercise caution as any changes
 * made to this file may be overwritten.
 * ------------------------------------------------------------
 */
"""
_THIRD_PARTY_BLOCK = {
    "type": "shopify://apps/klaviyo-email-marketing-sms/blocks/klaviyo-onsite-embed/"
            "2632fe16-c075-4321-a88b-50b567f42507",
    "disabled": False,
    "settings": {},
}


def seed_themes(shop: ShopState) -> None:
    """Create the MAIN and UNPUBLISHED themes of ``shop`` (replacing existing ones)."""
    created = iso(utcnow())
    shop.themes = []
    for number, name, role in ((140000000001, "Dawn", "MAIN"),
                               (140000000002, "Dawn - copie de travail", "UNPUBLISHED")):
        theme = {
            "__typename": "OnlineStoreTheme", "id": gid("OnlineStoreTheme", number),
            "name": name, "role": role, "prefix": f"/t/{number % 1000}",
            "processing": False, "processingFailed": False, "themeStoreId": 887,
            "createdAt": created, "updatedAt": created, "translations": [],
        }
        shop.themes.append(theme)
        shop.nodes[theme["id"]] = theme


def set_app_embed(
    shop: ShopState, enabled: bool, handle: str = "consent-banner", app: str = "privacy-app"
) -> None:
    """Enable/disable the app embed block ``handle`` of app ``app`` in the MAIN theme."""
    key = f"{app}/{handle}"
    ext_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://apps.shopify.com/{key}"))
    shop.app_embeds[key] = {"app": app, "handle": handle, "uuid": ext_uuid, "enabled": enabled}
    for theme in shop.themes:
        if theme["role"] == "MAIN":
            theme["updatedAt"] = iso(utcnow())


def _settings_json(shop: ShopState, theme: dict[str, Any]) -> str:
    blocks: dict[str, Any] = {"4913771530712306000": dict(_THIRD_PARTY_BLOCK)}
    if theme["role"] == "MAIN":
        for embed in shop.app_embeds.values():
            block_id = str(int(hashlib.sha1(embed["uuid"].encode()).hexdigest()[:15], 16))
            blocks[block_id] = {
                "type": f"shopify://apps/{embed['app']}/blocks/{embed['handle']}/{embed['uuid']}",
                "disabled": not embed["enabled"],
                "settings": {"position": "bottom", "show_reject_button": True},
            }
    data = {
        "current": {
            "logo_width": 120,
            "type_header_font": "assistant_n4",
            "colors_solid_button_labels": "#FFFFFF",
            "sections": {"header": {"type": "header", "settings": {"menu": "main-menu"}}},
            "content_for_index": [],
            "blocks": blocks,
        },
        "presets": {"Dawn": {"logo_width": 90, "sections": {}, "content_for_index": []}},
    }
    return SETTINGS_HEADER + json.dumps(data, indent=2, ensure_ascii=False)


def _files(shop: ShopState, theme: dict[str, Any]) -> dict[str, str]:
    return {
        SETTINGS_DATA: _settings_json(shop, theme),
        "layout/theme.liquid": "<!doctype html>\n<html lang=\"{{ request.locale.iso_code }}\">"
                               "\n<head>{{ content_for_header }}</head>\n"
                               "<body>{{ content_for_layout }}</body>\n</html>\n",
        "templates/index.json": json.dumps({"sections": {}, "order": []}),
    }


def file_nodes(
    shop: ShopState, theme: dict[str, Any], filenames: list[str] | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return ``(OnlineStoreThemeFile dicts, userErrors)`` for ``filenames`` (all if None)."""
    files = _files(shop, theme)
    wanted = filenames if filenames is not None else sorted(files)
    found, missing = [], []
    for name in wanted:
        if name not in files:
            missing.append({"filename": name, "code": "NOT_FOUND"})
            continue
        content = files[name]
        raw = content.encode()
        found.append({
            "filename": name,
            "body": {"__typename": "OnlineStoreThemeFileBodyText", "content": content},
            "checksumMd5": hashlib.md5(raw).hexdigest(),
            "contentType": "application/json" if name.endswith(".json") else "text/x-liquid",
            "size": str(len(raw)),
            "createdAt": theme["createdAt"],
            "updatedAt": theme["updatedAt"],
        })
    return found, missing
