"""Checks a privacy policy for cookie wording that French law no longer accepts.

Until 2020 many French shops wrote that "continuing to browse constitutes agreement
to cookies". The CNIL's guidelines and recommendation of 17 September 2020
(deliberations 2020-091 and 2020-092, enforced from 31 March 2021) apply the GDPR
definition of consent to cookies (Loi Informatique et Libertés, art. 82): consent
is a clear positive act, given before any non-essential cookie is placed; browsing
on, scrolling or staying on the site is not consent.

The text checked is the one the merchant keeps in Settings; until they paste their
own, it is the seed privacy policy of Le Petit Lunetier (``data/``), the same source
as the default policy facts in :mod:`shopify_app.services.policy`. Reading the live
policy from Shopify would need the ``read_legal_policies`` scope, which the app does
not ask for.
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache
from pathlib import Path

SEED_POLICY_PATH = Path(__file__).resolve().parent / "data" / "seed-privacy-policy.txt"
MAX_QUOTES = 5


@dataclasses.dataclass(frozen=True)
class Rule:
    id: str
    patterns: tuple[re.Pattern[str], ...]
    why: dict[str, str]
    suggested: dict[str, str]


@dataclasses.dataclass(frozen=True)
class Finding:
    """One kind of outdated wording, the sentences where it was found, why it must go and what to write."""

    rule: str
    quotes: tuple[str, ...]
    why: str
    suggested: str


def _compile(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


IMPLIED_CONSENT = Rule(
    id="implied_consent",
    patterns=_compile(
        r"continu\w*\s+(?:their|your|his|her|the)\s+brows\w*\s+constitutes?\s+(?:an?\s+)?"
        r"(?:agreement|acceptance|consent)",
        r"by\s+(?:being\s+on|using|browsing|visiting|staying\s+on|continuing\s+to\s+(?:use|browse))\s+"
        r"(?:our|this|the)\s+(?:site|website|store|shop)[^.\n]{0,40}?you\s+(?:accept|agree|consent)",
        r"banner\s+will\s+not\s+disappear\s+until\s+[^.\n]{0,40}continued\s+(?:their|your)\s+brows",
        r"otherwise,?\s+the\s+cookies\s+(?:listed\s+above\s+)?will\s+be\s+(?:stored|placed|deposited)",
        r"(?:la\s+)?poursuite\s+de\s+(?:la|votre|sa)\s+navigation\s+vaut\s+(?:accord|acceptation|consentement)",
        r"en\s+poursuivant\s+(?:votre|la|sa)\s+navigation[^.\n]{0,80}?(?:vous\s+)?accept\w*",
    ),
    why={
        "en": "Since the CNIL's guidelines and recommendation of 17 September 2020 (deliberations 2020-091 and "
              "2020-092, enforced since 31 March 2021), consent to cookies must be a clear positive act given "
              "before any non-essential cookie is placed. Continuing to browse, scrolling or staying on the site "
              "is not consent; refusing must be as easy as accepting; and you must be able to prove each consent. "
              "A policy that says otherwise misinforms your customers, and the CNIL has fined sites for it.",
        "fr": "Depuis les lignes directrices et la recommandation de la CNIL du 17 septembre 2020 (délibérations "
              "2020-091 et 2020-092, applicables depuis le 31 mars 2021), le consentement aux cookies doit être un "
              "acte positif clair, donné avant le dépôt de tout cookie non strictement nécessaire. Poursuivre sa "
              "navigation, faire défiler la page ou rester sur le site ne vaut pas consentement ; refuser doit être "
              "aussi simple qu'accepter ; et vous devez pouvoir prouver chaque consentement. Une politique qui dit "
              "le contraire informe mal vos clients, et la CNIL a déjà sanctionné des sites pour cela.",
    },
    suggested={
        "en": "When you first visit our site, a banner asks for your consent before we place any cookie that is "
              "not strictly necessary (audience measurement, advertising, retargeting). You can accept them all, "
              "refuse them all with one click, or choose purpose by purpose. Continuing to browse does not mean "
              "you accept, and closing the banner without choosing means you refuse. Refusing is as easy as "
              "accepting, and the site works either way. You can change or withdraw your choice at any time with "
              "the \u201cCookie settings\u201d link at the bottom of every page. We keep your choice for 6 months, "
              "after which we ask again, and we keep a record of it as proof of your consent for 13 months. "
              "Strictly necessary cookies (cart, session, security) do not require consent.",
        "fr": "Lors de votre première visite, un bandeau vous demande votre consentement avant le dépôt de tout "
              "cookie non strictement nécessaire (mesure d'audience, publicité, reciblage). Vous pouvez tout "
              "accepter, tout refuser en un clic ou choisir finalité par finalité. Poursuivre votre navigation ne "
              "vaut pas acceptation, et fermer le bandeau sans choisir vaut refus. Refuser est aussi simple "
              "qu'accepter, et le site fonctionne dans les deux cas. Vous pouvez modifier ou retirer votre choix à "
              "tout moment grâce au lien \u00ab\u00a0Paramètres des cookies\u00a0\u00bb en bas de chaque page. "
              "Votre choix est conservé 6 mois, après quoi il vous est redemandé, et nous en gardons la preuve "
              "pendant 13 mois. Les cookies strictement nécessaires (panier, session, sécurité) ne requièrent pas "
              "de consentement.",
    },
)

REPEALED_DELIBERATION = Rule(
    id="repealed_deliberation",
    patterns=_compile(r"(?:deliberation|délibération)\s+(?:n[°o.]?\s*)?2013-378"),
    why={
        "en": "CNIL deliberation 2013-378 (the 2013 cookie recommendation) was repealed in 2019 and replaced by "
              "deliberations 2020-091 and 2020-092 of 17 September 2020. Citing it describes rules that no longer "
              "apply.",
        "fr": "La délibération 2013-378 de la CNIL (la recommandation cookies de 2013) a été abrogée en 2019 et "
              "remplacée par les délibérations 2020-091 et 2020-092 du 17 septembre 2020. La citer décrit des "
              "règles qui ne s'appliquent plus.",
    },
    suggested={
        "en": "In accordance with article 82 of the French Data Protection Act and the CNIL's guidelines and "
              "recommendation on cookies of 17 September 2020 (deliberations 2020-091 and 2020-092), we ask for "
              "your consent before placing cookies that are not strictly necessary.",
        "fr": "Conformément à l'article 82 de la loi Informatique et Libertés et aux lignes directrices et à la "
              "recommandation de la CNIL du 17 septembre 2020 (délibérations 2020-091 et 2020-092), nous recueillons "
              "votre consentement avant de déposer des cookies non strictement nécessaires.",
    },
)

RULES = (IMPLIED_CONSENT, REPEALED_DELIBERATION)



@lru_cache(maxsize=1)
def seed_policy_text() -> str:
    """The seed privacy policy (Le Petit Lunetier), the text checked until the merchant pastes theirs."""
    return SEED_POLICY_PATH.read_text(encoding="utf-8")


def _sentence_around(text: str, start: int, end: int) -> str:
    left = max(text.rfind(ch, 0, start) for ch in ".!?\n") + 1
    stops = [i for i in (text.find(ch, end) for ch in ".!?\n") if i != -1]
    right = min(stops) + 1 if stops else len(text)
    return " ".join(text[left:right].split()).lstrip("- ")


def review_policy(text: str | None, language: str) -> list[Finding]:
    """Outdated cookie wording in ``text``: one finding per rule that matches, with the sentences quoted."""
    if not text:
        return []
    findings = []
    for rule in RULES:
        quotes: list[str] = []
        for pattern in rule.patterns:
            for match in pattern.finditer(text):
                quote = _sentence_around(text, match.start(), match.end())
                if quote and quote not in quotes:
                    quotes.append(quote)
        if quotes:
            lang = language if language in rule.why else "en"
            findings.append(Finding(rule.id, tuple(quotes[:MAX_QUOTES]), rule.why[lang], rule.suggested[lang]))
    return findings
