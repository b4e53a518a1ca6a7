"""The merchant's settings: contacts, the policy facts used in reports, report language, retention.

:func:`parse_settings` validates what the Settings form sends and says, field by field,
what is wrong, in the admin's language; :func:`save_settings` stores a valid form and
records which fields changed in the audit log (names only, never values).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from shopify_app import db
from shopify_app.i18n import translate
from shopify_app.models import ShopSettings
from shopify_app.services import audit, policy, policy_review

REPORT_LANGUAGES = ("auto", "fr", "en")
POLICY_LISTS = ("purposes", "data_categories", "recipients", "retention")
"""The lists of ``shop_settings.policy`` that the form edits; its other keys are kept as they are."""

POLICY_TEXT_KEY = "privacy_policy_text"
MAX_ITEMS = 40
MAX_ITEM_CHARS = 500
MAX_POLICY_TEXT_CHARS = 100_000
MAX_EMAIL_CHARS = 320
EMAIL = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]{2,}")

RETENTION_FIELDS: dict[str, tuple[int, int]] = {
    "consent_retention_months": (1, 60),
    "request_retention_months": (1, 120),
    "audit_retention_months": (12, 120),
}
"""Retention of what this app stores, in months: (min, max). Reports are fixed at 30 days."""

SCALAR_FIELDS = ("contact_email", "dpo_email", "report_language", POLICY_TEXT_KEY, *RETENTION_FIELDS)
LIST_FIELDS = tuple(f"{name}_{lang}" for name in POLICY_LISTS for lang in ("en", "fr"))
FORM_FIELDS = frozenset((*SCALAR_FIELDS, *LIST_FIELDS))


def policy_text_of(settings_row: ShopSettings | None) -> str:
    """The privacy policy text checked for outdated wording: the merchant's, or the seed policy."""
    stored = (settings_row.policy or {}).get(POLICY_TEXT_KEY) if settings_row else None
    return policy_review.seed_policy_text() if stored is None else str(stored)


def _lines(items: list[Any], language: str) -> str:
    return "\n".join(str(item.get(language) or item.get("en") or "") if isinstance(item, dict) else str(item)
                     for item in items)


def form_values(settings_row: ShopSettings | None) -> dict[str, str]:
    """The Settings form as it should show now: stored values, pre-filled from the default policy."""
    stored = dict(settings_row.policy or {}) if settings_row else {}
    defaults = policy.default_policy()
    values: dict[str, str] = {
        "contact_email": (settings_row.contact_email if settings_row else None)
        or str(stored.get("contact_email") or defaults.get("contact_email") or ""),
        "dpo_email": (settings_row.dpo_email if settings_row else None) or "",
        "report_language": settings_row.report_language if settings_row else "auto",
        POLICY_TEXT_KEY: policy_text_of(settings_row),
    }
    for name in RETENTION_FIELDS:
        values[name] = str(getattr(settings_row, name, None) or ShopSettings.__table__.c[name].default.arg)
    for name in POLICY_LISTS:
        items = stored.get(name)
        if not isinstance(items, list) or not items:
            items = defaults.get(name, [])
        values[f"{name}_en"] = _lines(items, "en")
        has_french = any(isinstance(i, dict) and i.get("fr") for i in items)
        values[f"{name}_fr"] = _lines(items, "fr") if has_french else ""
    return values


@dataclasses.dataclass(frozen=True)
class SettingsForm:
    """A validated form: ``errors`` maps a field name to a message; ``cleaned`` is set only when there are none."""

    values: dict[str, str]
    errors: dict[str, str]
    cleaned: dict[str, Any] | None


