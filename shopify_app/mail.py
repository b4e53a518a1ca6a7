"""The email boundary: the only module that sends mail.

With ``SMTP_URL`` set (``smtp://user:password@host:587`` uses STARTTLS when the server offers it,
``smtps://…:465`` is TLS from the start), messages go to that server. Without it (development,
tests), each message is written to ``instance/outbox/`` as one ``.eml`` file, which any mail
client opens.

Every message has exactly one recipient, the address passed in: no Cc, no Bcc, no copy to the
merchant. Logs never name the recipient.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from shopify_app.errors import AppError, MalformedPayloadError
from shopify_app.settings import Settings

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 10
MAX_ADDRESS_LENGTH = 254
# Deliberately narrower than RFC 5322: no quotes, spaces, commas or angle brackets, so an address
# can never smuggle a second recipient or a header, and can be quoted safely in a search query.
ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                     r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")


class MailError(AppError):
    """The message could not be handed to the mail server (or written to the outbox)."""

    status_code = 503


def normalize_address(address: str) -> str:
    """The address, trimmed, if it is one plain mailbox; :class:`MalformedPayloadError` otherwise."""
    value = (address or "").strip()
    if len(value) > MAX_ADDRESS_LENGTH or not ADDRESS.fullmatch(value):
        raise MalformedPayloadError("Not a valid email address.")
    return value


def send(settings: Settings, to: str, subject: str, text: str, *, language: str = "en") -> str:
    """Send one plain-text message to ``to`` alone; return its Message-ID. Raises :class:`MailError`."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = normalize_address(to)
    message["Subject"] = " ".join(subject.split())  # no line breaks can reach a header
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message["Content-Language"] = language  # after set_content, which resets the Content-* headers
    if settings.smtp_url:
        _send_smtp(settings.smtp_url, message)
        log.info("Mail %s handed to the SMTP server", message["Message-ID"])
    else:
        path = _write_outbox(settings, message)
        log.info("Mail %s written to the outbox (%s)", message["Message-ID"], path.name)
    return str(message["Message-ID"])


def _send_smtp(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    host, implicit_tls = parts.hostname or "localhost", parts.scheme == "smtps"
    port = parts.port or (465 if implicit_tls else 587)
    context = ssl.create_default_context()
    try:
        if implicit_tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
        with client:
            client.ehlo()
            if not implicit_tls and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            # The envelope names the one recipient explicitly, whatever the headers say.
            client.send_message(message, to_addrs=[str(message["To"])])
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"The mail server did not take the message ({type(exc).__name__}).") from exc


def _write_outbox(settings: Settings, message: EmailMessage) -> Path:
    outbox = settings.outbox_path
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{secrets.token_hex(4)}.eml"
        temporary = outbox / f".{name}.tmp"
        temporary.write_bytes(message.as_bytes())
        os.replace(temporary, outbox / name)  # readers never see half a message
    except OSError as exc:
        raise MailError(f"The outbox could not be written ({type(exc).__name__}).") from exc
    return outbox / name
