"""Query cost estimate and per-shop leaky bucket, modelled on Shopify's calculated costs.

Estimate (close to Shopify's documented rules, not exact):

* scalar and enum fields cost 0, object fields cost 1;
* an interface or union field costs the maximum of its possible selections (fragments on
  different concrete types are alternatives, not a sum);
* a ``...Connection`` field costs ``2 + n * (cost of one node)`` where ``n`` is its
  ``first``/``last`` argument (``pageInfo`` is free); ``nodes(ids:)`` costs per id; other
  list fields cost like one object;
* each root field of a mutation costs 10.

The actual cost (:func:`actual_cost`) applies the same rules to what the answer holds: a
connection costs 2 plus its returned nodes, ``pageInfo``, cursors and edge wrappers are free.

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

__all__ = ["CostBucket", "actual_cost", "estimate_cost", "is_mutation"]


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
        # Fragments on a concrete type of an abstract parent are alternatives: only the
        # most expensive one counts ("maximum of possible selections").
        alternatives: dict[str, int] = {}
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                total += self.field(sel, parent, depth)
                continue
            if isinstance(sel, InlineFragmentNode):
                cond_name = sel.type_condition.name.value if sel.type_condition else None
                inner = sel.selection_set
            elif isinstance(sel, FragmentSpreadNode):
                frag = self.fragments.get(sel.name.value)
                if frag is None:
                    continue
                cond_name, inner = frag.type_condition.name.value, frag.selection_set
            else:
                continue
            cond = self.schema.get_type(cond_name) if cond_name else parent
            cost = self.selections(inner, cond, depth + 1)
            if cond_name and isinstance(cond, GraphQLObjectType) and cond is not parent:
                alternatives[cond_name] = alternatives.get(cond_name, 0) + cost
            else:
                total += cost
        return total + max(alternatives.values(), default=0)

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


def _operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return next((op for op in operations
                 if operation_name is None or (op.name and op.name.value == operation_name)), None)


def is_mutation(document: DocumentNode, operation_name: str | None) -> bool:
    operation = _operation(document, operation_name)
    return operation is not None and operation.operation == OperationType.MUTATION


def estimate_cost(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                  variables: dict[str, Any] | None) -> int:
    """Rough Shopify-like requested cost of the selected operation."""
    operation = _operation(document, operation_name)
    if operation is None:
        return 1
    estimator = _Estimator(schema, document, variables or {})
    if operation.operation == OperationType.MUTATION:
        root = schema.mutation_type
        return sum(10 + estimator.selections(sel.selection_set, get_named_type(
            root.fields[sel.name.value].type)) for sel in operation.selection_set.selections
            if isinstance(sel, FieldNode) and sel.name.value in root.fields) or 10
    return max(1, estimator.selections(operation.selection_set, schema.query_type))


def actual_cost(data: Any, *, mutation: bool = False) -> int:
    """What an answer really cost, by the same rules as the estimate applied to what came back.

    1 per object returned; a connection (a dict with ``nodes``, ``edges`` or ``pageInfo``)
    costs 2 plus its returned nodes, its ``pageInfo``, cursors and edge wrappers being free;
    the root of the answer and scalars cost nothing. A mutation's root field costs its 10
    whatever it returns (its payload object is part of those 10).
    """
    if not isinstance(data, dict):
        return 0
    if mutation:
        return sum(10 + _returned_cost(value) - (1 if isinstance(value, dict) else 0)
                   for value in data.values())
    return sum(_returned_cost(value) for value in data.values())


def _returned_cost(value: Any) -> int:
    if isinstance(value, list):
        return sum(_returned_cost(item) for item in value)
    if not isinstance(value, dict):
        return 0
    if "nodes" in value or "edges" in value or "pageInfo" in value:
        nodes = [*(value.get("nodes") or ()),
                 *((edge or {}).get("node") for edge in value.get("edges") or ())]
        return 2 + sum(_returned_cost(node) for node in nodes)
    return 1 + sum(_returned_cost(item) for item in value.values())


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
