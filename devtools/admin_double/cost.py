"""Query cost estimate and per-shop leaky bucket, modelled on Shopify's calculated costs.

Estimate (close to Shopify's documented rules, not exact):

* scalar and enum fields cost 0, object fields cost 1;
* a ``...Connection`` field costs ``2 + n * (cost of one node)`` where ``n`` is its
  ``first``/``last`` argument (``pageInfo`` is free); ``nodes(ids:)`` costs per id; other
  list fields cost like one object;
* each root field of a mutation costs 10.

The bucket holds ``maximum_available`` (2000) points and refills at ``restore_rate``
(100/s).  A query whose requested cost is above what is available is throttled; a query
above ``max_query_cost`` (1000) is rejected whatever the bucket holds (``MAX_COST_EXCEEDED``).
As on Shopify, the requested cost is taken before the query runs and the difference with the
actual cost (what the answer really holds, see :func:`actual_cost`) is refunded afterwards.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    value_from_ast_untyped,
)

__all__ = ["CostBucket", "actual_cost", "estimate_cost"]


class _Estimator:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode,
                 variables: dict[str, Any]) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}

    def _size(self, field: FieldNode) -> int:
        for arg in field.arguments or ():
            if arg.name.value in ("first", "last"):
                value = value_from_ast_untyped(arg.value, self.variables)
                if isinstance(value, int):
                    return value
        return 1

    def selections(self, selection_set: SelectionSetNode | None, parent: Any,
                   depth: int = 0) -> int:
        if selection_set is None or depth > 30:
            return 0
        total = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                total += self.field(sel, parent, depth)
            elif isinstance(sel, InlineFragmentNode):
                cond = self.schema.get_type(sel.type_condition.name.value) \
                    if sel.type_condition else parent
                total += self.selections(sel.selection_set, cond, depth + 1)
            elif isinstance(sel, FragmentSpreadNode):
                frag = self.fragments.get(sel.name.value)
                if frag is not None:
                    cond = self.schema.get_type(frag.type_condition.name.value)
                    total += self.selections(frag.selection_set, cond, depth + 1)
        return total

    def field(self, node: FieldNode, parent: Any, depth: int) -> int:
        if node.selection_set is None or not isinstance(
                parent, (GraphQLObjectType, GraphQLInterfaceType)):
            return 0
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if named.name.endswith("Connection") and isinstance(named, GraphQLObjectType):
            per_item = 0
            for sel in node.selection_set.selections:
                if isinstance(sel, FieldNode) and sel.name.value in ("nodes", "edges"):
                    item_type = get_named_type(named.fields[sel.name.value].type)
                    # ``nodes`` items cost 1 each; for ``edges`` the ``node`` field does.
                    per_item += (sel.name.value == "nodes") + self.selections(
                        sel.selection_set, item_type, depth + 1)
            return 2 + self._size(node) * per_item
        count = 1
        for arg in node.arguments or ():  # nodes(ids: [...]) costs per id
            if arg.name.value == "ids":
                ids = value_from_ast_untyped(arg.value, self.variables)
                count = max(1, len(ids)) if isinstance(ids, list) else 1
        return count * (1 + self.selections(node.selection_set, named, depth + 1))


def estimate_cost(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                  variables: dict[str, Any] | None) -> int:
    """Rough Shopify-like requested cost of the selected operation."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next((op for op in operations
                      if operation_name is None or (op.name and op.name.value == operation_name)),
                     None)
    if operation is None:
        return 1
    estimator = _Estimator(schema, document, variables or {})
    if operation.operation == OperationType.MUTATION:
        root = schema.mutation_type
        return sum(10 + estimator.selections(sel.selection_set, get_named_type(
            root.fields[sel.name.value].type)) for sel in operation.selection_set.selections
            if isinstance(sel, FieldNode) and sel.name.value in root.fields) or 10
    return max(1, estimator.selections(operation.selection_set, schema.query_type))


def actual_cost(data: Any) -> int:
    """What an answer really cost: 1 per object returned, plus 2 per connection (``pageInfo``)."""
    if isinstance(data, list):
        return sum(actual_cost(item) for item in data)
    if not isinstance(data, dict):
        return 0
    own = 2 if "pageInfo" in data or "nodes" in data or "edges" in data else 1
    return own + sum(actual_cost(value) for value in data.values())


class CostBucket:
    """Thread-safe leaky bucket per shop."""

    def __init__(self, maximum_available: float = 2000.0, restore_rate: float = 100.0) -> None:
        self.maximum_available = maximum_available
        self.restore_rate = restore_rate
        self._lock = threading.Lock()
        self._levels: dict[str, tuple[float, float]] = {}

    def _level(self, shop: str, now: float) -> float:
        level, stamp = self._levels.get(shop, (self.maximum_available, now))
        return min(self.maximum_available, level + (now - stamp) * self.restore_rate)

    def take(self, shop: str, cost: int) -> tuple[bool, float]:
        """Consume ``cost`` if available; return ``(ok, currently_available)``."""
        with self._lock:
            now = time.monotonic()
            level = self._level(shop, now)
            ok = level >= cost
            if ok:
                level -= cost
            self._levels[shop] = (level, now)
            return ok, level

    def refund(self, shop: str, points: float) -> float:
        """Give back ``points`` (requested minus actual cost); return what is now available."""
        with self._lock:
            now = time.monotonic()
            level = min(self.maximum_available, self._level(shop, now) + max(points, 0.0))
            self._levels[shop] = (level, now)
            return level

    def available(self, shop: str) -> float:
        with self._lock:
            return self._level(shop, time.monotonic())

    def set_available(self, shop: str, value: float) -> None:
        with self._lock:
            self._levels[shop] = (min(value, self.maximum_available), time.monotonic())

    def status(self, requested: int, actual: int | None, available: float) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self.maximum_available,
                "currentlyAvailable": round(available, 1),
                "restoreRate": self.restore_rate,
            },
        }