def _split(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def _parse_list(name: str, values: Mapping[str, str], errors: dict[str, str], language: str) -> list[dict[str, str]]:
    english, french = _split(values.get(f"{name}_en", "")), _split(values.get(f"{name}_fr", ""))
    if not english:
        errors[f"{name}_en"] = translate(language, "settings.error.list_empty")
        return []
    for field, items in ((f"{name}_en", english), (f"{name}_fr", french)):
        if len(items) > MAX_ITEMS:
            errors[field] = translate(language, "settings.error.list_count", max=MAX_ITEMS)
        too_long = next((i for i, item in enumerate(items, 1) if len(item) > MAX_ITEM_CHARS), None)
        if too_long:
            errors[field] = translate(language, "settings.error.list_item", max=MAX_ITEM_CHARS, line=too_long)
    if french and len(french) != len(english):
        errors[f"{name}_fr"] = translate(language, "settings.error.list_lines", fr=len(french), en=len(english))
    if french and len(french) == len(english):
        return [{"en": en, "fr": fr} for en, fr in zip(english, french, strict=True)]
    return [{"en": en} for en in english]


def parse_settings(data: Mapping[str, Any], language: str) -> SettingsForm:
    """Validate the Settings form (all values as strings, as a form sends them)."""
    errors: dict[str, str] = {}
    unknown = sorted(set(data) - FORM_FIELDS)
    if unknown:
        errors["form"] = translate(language, "settings.error.unknown", field=", ".join(unknown)[:200])
    values = {name: ("" if data.get(name) is None else str(data.get(name))) for name in FORM_FIELDS}
    cleaned: dict[str, Any] = {}

    contact = values["contact_email"].strip()
    if not contact:
        errors["contact_email"] = translate(language, "settings.error.email_required")
    elif len(contact) > MAX_EMAIL_CHARS or not EMAIL.fullmatch(contact):
        errors["contact_email"] = translate(language, "settings.error.email")
    cleaned["contact_email"] = contact
    dpo = values["dpo_email"].strip()
    if dpo and (len(dpo) > MAX_EMAIL_CHARS or not EMAIL.fullmatch(dpo)):
        errors["dpo_email"] = translate(language, "settings.error.email")
    cleaned["dpo_email"] = dpo or None

    if values["report_language"] not in REPORT_LANGUAGES:
        errors["report_language"] = translate(language, "settings.error.language")
    cleaned["report_language"] = values["report_language"]

    for name, (low, high) in RETENTION_FIELDS.items():
        raw = values[name].strip()
        if raw.isascii() and raw.isdigit() and low <= int(raw) <= high:
            cleaned[name] = int(raw)
        else:
            errors[name] = translate(language, "settings.error.months", min=low, max=high)

    cleaned["policy_lists"] = {name: _parse_list(name, values, errors, language) for name in POLICY_LISTS}

    text = values[POLICY_TEXT_KEY].replace("\r\n", "\n").strip()
    if len(text) > MAX_POLICY_TEXT_CHARS:
        errors[POLICY_TEXT_KEY] = translate(language, "settings.error.policy_text", max=MAX_POLICY_TEXT_CHARS)
    cleaned[POLICY_TEXT_KEY] = text
    return SettingsForm(values, errors, None if errors else cleaned)


def save_settings(session: Session, shop_id: int, cleaned: Mapping[str, Any], *, actor: str) -> list[str]:
    """Store a valid form; return the names of the fields that changed (also audited). Commits."""
    db.begin_write(session)
    row = session.get(ShopSettings, shop_id)
    if row is None:
        row = ShopSettings(shop_id=shop_id, policy=policy.default_policy())
        session.add(row)
    changed: list[str] = []
    for name in ("contact_email", "dpo_email", "report_language", *RETENTION_FIELDS):
        if getattr(row, name) != cleaned[name]:
            setattr(row, name, cleaned[name])
            changed.append(name)
    new_policy = dict(row.policy or {})
    for name, items in cleaned["policy_lists"].items():
        if new_policy.get(name) != items:
            new_policy[name] = items
            changed.append(name)
    if new_policy.get(POLICY_TEXT_KEY, policy_review.seed_policy_text().strip()) != cleaned[POLICY_TEXT_KEY]:
        new_policy[POLICY_TEXT_KEY] = cleaned[POLICY_TEXT_KEY]
        changed.append(POLICY_TEXT_KEY)
    if new_policy != (row.policy or {}):
        row.policy = new_policy  # a new dict, so the JSON column is seen as changed
    if changed:
        audit.record(session, shop_id, actor=actor, action="settings.updated", detail={"fields": changed})
    session.commit()
    return changed
