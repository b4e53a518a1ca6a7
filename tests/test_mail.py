"""The email boundary: one recipient, never more; SMTP when configured, else the outbox folder."""

from __future__ import annotations

import base64
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from shopify_app import mail
from shopify_app.errors import ConfigurationError, MalformedPayloadError
from shopify_app.settings import Settings


@dataclass
class Received:
    auth: list[str] = field(default_factory=list)
    envelopes: list[tuple[str, list[str], bytes]] = field(default_factory=list)


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for smtplib: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT."""

    received: Received

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 test-smtp ready")
        sender, recipients = "", []
        while line := self.rfile.readline().decode().rstrip("\r\n"):
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-test-smtp")
                self.reply("250 AUTH PLAIN")
            elif verb == "AUTH":
                self.received.auth.append(base64.b64decode(line.split()[2]).decode())
                self.reply("235 ok")
            elif verb == "MAIL":
                sender, recipients = line[10:].strip("<>"), []
                self.reply("250 ok")
            elif verb == "RCPT":
                recipients.append(line[8:].strip("<>"))
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data += chunk
                self.received.envelopes.append((sender, recipients, data))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, Received]]:
    received = Received()
    handler = type("Handler", (_SMTPHandler,), {"received": received})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def settings_for(tmp_path: Path, smtp_url: str | None = None) -> Settings:
    return Settings(api_key="k", api_secret="s", token_encryption_key=Fernet.generate_key().decode(),
                    instance_path=tmp_path, smtp_url=smtp_url, mail_from="privacy@shop.example")


def test_smtp_gets_one_message_for_one_recipient_with_the_url_credentials(tmp_path, smtp_server):
    address, received = smtp_server
    settings = settings_for(tmp_path, f"smtp://mailer%40shop:p%40ss@{address}")
    mail.send(settings, "zoe@example.org", "Subject\nBcc: attacker@example.org", "Hello", language="fr")
    [(sender, recipients, data)] = received.envelopes
    assert sender == "privacy@shop.example" and recipients == ["zoe@example.org"]
    assert received.auth == ["\0mailer@shop\0p@ss"]
    headers = data.decode().split("\r\n\r\n")[0].split("\r\n")
    assert "To: zoe@example.org" in headers and "Content-Language: fr" in headers
    assert "Subject: Subject Bcc: attacker@example.org" in headers  # a line break cannot start a header
    assert not [h for h in headers if h.lower().startswith(("bcc:", "cc:"))]
    assert not (tmp_path / "outbox").exists()


def test_without_smtp_each_message_is_one_eml_file_in_the_outbox(tmp_path):
    settings = settings_for(tmp_path)
    message_id = mail.send(settings, "zoe@example.org", "Hello", "Body")
    [path] = (tmp_path / "outbox").glob("*.eml")
    assert message_id in path.read_text() and "To: zoe@example.org" in path.read_text()


@pytest.mark.parametrize("address", ["", "zoe", "zoe@example.org, eve@example.org", "zoe@example.org\r\nBcc: e@x.org",
                                     "<zoe@example.org>", "Zoe <zoe@example.org>", '"z"@example.org',
                                     "a" * 250 + "@example.org"])
def test_anything_but_one_plain_address_is_refused(tmp_path, address):
    with pytest.raises(MalformedPayloadError):
        mail.send(settings_for(tmp_path), address, "Hello", "Body")
    assert not (tmp_path / "outbox").exists()


def test_an_unreachable_server_is_a_mail_error(tmp_path):
    from devtools.redis_server import free_port

    with pytest.raises(mail.MailError):
        mail.send(settings_for(tmp_path, f"smtp://127.0.0.1:{free_port()}"), "zoe@example.org", "Hello", "Body")


def test_settings_read_smtp_url_and_mail_from(tmp_path):
    env = {"SHOPIFY_API_KEY": "k", "SHOPIFY_API_SECRET": "s", "INSTANCE_PATH": str(tmp_path)}
    settings = Settings.from_env({**env, "SMTP_URL": "smtps://u:p@mail.example:465", "MAIL_FROM": "dpo@shop.example"})
    assert (settings.smtp_url, settings.mail_from) == ("smtps://u:p@mail.example:465", "dpo@shop.example")
    assert Settings.from_env(env).smtp_url is None and Settings.from_env(env).outbox_path == tmp_path / "outbox"
    with pytest.raises(ConfigurationError, match="SMTP_URL"):
        Settings.from_env({**env, "SMTP_URL": "http://mail.example"})
