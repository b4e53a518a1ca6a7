"""``python -m workers``: an RQ worker (with RQ's scheduler for retries) that sweeps first.

Options: ``--burst`` to stop when the queues are empty, ``--simple`` for
rq's non-forking worker (see bench/README.md for when that is worth it).
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
    parser.add_argument("--simple", action="store_true", help="run jobs in this process (no fork per job)")
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
    worker_class = SimpleWorker if args.simple else Worker
    worker = worker_class([queue.get_queue(redis, name) for name in queue.QUEUE_NAMES], connection=redis,
                          serializer=JSONSerializer)
    worker.work(burst=args.burst, with_scheduler=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
