"""Trivial RQ jobs for bench/workers.py (importable by the worker processes)."""

from __future__ import annotations


def noop(n: int) -> int:
    return n
