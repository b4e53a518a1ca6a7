"""Every GraphQL document the app sends validates against Shopify's 2026-10 schema (no deprecated fields)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from devtools.admin_double import validate_document
from shopify_app.platform import queries

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = {name: getattr(queries, name) for name in dir(queries) if name.endswith(("_QUERY", "_MUTATION"))}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_is_valid_against_the_schema(name: str):
    assert validate_document(DOCUMENTS[name]) == []


def test_deprecated_fields_are_rejected():
    assert validate_document("query($id: ID!) { customer(id: $id) { email } }")


def _graphql_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            head = node.value.lstrip()
            if head.startswith(("query ", "query(", "mutation ", "mutation(", "fragment ", "{")) and "}" in head \
                    and ("{" in head.split("\n", 1)[0]):
                found.append(node.value)
    return found


def test_no_graphql_document_lives_outside_queries_module():
    stray = {}
    for path in list((ROOT / "shopify_app").rglob("*.py")) + list((ROOT / "workers").rglob("*.py")):
        if path.name == "queries.py":
            continue
        literals = [lit for lit in _graphql_literals(path) if "query" in lit or "mutation" in lit]
        if literals:
            stray[str(path.relative_to(ROOT))] = literals
    assert stray == {}
    assert len(DOCUMENTS) >= 5
