"""A small subset of Shopify's search syntax for ``customers(query:)`` / ``orders(query:)``.

Supported:

* terms separated by spaces or ``AND`` are ANDed; ``OR`` separates alternatives
  (``a b OR c`` is ``(a AND b) OR c``); parentheses are ignored;
* ``-field:value`` or ``NOT field:value`` negates a term;
* comparators ``field:value``, ``field:<v``, ``field:<=v``, ``field:>v``, ``field:>=v``;
* values may be quoted with ``'`` or ``"``; a trailing ``*`` on a string value is a prefix match;
* a term without ``field:`` is a case-insensitive substring search over names/email/...;
* dates: ``YYYY-MM-DD`` (midnight UTC; Shopify would use the shop's time zone), full ISO
  timestamps, or ``now``; ``created_at:2024-01-02`` matches that whole day;
* unknown fields are ignored and reported as a warning (Shopify answers the same way, with
  ``extensions.search`` warnings).

Customer fields: ``id``, ``email``, ``first_name``, ``last_name``, ``phone``, ``state``,
``tag``, ``orders_count``, ``amount_spent``, ``created_at``, ``updated_at``, ``country``.
Order fields: ``id``, ``name``, ``customer_id``, ``email``, ``created_at``, ``updated_at``,
``processed_at``, ``financial_status``, ``fulfillment_status``, ``status``
(``open``/``closed``/``cancelled``), ``tag``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from .data import gid_number, parse_time

__all__ = ["FieldSpec", "Term", "compile_query", "parse_query"]

#: (getter, kind); kind is one of "id", "str", "int", "decimal", "date", "list".
FieldSpec = tuple[Callable[[Any], Any], str]

_TOKEN = re.compile(
    r"""\s*(?P<neg>-)?(?:(?P<field>[A-Za-z_][\w.]*):(?P<op><=|>=|<|>|=)?)?"""
    r"""(?P<value>"[^"]*"|'[^']*'|[^\s()]+)"""
)


@dataclass(frozen=True)
class Term:
    field: str | None
    op: str
    value: str
    negate: bool = False


def parse_query(query: str) -> list[list[Term]]:
    """Parse into a disjunction of conjunctions of :class:`Term`."""
    groups: list[list[Term]] = [[]]
    negate_next = False
    for match in _TOKEN.finditer(query.replace("(", " ").replace(")", " ")):
        value = match.group("value")
        if match.group("field") is None and not match.group("neg"):
            if value == "AND":
                continue
            if value == "OR":
                groups.append([])
                continue
            if value == "NOT":
                negate_next = True
                continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        groups[-1].append(Term(
            field=match.group("field"), op=match.group("op") or ":", value=value,
            negate=bool(match.group("neg")) or negate_next))
        negate_next = False
    return [group for group in groups if group] or [[]]


def _date_bounds(value: str, now: datetime) -> tuple[datetime, datetime]:
    if value.lower() == "now":
        return now, now
    moment = parse_time(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return moment, moment + timedelta(days=1)
    return moment, moment


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if actual is None:
        return False
    if op in (":", "="):
        return bool(actual == expected)
    return {"<": actual < expected, "<=": actual <= expected,
            ">": actual > expected, ">=": actual >= expected}[op]


def _match_term(obj: Any, term: Term, spec: FieldSpec, now: datetime) -> bool:
    getter, kind = spec
    actual = getter(obj)
    value = term.value
    if kind == "id":
        number = gid_number(value)
        actual_number = gid_number(actual) if actual is not None else None
        return number is not None and _compare(actual_number, term.op, number)
    if kind in ("int", "decimal"):
        try:
            expected = Decimal(value)
        except InvalidOperation:
            return False
        return actual is not None and _compare(Decimal(str(actual)), term.op, expected)
    if kind == "date":
        if actual is None:
            return False
        moment = parse_time(actual) if isinstance(actual, str) else actual
        try:
            start, end = _date_bounds(value, now)
        except ValueError:
            return False
        whole_day = end > start
        if term.op in (":", "="):
            return start <= moment < end if whole_day else moment == start
        if term.op == "<":
            return moment < start
        if term.op == ">=":
            return moment >= start
        if term.op == "<=":
            return moment < end if whole_day else moment <= start
        return moment >= end if whole_day else moment > start  # ">"
    values = actual if kind == "list" else [actual]
    needle = value.lower()
    for item in values:
        if item is None:
            continue
        text = str(item).lower()
        if needle.endswith("*"):
            if text.startswith(needle[:-1]):
                return True
        elif term.op in (":", "="):
            if text == needle:
                return True
        elif _compare(text, term.op, needle):
            return True
    return False


def compile_query(
    query: str | None,
    fields: Mapping[str, FieldSpec],
    text_fields: Callable[[Any], list[str | None]],
    warnings: list[dict[str, str]] | None = None,
    now: datetime | None = None,
) -> Callable[[Any], bool]:
    """Return a predicate for ``query`` (always true when ``query`` is empty)."""
    if not query or not query.strip():
        return lambda obj: True
    groups = parse_query(query)
    now = now or datetime.now(timezone.utc)
    for group in groups:
        for term in group:
            if term.field is not None and term.field not in fields and warnings is not None:
                warnings.append({"field": term.field,
                                 "message": "Invalid search field for this query."})

    def term_ok(obj: Any, term: Term) -> bool:
        if term.field is None:
            needle = term.value.lower().rstrip("*")
            hit = any(needle in (t or "").lower() for t in text_fields(obj))
        elif term.field not in fields:
            return True  # ignored, like Shopify
        else:
            hit = _match_term(obj, term, fields[term.field], now)
        return hit != term.negate

    def predicate(obj: Any) -> bool:
        return any(all(term_ok(obj, term) for term in group) for group in groups)

    return predicate
