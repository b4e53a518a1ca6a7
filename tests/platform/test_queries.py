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


@pytest.mark.parametrize("search", [queries.orders_search_by_id(range(5001, 5251)),
                                    queries.orders_search_by_customer(1001)])
def test_the_bulk_orders_query_is_valid_and_within_shopifys_bulk_limits(search: str):
    from graphql import parse

    from devtools.admin_double.bulk import restrictions

    document = queries.orders_bulk_query(search)
    assert validate_document(document) == []
    assert restrictions(parse(document)) == []
    assert search in parse(document).definitions[0].selection_set.selections[0].arguments[0].value.value


def test_the_bulk_query_and_the_paged_queries_read_the_same_fields():
    from graphql import FieldNode, parse, visit
    from graphql.language import Visitor

    def names(source: str) -> set[str]:
        class Fields(Visitor):
            found: set[str] = set()

            def enter_field(self, node: FieldNode, *_: object) -> None:
                self.found.add(node.name.value)

        fields = Fields()
        fields.found = set()
        visit(parse(source), fields)
        return fields.found - {"edges", "node", "nodes", "pageInfo", "hasNextPage", "endCursor", "orders", "customer"}

    assert names(queries.orders_bulk_query("id:1")) == names(queries.CUSTOMER_ORDERS_QUERY)


def test_bulk_operations_are_polled_by_id_since_current_bulk_operation_is_deprecated():
    assert validate_document("{ currentBulkOperation { id status } }")
    assert "bulkOperation(id: $id)" in queries.BULK_OPERATION_QUERY
