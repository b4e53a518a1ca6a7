"""bench/README.md: each benchmark script rewrites its own section, between its two markers."""

from __future__ import annotations

import os
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


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
