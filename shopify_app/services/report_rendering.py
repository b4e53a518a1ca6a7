"""The printable HTML version of a subject-access report, in French or English."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your personal data", "intro": "This report lists the personal data that {shop} holds about you, "
        "as required by articles 15 and 20 of the GDPR. It was generated on {date}.",
        "controller": "Who is responsible", "contact": "Contact", "dpo": "Data protection officer",
        "customer": "Your customer account", "name": "Name", "email": "Email", "phone": "Phone",
        "marketing": "Marketing consent", "addresses": "Addresses", "locale": "Language", "created": "Created",
        "updated": "Last updated", "tags": "Tags", "note": "Note", "orders": "Your orders", "order": "Order",
        "date": "Date", "total": "Total", "items": "Items", "shipping": "Shipping address", "billing": "Billing address",
        "held": "Data held by our privacy app", "consents": "Cookie consent choices", "requests": "Privacy requests",
        "history": "History", "purposes": "Why we process your data", "categories": "Categories of data",
        "recipients": "Who receives it", "retention": "How long we keep it", "rights": "Your rights",
        "exercise": "How to exercise them", "unavailable": "What could not be included",
        "none": "None", "no_customer": "No customer account could be read.", "request": "Request",
        "customer_id": "Customer account number", "orders_concerned": "Orders concerned",
        "merchant_note": "The shop's note", "storefront": "What you sent through the shop's privacy form",
        "submitted": "Sent", "message": "Your message", "correction": "Correction asked for",
        "handling_note": "What the shop did", "retention_list": "Inactive customers",
        "retention_list_intro": "Your account has had no order and no update for longer than the shop keeps its "
        "customers' data: it is on the list of accounts the shop may erase.",
        "listed": "On the list since", "erasure_requested": "Erasure requested",
    },
    "fr": {
        "title": "Vos données personnelles", "intro": "Ce rapport présente les données personnelles que {shop} détient "
        "à votre sujet, conformément aux articles 15 et 20 du RGPD. Il a été établi le {date}.",
        "controller": "Responsable du traitement", "contact": "Contact", "dpo": "Délégué à la protection des données",
        "customer": "Votre compte client", "name": "Nom", "email": "E-mail", "phone": "Téléphone",
        "marketing": "Consentement marketing", "addresses": "Adresses", "locale": "Langue", "created": "Créé le",
        "updated": "Mis à jour le", "tags": "Étiquettes", "note": "Note", "orders": "Vos commandes", "order": "Commande",
        "date": "Date", "total": "Total", "items": "Articles", "shipping": "Adresse de livraison",
        "billing": "Adresse de facturation", "held": "Données détenues par notre application de confidentialité",
        "consents": "Choix relatifs aux cookies", "requests": "Demandes relatives à vos données",
        "history": "Historique", "purposes": "Pourquoi nous traitons vos données",
        "categories": "Catégories de données", "recipients": "Destinataires", "retention": "Durées de conservation",
        "rights": "Vos droits", "exercise": "Comment les exercer", "unavailable": "Ce qui n'a pas pu être inclus",
        "none": "Aucun", "no_customer": "Aucun compte client n'a pu être lu.", "request": "Demande",
        "customer_id": "Numéro de compte client", "orders_concerned": "Commandes concernées",
        "merchant_note": "Note de la boutique",
        "storefront": "Ce que vous avez envoyé par le formulaire de confidentialité de la boutique",
        "submitted": "Envoyé le", "message": "Votre message", "correction": "Rectification demandée",
        "handling_note": "Suite donnée par la boutique", "retention_list": "Clients inactifs",
        "retention_list_intro": "Votre compte n'a eu ni commande ni mise à jour depuis plus longtemps que la boutique "
        "ne conserve les données de ses clients : il figure sur la liste des comptes qu'elle peut effacer.",
        "listed": "Sur la liste depuis le", "erasure_requested": "Effacement demandé le",
    },
}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"]))


def render_html(document: dict[str, Any], language: str) -> str:
    """Render the report document; every value is escaped."""
    labels = LABELS.get(language, LABELS["en"])
    template = _environment().get_template("reports/customer_report.html")
    return template.render(doc=document, t=labels, lang=language)
