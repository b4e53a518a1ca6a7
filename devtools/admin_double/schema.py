"""Shopify Admin GraphQL schema (API version 2026-10) for the test double and for linting.

The introspection result is bundled gzipped next to this module
(``admin-schema-2026-10.json.gz``, copied from Shopify's ``@shopify/dev-mcp@1.16.0`` npm
package, ISC licence).  It is loaded once per process and cached.

* :func:`load_admin_schema` returns the :class:`graphql.GraphQLSchema`.
* :func:`validate_document` parses and validates a GraphQL document and returns a list of
  error messages.  Deprecated fields, arguments and enum values are *rejected*
  (``NoDeprecatedCustomRule``), e.g. ``Customer.email`` or ``CustomerPhoneNumber.marketingState``.
* :func:`protected_fields` maps ``(TypeName, fieldName)`` to the protected-customer-data
  category (``"name"``, ``"email"``, ``"phone"`` or ``"address"``) taken from Shopify's
  non-standard ``protectedContent`` introspection keys.
"""

from __future__ import annotations

import gzip
import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    build_client_schema,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoDeprecatedCustomRule

__all__ = [
    "API_VERSION",
    "SCHEMA_PATH",
    "load_admin_schema",
    "protected_fields",
    "validate_ast",
    "validate_document",
    "VALIDATION_RULES",
]

API_VERSION = "2026-10"
SCHEMA_PATH = Path(__file__).with_name(f"admin-schema-{API_VERSION}.json.gz")

#: Rules used everywhere: the GraphQL spec rules plus "no deprecated fields/args/enum values".
VALIDATION_RULES = (*specified_rules, NoDeprecatedCustomRule)

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _load() -> tuple[GraphQLSchema, dict[tuple[str, str], str]]:
    with gzip.open(SCHEMA_PATH, "rb") as fh:
        raw: dict[str, Any] = json.load(fh)
    schema = build_client_schema(raw["data"], assume_valid=True)
    protected: dict[tuple[str, str], str] = {}
    for type_def in raw["data"]["__schema"]["types"]:
        for field in type_def.get("fields") or ():
            if field.get("isProtected") and field.get("protectedContent"):
                protected[(type_def["name"], field["name"])] = field["protectedContent"]
    return schema, protected


def load_admin_schema() -> GraphQLSchema:
    """Return the (cached) Admin API 2026-10 schema.  First call takes ~0.5 s."""
    with _lock:  # avoid two threads building the schema at once
        return _load()[0]


def protected_fields() -> dict[tuple[str, str], str]:
    """``{(type name, field name): category}`` for protected customer data fields."""
    with _lock:
        return _load()[1]


def validate_ast(document: DocumentNode) -> list[GraphQLError]:
    """Validate a parsed document against the schema (deprecated usage is an error)."""
    return validate(load_admin_schema(), document, list(VALIDATION_RULES))


def validate_document(source: str) -> list[str]:
    """Parse and validate ``source``; return the error messages (empty when valid).

    Syntax errors are returned as a single message instead of being raised.
    """
    try:
        document = parse(source)
    except GraphQLError as exc:
        return [exc.message]
    return [error.message for error in validate_ast(document)]
