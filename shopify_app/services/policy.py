"""The merchant's policy facts used in reports and the banner.

Defaults are taken from the seed privacy policy of Le Petit Lunetier (copied
here, in English and French, so nothing reads ``shared/`` at run time). The
merchant edits them in Settings; every new shop starts from these.
"""

from __future__ import annotations

import copy
from typing import Any

_DEFAULT_POLICY: dict[str, Any] = {
    "controller": "Le Petit Lunetier",
    "contact_email": "contact@lepetitlunetier.com",
    "cnil_declaration": "2163891",
    "purposes": [
        {"en": "Providing the products on the site", "fr": "Fourniture des produits sur le site"},
        {"en": "Order management", "fr": "Gestion des commandes"},
        {"en": "Returns, right of withdrawal, payment and invoicing",
         "fr": "Gestion des retours, du droit de rétractation, du paiement et de la facturation"},
        {"en": "Information about the company, its products and activities",
         "fr": "Information sur la société, ses produits et ses activités"},
        {"en": "Answering customer questions and complaints", "fr": "Réponse aux questions et réclamations"},
        {"en": "Statistical analysis", "fr": "Analyses statistiques"},
        {"en": "Handling requests to access, rectify and object",
         "fr": "Gestion des demandes d'accès, de rectification et d'opposition"},
        {"en": "Managing unpaid invoices and litigation", "fr": "Gestion des impayés et du contentieux"},
    ],
    "data_categories": [
        {"en": "Email address", "fr": "Adresse e-mail"},
        {"en": "First name", "fr": "Prénom"},
        {"en": "Last name", "fr": "Nom"},
        {"en": "Postal and delivery address", "fr": "Adresse postale et de livraison"},
        {"en": "Country", "fr": "Pays"},
        {"en": "Phone number", "fr": "Téléphone"},
        {"en": "IP address (traffic analysis and security)", "fr": "Adresse IP (analyse du trafic et sécurité)"},
    ],
    "recipients": [
        {"en": "The company's sales department", "fr": "Le service commercial de la société"},
        {"en": "Partner companies and subcontractors, for the delivery of orders",
         "fr": "Les sociétés partenaires et sous-traitants, pour la livraison des commandes"},
        {"en": "Shopify, our e-commerce platform and host", "fr": "Shopify, notre plateforme de commerce et hébergeur"},
        {"en": "Administrative and judicial authorities, when required by law",
         "fr": "Les autorités administratives et judiciaires, lorsque la loi l'exige"},
    ],
    "retention": [
        {"en": "Customer data: three years after collection or the last contact",
         "fr": "Données clients : trois ans après la collecte ou le dernier contact"},
        {"en": "Invoices and accounting records: ten years (French Commercial Code, art. L123-22)",
         "fr": "Factures et pièces comptables : dix ans (Code de commerce, art. L123-22)"},
        {"en": "Connection data kept by the host: one year (Decree 2011-219)",
         "fr": "Données de connexion conservées par l'hébergeur : un an (décret 2011-219)"},
        {"en": "Cookie consent choices: 13 months; the banner asks again after 6 months",
         "fr": "Choix relatifs aux cookies : 13 mois ; le bandeau redemande après 6 mois"},
    ],
    "rights": [
        {"en": "Access to your data (GDPR art. 15)", "fr": "Accès à vos données (RGPD art. 15)"},
        {"en": "Rectification (art. 16)", "fr": "Rectification (art. 16)"},
        {"en": "Erasure (art. 17)", "fr": "Effacement (art. 17)"},
        {"en": "Objection, including to marketing (art. 21)", "fr": "Opposition, notamment à la prospection (art. 21)"},
        {"en": "Portability (art. 20)", "fr": "Portabilité (art. 20)"},
        {"en": "Directives about your data after death (French Data Protection Act, art. 85)",
         "fr": "Directives relatives au sort de vos données après votre décès (loi Informatique et Libertés, art. 85)"},
        {"en": "Complaint to the CNIL (www.cnil.fr)", "fr": "Réclamation auprès de la CNIL (www.cnil.fr)"},
    ],
    "how_to_exercise": {
        "en": "Write to contact@lepetitlunetier.com or use the privacy request form on our shop.",
        "fr": "Écrivez à contact@lepetitlunetier.com ou utilisez le formulaire de demande sur notre boutique.",
    },
}


def default_policy() -> dict[str, Any]:
    """A fresh copy of the default policy facts (callers may mutate it)."""
    return copy.deepcopy(_DEFAULT_POLICY)
