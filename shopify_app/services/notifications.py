"""The emails a shopper gets about their storefront request, in French or English.

Each goes to the one address the shopper typed in the form (``StorefrontRequest.email``) and
nowhere else. Texts are plain; values are substituted, never interpreted.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session

from shopify_app import mail
from shopify_app.models import Shop, ShopSettings, StorefrontRequest
from shopify_app.services import audit
from shopify_app.settings import Settings

log = logging.getLogger(__name__)

RIGHT_NAMES = {
    "en": {"access": "access to your data", "rectification": "rectification of your data",
           "erasure": "erasure of your data", "objection": "objection to marketing",
           "post_mortem_directive": "directive about your data after your death"},
    "fr": {"access": "accès à vos données", "rectification": "rectification de vos données",
           "erasure": "effacement de vos données", "objection": "opposition à la prospection",
           "post_mortem_directive": "directive sur le sort de vos données après votre décès"},
}

OUTCOME_NAMES = {
    "en": {"answered": "answered", "erased": "your data was erased", "handled_outside": "handled outside this app",
           "identity_not_verified": "refused: your identity could not be verified",
           "duplicate": "closed as a duplicate of another request", "withdrawn": "withdrawn", "other": "closed"},
    "fr": {"answered": "traitée", "erased": "vos données ont été effacées", "handled_outside": "traitée par ailleurs",
           "identity_not_verified": "refusée : votre identité n'a pas pu être vérifiée",
           "duplicate": "close, doublon d'une autre demande", "withdrawn": "retirée", "other": "close"},
}

MESSAGES: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "confirm": ("Confirm your privacy request to {shop}",
                    "Someone (we hope you) asked {shop} for {right} with this email address.\n\n"
                    "To confirm the request, open this link within 24 hours:\n{link}\n\n"
                    "If you did not ask for this, ignore this email: nothing happens without your confirmation."),
        "received": ("{shop} received your privacy request",
                     "{shop} received your request for {right}. The shop must answer by {due}.\n"),
        "extended": ("{shop} needs more time for your privacy request",
                     "{shop} has extended the deadline for your request for {right} to {due}, as the GDPR "
                     "(art. 12(3)) allows for complex or numerous requests.\n\nReason given by the shop:\n{reason}\n"),
        "report_link": ("Your data from {shop}",
                        "The copy of your data held by {shop} is ready. Download it within 7 days (the link works "
                        "{downloads} times):\n{link}\n\nKeep the file safe: it contains your personal data."),
        "erased": ("{shop} erased your data",
                   "{shop} has erased your data as you asked, and asked Shopify to erase it too (Shopify completes "
                   "it within a few days, or after 6 months if you ordered recently).\n\n"
                   "What is kept, and why:\n{kept}\n"),
        "objection_done": ("{shop} will no longer send you marketing",
                           "{shop} has recorded your objection to marketing ({channels}).\n"),
        "handled": ("{shop} handled your privacy request",
                    "{shop} has handled your request for {right}.\n\n{note}\n"),
        "closed": ("Your privacy request to {shop} is closed",
                   "Your request for {right} to {shop} is closed: {outcome}.\n\n{note}\n"
                   "If you disagree, you may complain to the CNIL (www.cnil.fr) or your data protection authority."),
    },
    "fr": {
        "confirm": ("Confirmez votre demande à {shop}",
                    "Quelqu'un (vous, nous l'espérons) a demandé à {shop} : {right}, avec cette adresse e-mail.\n\n"
                    "Pour confirmer la demande, ouvrez ce lien dans les 24 heures :\n{link}\n\n"
                    "Si vous n'êtes pas à l'origine de cette demande, ignorez cet e-mail : rien ne se passe sans "
                    "votre confirmation."),
        "received": ("{shop} a reçu votre demande",
                     "{shop} a reçu votre demande ({right}). La boutique doit y répondre avant le {due}.\n"),
        "extended": ("{shop} a besoin de plus de temps pour votre demande",
                     "{shop} a prolongé le délai de réponse à votre demande ({right}) jusqu'au {due}, comme le RGPD "
                     "(art. 12.3) le permet pour les demandes complexes ou nombreuses.\n\nMotif indiqué par la "
                     "boutique :\n{reason}\n"),
        "report_link": ("Vos données chez {shop}",
                        "La copie de vos données détenues par {shop} est prête. Téléchargez-la dans les 7 jours "
                        "(le lien fonctionne {downloads} fois) :\n{link}\n\nConservez ce fichier en lieu sûr : il "
                        "contient vos données personnelles."),
        "erased": ("{shop} a effacé vos données",
                   "{shop} a effacé vos données comme vous l'avez demandé, et a demandé à Shopify de les effacer aussi "
                   "(Shopify le fait sous quelques jours, ou après 6 mois si vous avez commandé récemment).\n\n"
                   "Ce qui est conservé, et pourquoi :\n{kept}\n"),
        "objection_done": ("{shop} ne vous enverra plus de prospection",
                           "{shop} a enregistré votre opposition à la prospection ({channels}).\n"),
        "handled": ("{shop} a traité votre demande",
                    "{shop} a traité votre demande ({right}).\n\n{note}\n"),
        "closed": ("Votre demande à {shop} est close",
                   "Votre demande ({right}) à {shop} est close : {outcome}.\n\n{note}\n"
                   "En cas de désaccord, vous pouvez saisir la CNIL (www.cnil.fr)."),
    },
}


def shop_name(session: Session, shop: Shop) -> str:
    """The name the shopper knows: the controller in the merchant's policy facts, else the domain."""
    shop_settings = session.get(ShopSettings, shop.id)
    name = (shop_settings.policy or {}).get("controller") if shop_settings else None
    return str(name or shop.domain)


def format_date(moment: dt.datetime, language: str) -> str:
    return moment.strftime("%d/%m/%Y" if language == "fr" else "%Y-%m-%d") + " (UTC)"


def render(key: str, language: str, **values: str) -> tuple[str, str]:
    lang = language if language in MESSAGES else "en"
    subject, body = MESSAGES[lang][key]
    values.setdefault("right", "")
    return subject.format(**values), body.format(**values)


def send(settings: Settings, to: str, key: str, language: str, **values: str) -> None:
    """Render ``key`` and send it to ``to`` alone. Raises :class:`~shopify_app.mail.MailError`."""
    subject, body = render(key, language, **values)
    mail.send(settings, to, subject, body, language=language if language in MESSAGES else "en")


def notify_shopper(session: Session, settings: Settings, storefront: StorefrontRequest, key: str, *,
                   privacy_request_id: int | None, actor: str, **values: str) -> bool:
    """Best effort: tell the shopper what happened; a mail failure is audited, not raised. Does not commit.

    Used once the change itself is done (an email must not undo an erasure).
    """
    if not storefront.email:
        return False
    shop = session.get(Shop, storefront.shop_id)
    assert shop is not None
    language = storefront.language
    values.setdefault("shop", shop_name(session, shop))
    values.setdefault("right", RIGHT_NAMES.get(language, RIGHT_NAMES["en"]).get(storefront.right, storefront.right))
    try:
        send(settings, storefront.email, key, language, **values)
    except mail.MailError as exc:
        log.warning("Shopper notification %s for request %s not sent: %s", key, privacy_request_id, exc)
        audit.record(session, storefront.shop_id, actor=actor, action="shopper.notification_failed",
                     privacy_request_id=privacy_request_id, detail={"message": key})
        return False
    audit.record(session, storefront.shop_id, actor=actor, action="shopper.notified",
                 privacy_request_id=privacy_request_id, detail={"message": key})
    return True
