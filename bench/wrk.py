"""wrk as the load generator: a pool of signed requests made here, sent by ``bench/pool_wrk.lua``.

wrk is C and needs a tenth of what the Python generator (``intake.run_load``: httpx threads, about a core at
these rates) takes from the two cores it shares with the servers, so the servers get nearly the whole machine.
Its Lua has no HMAC: each request is signed here beforehand, once, and sent once (a new webhook id or
visitor each time), so a pool holds more requests than wrk can send in the slice.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import intake

LUA_SCRIPT = Path(__file__).resolve().parent / "pool_wrk.lua"


@dataclasses.dataclass
class Slice:
    """What one measured run gave (wrk's own figures, or the Python generator's)."""

    requests: int
    seconds: float
    statuses: dict[int, int]
    success: int  # the status that means the request was served (200 for webhooks, 204 for consent)
    socket_errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    cpu_cores: dict[str, float]  # average cores busy per process group while the load ran
    rows: int = 0  # rows stored during the run (ours)
    wrapped: int = 0  # times a wrk thread went round its share of the pool (requests sent twice)

    @property
    def ok(self) -> int:
        return self.statuses.get(self.success, 0)

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds

    @property
    def errors(self) -> int:
        return self.requests - self.ok + self.socket_errors


def ensure_wrk() -> str | None:
    """wrk's path, installed with apt-get when missing (as root); None if it cannot be had."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
    if subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True)
    return shutil.which("wrk")


def version(wrk: str) -> str:
    return subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout.split(" [")[0]


def write_pool(path: Path, make_request: Callable[[], intake.Request], count: int) -> None:
    """``count`` requests, made now, one per line: path, headers and body, separated by tabs."""
    with path.open("w") as out:
        for _ in range(count):
            target, body, headers, _success = make_request()
            out.write("\t".join([target, *(f"{name}: {value}" for name, value in headers.items()), body.decode()]))
            out.write("\n")


def run(wrk: str, url: str, make_request: Callable[[], intake.Request], groups: dict[str, list[int]], *,
        connections: int, threads: int, warmup: float, duration: float, workdir: Path,
        rows_counter: Callable[[], int] | None = None, max_rate: int = 8000,
        midway: Callable[[], None] | None = None) -> Slice:
    """A warm-up run, then the measured one, each with a new pool of ``max_rate`` requests per second (more
    than wrk can send); CPU is measured while wrk sends (it reads its pool first). ``midway`` is called once,
    halfway through the measured run."""
    pool, result = workdir / "pool.tsv", workdir / "result.json"
    success = make_request()[3]
    rows = 0
    cpu: dict[str, float] = {}
    for phase, seconds in (("warm-up", warmup), ("measure", duration)):
        write_pool(pool, make_request, int(max_rate * (seconds + 1)) + connections)
        result.unlink(missing_ok=True)
        rows_before = rows_counter() if rows_counter and phase == "measure" else 0
        args = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(LUA_SCRIPT),
                url, "--", str(pool), str(threads)]
        process = subprocess.Popen(args, env={**os.environ, "WRK_RESULT_FILE": str(result)}, cwd=workdir,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if phase == "measure":
            began = time.monotonic()
            time.sleep(0.4)
            meter = intake._CpuMeter({**groups, "wrk": [process.pid]})  # noqa: SLF001
            if midway is not None:
                time.sleep(max(0.0, seconds / 2 - (time.monotonic() - began)))
                midway()
            time.sleep(max(0.5, seconds - 0.6 - (time.monotonic() - began)))
            cpu = meter.stop()
        out, _ = process.communicate(timeout=seconds + 60)
        if process.returncode != 0 or not result.exists():
            raise RuntimeError(f"wrk failed: {out.decode()[-2000:]}")
        if rows_counter and phase == "measure":
            rows = rows_counter() - rows_before
    data = json.loads(result.read_text())
    errors = data["socket_errors"]
    return Slice(requests=data["requests"], seconds=data["seconds"],
                 statuses={int(k): v for k, v in data["statuses"].items()}, success=success,
                 socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
                 p50_ms=data["latency_ms"]["p50"], p99_ms=data["latency_ms"]["p99"], max_ms=data["latency_ms"]["max"],
                 cpu_cores=cpu, wrapped=data["wrapped"], rows=rows)


def merge(parts: list[Slice]) -> Slice:
    """Slices as one: counts added; latency: the median slice's p50, the worst slice's p99 (wrk keeps no samples)."""
    seconds = sum(p.seconds for p in parts)
    statuses: dict[int, int] = {}
    for p in parts:
        for k, v in p.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
    cpu = {k: sum(p.cpu_cores.get(k, 0.0) * p.seconds for p in parts) / seconds for k in parts[0].cpu_cores}
    return Slice(requests=sum(p.requests for p in parts), seconds=seconds, statuses=statuses, success=parts[0].success,
                 socket_errors=sum(p.socket_errors for p in parts),
                 p50_ms=sorted(p.p50_ms for p in parts)[len(parts) // 2], p99_ms=max(p.p99_ms for p in parts),
                 max_ms=max(p.max_ms for p in parts), cpu_cores=cpu, rows=sum(p.rows for p in parts),
                 wrapped=sum(p.wrapped for p in parts))
