"""The admin's texts (English and French) and the privacy policy review."""

from __future__ import annotations

import re
import string

import pytest

from shopify_app import i18n
from shopify_app.services import policy_review
from shopify_app.services.admin_views import describe_action, summarize_detail


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_text_exists_in_both_languages_with_the_same_placeholders():
    english, french = i18n.STRINGS["en"], i18n.STRINGS["fr"]
    assert set(english) == set(french)
    for key in english:
        assert placeholders(english[key]) == placeholders(french[key]), key
        assert french[key].strip(), key


@pytest.mark.parametrize("locale, language", [("fr", "fr"), ("fr-FR", "fr"), ("FR_ca", "fr"), ("en-US", "en"),
                                              ("de-DE", "en"), ("", "en"), (None, "en"), ("french", "fr")])
def test_the_language_follows_the_admin_locale(locale, language):
    assert i18n.language_from_locale(locale) == language


def test_audit_actions_read_as_sentences():
    assert describe_action("request.closed", {"outcome": "answered"}, "fr") == \
        "Clôturée : Répondu : les données ont été envoyées au client"
    assert describe_action("report.downloaded", {"format": "json"}, "en") == "Report downloaded (JSON)"
    assert describe_action("something.new", {}, "en") == "something.new"
    assert summarize_detail({"identifiers": {"email": {"salt": "s", "sha256": "h"}},
                             "counts": {"consent_records_deleted": 2}, "topic": "customers/redact"}) == \
        "consent_records_deleted=2; topic=customers/redact"


def audit_actions_in_the_code() -> set[str]:
    """Every ``audit.record(..., action=...)`` name written in the product, ``{kind}`` ones expanded."""
    from pathlib import Path

    from shopify_app.models import RequestKind

    root = Path(__file__).resolve().parents[2]
    names: set[str] = set()
    for path in [*root.joinpath("shopify_app").rglob("*.py"), *root.joinpath("workers").rglob("*.py")]:
        text = path.read_text()
        if "audit.record(" not in text and "def record(" not in text:
            continue
        names |= set(re.findall(r'action="([a-z_]+\.[a-z_.]+)"', text))
        if 'action=f"{privacy_request.kind}.recorded"' in text:  # rectifications and post-mortem directives
            names |= {f"{kind}.recorded" for kind in (RequestKind.RECTIFICATION, RequestKind.POST_MORTEM_DIRECTIVE)}
    names.add("report.compiled")  # chosen by kind in services/privacy_requests.py
    return names


def test_every_audit_action_in_the_code_has_words_in_both_languages():
    actions = audit_actions_in_the_code()
    assert len(actions) > 20
    for language in ("en", "fr"):
        unnamed = sorted(a for a in actions if describe_action(a, {}, language) == a)
        assert not unnamed, (language, unnamed)


def test_the_seed_policy_is_flagged_with_its_exact_sentences():
    findings = {f.rule: f for f in policy_review.review_policy(policy_review.seed_policy_text(), "en")}
    implied = findings["implied_consent"]
    assert "By being on our site, you accept the use of cookies." in implied.quotes
    assert any("continuing their browsing constitutes agreement to the placing of cookies" in q for q in implied.quotes)
    assert "2020-091" in implied.why and "2020-092" in implied.why and "clear positive act" in implied.why
    assert "refuse them all with one click" in implied.suggested
    assert "2013-378" in findings["repealed_deliberation"].quotes[0]
    french = policy_review.review_policy(policy_review.seed_policy_text(), "fr")
    assert french[0].why.startswith("Depuis les lignes directrices")


@pytest.mark.parametrize("text", [
    "En poursuivant votre navigation sur ce site, vous acceptez l'utilisation de cookies.",
    "La poursuite de la navigation vaut acceptation du dépôt de cookies.",
    "By using our website, you agree to our use of cookies.",
    "Continuing your browsing constitutes acceptance of cookies.",
])
def test_other_implied_consent_wordings_are_flagged(text):
    [finding] = policy_review.review_policy(text, "en")
    assert finding.rule == "implied_consent" and finding.quotes == (text,)


def test_a_compliant_policy_raises_nothing():
    compliant = policy_review.IMPLIED_CONSENT.suggested["en"] + " " + policy_review.IMPLIED_CONSENT.suggested["fr"]
    assert policy_review.review_policy(compliant, "en") == []
    assert policy_review.review_policy("", "en") == []
    assert not re.search(r"\b2013-378\b", policy_review.REPEALED_DELIBERATION.suggested["en"])


def test_the_admin_script_keeps_nothing_in_the_browser():
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "shopify_app" / "static" / "admin" / "admin.js").read_text()
    script = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)  # the code, without its comments
    assert not re.search(r"localStorage\s*[.\[]|sessionStorage\s*[.\[]|document\.cookie|indexedDB", script)
    assert "credentials: 'omit'" in script  # fetch never sends cookies
