"""Encryption at rest for Shopify access and refresh tokens."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shopify_app.errors import ConfigurationError


class TokenCipher:
    """Fernet encryption; several comma-separated keys allow rotation (first key encrypts)."""

    def __init__(self, keys: str) -> None:
        self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError("A stored token cannot be decrypted with TOKEN_ENCRYPTION_KEY.") from exc
