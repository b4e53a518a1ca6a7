"""Waiting out a Redis outage: the worker and the cron scheduler start again after a growing wait."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

RETRY_FIRST_DELAY = 1.0
RETRY_MAX_DELAY = 15.0  # once Redis is back, the sweeper is queued again within this, so well inside the minute


def retry_delays(max_delay: float = RETRY_MAX_DELAY) -> Iterator[float]:
    """The waits between attempts to reach Redis again: 1 s, 2 s, 4 s, … up to ``max_delay``."""
    delay = min(RETRY_FIRST_DELAY, max_delay)
    while True:
        yield delay
        delay = min(delay * 2, max_delay)


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def add_retry_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-retry-delay", type=_positive_seconds, default=RETRY_MAX_DELAY, metavar="SECONDS",
                        help=f"longest wait between attempts while Redis is unavailable (default {RETRY_MAX_DELAY:g})")
