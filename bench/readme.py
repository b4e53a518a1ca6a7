"""bench/README.md: each benchmark script rewrites its own section, between its two markers."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"
ROOT = README.parent.parent


def write_section(begin: str, end: str, section: str) -> None:
    """Replace the text from ``begin`` to ``end`` (markers included in ``section``), or append it."""
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    if begin in text and end in text:
        text = text[:text.index(begin)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    README.write_text(text)


def machine() -> str:
    """Cores and memory, as the sections state them."""
    kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    return f"{os.cpu_count()} cores, {kib // 1024 // 1024} GiB"


def code() -> str:
    """Which code was measured: the commit, and whether the app's own files had uncommitted changes (the
    benchmarks' results and scripts do not count). Call it when the run starts."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "shopify_app", "workers", "migrations"], cwd=ROOT,
                           capture_output=True, text=True).stdout
    return f"commit {head.strip() or '?'}" + (" with uncommitted changes in the app" if dirty.strip() else "")
