"""How many small jobs per second do RQ workers run here? Forking worker vs non-forking, 1 and 2 processes.

    .venv/bin/python bench/workers.py [--jobs 2000]

Uses a private Redis and the JSON serializer, like the app. Each configuration drains the same
number of trivial jobs with `rq worker --burst` processes; the figure is jobs / wall time from the
first worker start to the last worker exit (process start-up included, as it is in production only once).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

from rq import Queue
from rq.serializers import JSONSerializer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import readme  # noqa: E402
from devtools.redis_server import RedisServer  # noqa: E402
from shopify_app import queue as app_queue  # noqa: E402

BEGIN, END = "<!-- workers:begin -->", "<!-- workers:end -->"
WORKER_CLASSES = {"Worker (fork per job)": "rq.worker.Worker", "SimpleWorker (no fork)": "rq.worker.SimpleWorker"}


def run(redis_url: str, worker_class: str, processes: int, jobs: int) -> float:
    connection = app_queue.connect(redis_url)
    connection.flushall()
    q = Queue("bench", connection=connection, serializer=JSONSerializer)
    with connection.pipeline() as pipe:
        for n in range(jobs):
            q.enqueue("bench.worker_jobs.noop", n, pipeline=pipe, result_ttl=0)
        pipe.execute()
    command = [sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", redis_url, "--worker-class", worker_class,
               "--serializer", "rq.serializers.JSONSerializer", "--logging_level", "WARNING", "bench"]
    started = time.perf_counter()
    workers = [subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}) for _ in range(processes)]
    for worker in workers:
        worker.wait()
    elapsed = time.perf_counter() - started
    assert q.count == 0, "jobs left behind"
    return jobs / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2000)
    args = parser.parse_args()
    rows = []
    with RedisServer() as redis:
        for label, worker_class in WORKER_CLASSES.items():
            for processes in (1, 2):
                rate = run(redis.url, worker_class, processes, args.jobs)
                rows.append(f"| {label} | {processes} | {rate:,.0f} |")
                print(rows[-1], flush=True)
    section = "\n".join([
        BEGIN, "## RQ workers: small jobs per second", "",
        f"Command: `.venv/bin/python bench/workers.py --jobs {args.jobs}` · {dt.date.today()} · {readme.machine()} "
        "· RQ 2.12, JSON serializer, private Redis, trivial jobs.", "",
        "| worker class | processes | jobs/s |", "| --- | ---: | ---: |", *rows, "", END])
    readme.write_section(BEGIN, END, section)


if __name__ == "__main__":
    main()
