"""The storefront request page's texts, in French and English (``TEXTS[language][key]``)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, object]] = {
    "en": {
        "title": "Your privacy rights",
        "intro": "Ask this shop for access to your data, to correct it, to erase it, to stop marketing, or record "
                 "what should happen to your data after your death. The shop must answer within one month.",
        "right": "What would you like to do?",
        "rights": [
            ("access", "Get a copy of my data", "GDPR art. 15 and 20"),
            ("rectification", "Correct my data", "GDPR art. 16"),
            ("erasure", "Erase my data", "GDPR art. 17"),
            ("objection", "Stop marketing messages", "GDPR art. 21"),
            ("post_mortem_directive", "Leave a directive about my data after my death",
             "French Data Protection Act, art. 85"),
        ],
        "correction": "What is wrong, and what should it say?",
        "channel": "Which marketing do you object to?",
        "channels": [("email", "Emails"), ("sms", "SMS and WhatsApp messages")],
        "email": "Your email address",
        "email_hint": "If you are not logged in, we send a link to this address to confirm the request.",
        "message": "Message (optional)",
        "submit": "Send my request",
        "notice": "We use your address and message only to handle this request. Unconfirmed requests are deleted "
                  "after 7 days.",
        "fix": "Please correct the following:",
        "errors": {"right": "Choose what you would like to do.", "email": "Enter a valid email address.",
                   "correction": "Tell us what is wrong and what it should say.",
                   "channel": "Choose emails or SMS/WhatsApp.",
                   "message": "The message is too long (2,000 characters).",
                   "too_long": "This text is too long (2,000 characters at most)."},
        "check_inbox_title": "Check your inbox",
        "check_inbox": "If the address is right, you will receive an email in a few minutes. Open the link in it "
                       "within 24 hours to confirm your request. Nothing happens until you do.",
        "received_title": "Request received",
        "received": "Your request is recorded. The shop must answer by {due}.",
        "confirm_title": "Confirm your request",
        "confirm_intro": "You asked this shop to: {right}. Confirm to send the request; the shop must then answer "
                         "within one month.",
        "confirm_button": "Confirm my request",
        "download_title": "Your data",
        "download_intro": "The shop has prepared a copy of your data. Download it as a page you can read and print, "
                          "or as a JSON file you can give to another service. The link allows {max} downloads in all.",
        "download_html": "Download the page",
        "download_json": "Download the JSON file",
        "confirmed_title": "Request confirmed",
        "confirmed": "Thank you: your request is confirmed. The shop must answer by {due}.",
        "link_unknown": "This link is not valid. Copy the whole link from the email, or make a new request.",
        "link_used": "This link has already been used: your request was confirmed then.",
        "link_expired": "This link has expired. Please make a new request.",
        "link_title": "Link not valid",
        "too_many_title": "Too many requests",
        "too_many": "Too many requests were sent from here. Please try again later.",
        "unavailable_title": "Please try again",
        "unavailable": "We could not send the confirmation email just now. Please try again in a few minutes.",
        "unknown_shop": "This shop does not use this service.",
        "back": "Back to the form",
    },
    "fr": {
        "title": "Vos droits sur vos données",
        "intro": "Demandez à cette boutique l'accès à vos données, leur rectification ou leur effacement, l'arrêt de "
                 "la prospection, ou indiquez le sort de vos données après votre décès. La boutique doit vous "
                 "répondre dans un délai d'un mois.",
        "right": "Que souhaitez-vous faire ?",
        "rights": [
            ("access", "Obtenir une copie de mes données", "RGPD art. 15 et 20"),
            ("rectification", "Corriger mes données", "RGPD art. 16"),
            ("erasure", "Effacer mes données", "RGPD art. 17"),
            ("objection", "Ne plus recevoir de prospection", "RGPD art. 21"),
            ("post_mortem_directive", "Donner une directive sur mes données après mon décès",
             "loi Informatique et Libertés, art. 85"),
        ],
        "correction": "Qu'est-ce qui est inexact, et que faut-il indiquer ?",
        "channel": "À quelle prospection vous opposez-vous ?",
        "channels": [("email", "E-mails"), ("sms", "SMS et messages WhatsApp")],
        "email": "Votre adresse e-mail",
        "email_hint": "Si vous n'êtes pas connecté, nous envoyons à cette adresse un lien pour confirmer la demande.",
        "message": "Message (facultatif)",
        "submit": "Envoyer ma demande",
        "notice": "Votre adresse et votre message servent uniquement à traiter cette demande. Les demandes non "
                  "confirmées sont supprimées au bout de 7 jours.",
        "fix": "Merci de corriger ce qui suit :",
        "errors": {"right": "Choisissez ce que vous souhaitez faire.", "email": "Saisissez une adresse e-mail valide.",
                   "correction": "Indiquez ce qui est inexact et ce qu'il faut indiquer.",
                   "channel": "Choisissez e-mails ou SMS/WhatsApp.",
                   "message": "Le message est trop long (2 000 caractères).",
                   "too_long": "Ce texte est trop long (2 000 caractères au plus)."},
        "check_inbox_title": "Consultez votre messagerie",
        "check_inbox": "Si l'adresse est correcte, vous allez recevoir un e-mail dans quelques minutes. Ouvrez le "
                       "lien qu'il contient dans les 24 heures pour confirmer votre demande. Rien ne se passe avant.",
        "received_title": "Demande reçue",
        "received": "Votre demande est enregistrée. La boutique doit y répondre avant le {due}.",
        "confirm_title": "Confirmez votre demande",
        "confirm_intro": "Vous avez demandé à cette boutique de : {right}. Confirmez pour envoyer la demande ; la "
                         "boutique devra y répondre dans un délai d'un mois.",
        "confirm_button": "Confirmer ma demande",
        "download_title": "Vos données",
        "download_intro": "La boutique a préparé une copie de vos données. Téléchargez-la sous forme de page à lire "
                          "et imprimer, ou de fichier JSON à transmettre à un autre service. Le lien permet {max} "
                          "téléchargements en tout.",
        "download_html": "Télécharger la page",
        "download_json": "Télécharger le fichier JSON",
        "confirmed_title": "Demande confirmée",
        "confirmed": "Merci : votre demande est confirmée. La boutique doit y répondre avant le {due}.",
        "link_unknown": "Ce lien n'est pas valide. Copiez le lien complet depuis l'e-mail, ou faites une nouvelle "
                        "demande.",
        "link_used": "Ce lien a déjà été utilisé : votre demande a été confirmée à ce moment-là.",
        "link_expired": "Ce lien a expiré. Merci de faire une nouvelle demande.",
        "link_title": "Lien non valide",
        "too_many_title": "Trop de demandes",
        "too_many": "Trop de demandes ont été envoyées depuis cette connexion. Merci de réessayer plus tard.",
        "unavailable_title": "Merci de réessayer",
        "unavailable": "L'e-mail de confirmation n'a pas pu être envoyé. Merci de réessayer dans quelques minutes.",
        "unknown_shop": "Cette boutique n'utilise pas ce service.",
        "back": "Retour au formulaire",
    },
}
