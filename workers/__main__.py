"""``python -m workers``: an RQ worker (with RQ's scheduler for retries) that sweeps first.

It runs jobs in its own process (RQ's ``SimpleWorker``) rather than forking a work horse per job: each
job then pays neither for the fork nor for what a fresh horse sets up again (connections, caches), and
two processes keep up with the intake where two forking workers fell behind (bench/README.md: "RQ
workers" and "Soak"). What forking bought, isolation of one job's
crash, matters little here: a job that dies with its process is found by the sweeper (a ``started`` job
older than the longest timeout) and queued again, which is also what happens when a forking worker's
machine is lost. Job timeouts still hold (RQ's SIGALRM death penalty runs in the main thread).

Options: ``--burst`` to stop when the queues are empty, ``--fork`` for RQ's forking worker.
"""

from __future__ import annotations

import argparse
import logging
import sys

from redis.exceptions import RedisError
from rq import Worker
from rq.serializers import JSONSerializer
from rq.worker import SimpleWorker

from shopify_app import queue
from shopify_app.errors import ConfigurationError
from shopify_app.settings import Settings
from workers import context
from workers.job_logging import configure_logging
from workers.maintenance import sweep_pending_requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--fork", action="store_true", help="fork a work horse per job (RQ's default Worker)")
    args = parser.parse_args(argv)
    configure_logging()
    try:
        settings = Settings.from_env()
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    context.configure(settings)
    redis = queue.connect(settings.redis_url)
    try:
        sweep_pending_requests()
    except RedisError as exc:
        logging.getLogger(__name__).warning("Start-up sweep skipped: Redis unavailable (%s)", exc)
    worker_class = Worker if args.fork else SimpleWorker
    worker = worker_class([queue.get_queue(redis, name) for name in queue.QUEUE_NAMES], connection=redis,
                          serializer=JSONSerializer)
    worker.work(burst=args.burst, with_scheduler=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
