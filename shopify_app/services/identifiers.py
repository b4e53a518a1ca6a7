"""Salted hashes that let a merchant prove an erasure without keeping the identifier."""

from __future__ import annotations

import hashlib
import secrets


def salted_hash(value: str, salt: str | None = None) -> dict[str, str]:
    """``{"salt", "sha256"}`` of a normalised identifier; the salt is random unless given.

    With the stored salt anyone holding the identifier can check the entry, but the
    entry alone does not reveal it, and two entries cannot be linked to each other.
    """
    salt = salt or secrets.token_hex(16)
    digest = hashlib.sha256(f"{salt}:{value.strip().lower()}".encode()).hexdigest()
    return {"salt": salt, "sha256": digest}


def domain_hash(domain: str) -> str:
    """An unsalted hash of a shop domain, so a tombstone can be found again by the domain."""
    return hashlib.sha256(domain.strip().lower().encode()).hexdigest()


def customer_ref(shop_id: int, customer_id: int) -> str:
    """A stable hash of one shop's customer id, to recognise the customer later without keeping the id.

    Unsalted on purpose (it must be found again); it only stands for an id Shopify already knows.
    """
    return hashlib.sha256(f"customer:{shop_id}:{customer_id}".encode()).hexdigest()
