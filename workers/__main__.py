"""``python -m workers``: an RQ worker (with RQ's scheduler for retries) that sweeps first.

It runs jobs in its own process (RQ's ``SimpleWorker``) rather than forking a work horse per job: each
job then pays neither for the fork nor for what a fresh horse sets up again (connections, caches), and
two processes keep up with the intake where two forking workers fell behind (bench/README.md: "RQ
workers" and "Soak"). What forking bought, isolation of one job's
crash, matters little here: a job that dies with its process is found by the sweeper (a ``started`` job
older than the longest timeout) and queued again, which is also what happens when a forking worker's
machine is lost. Job timeouts still hold (RQ's SIGALRM death penalty runs in the main thread).

A Redis outage does not end the process. While Redis is down at start, or when an outage ends RQ's work
loop, it waits (1 s, doubling up to ``--max-retry-delay`` seconds) and starts again, the sweep included,
so the sweep runs once Redis is back, before the worker takes jobs. A database that cannot be reached by
the start's sweep is waited for the same way (a job meeting it later fails and is retried by RQ). SIGTERM
or SIGINT stops it at any point. (An outage while the worker waits for a job is RQ's own to ride out: it retries the dequeue.)

Options: ``--burst`` to stop when the queues are empty, ``--fork`` for RQ's forking worker,
``--max-retry-delay SECONDS`` (default 15).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from types import FrameType

from redis.exceptions import RedisError
from rq import Worker
from rq.exceptions import StopRequested
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker, SimpleWorker
from sqlalchemy.exc import OperationalError

from shopify_app import queue
from shopify_app.errors import ConfigurationError
from shopify_app.settings import Settings
from workers import context
from workers.job_logging import configure_logging
from workers.maintenance import sweep_pending_requests
from workers.redis_outage import add_retry_option, retry_delays

log = logging.getLogger(__name__)


class _RemembersStop(BaseWorker):
    """RQ's ``work()`` returns alike when a signal stopped it and when a Redis error ended its loop (RQ logs
    the error and quits); only the first should end the process."""

    stop_requested = False

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested = True
        super().request_stop(signum, frame)


class InProcessWorker(_RemembersStop, SimpleWorker):
    pass


class ForkingWorker(_RemembersStop, Worker):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise StopRequested


def _stop_on_signal() -> None:
    # Outside work(), RQ's handlers are missing (before) or a spent worker's (after), which may only flag it.
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)


def run(settings: Settings, *, burst: bool, fork: bool, max_retry_delay: float) -> None:
    """Sweep, then work; after a Redis outage, wait and do both again, until a signal (or a burst) ends it."""
    worker_class = ForkingWorker if fork else InProcessWorker
    redis = queue.connect(settings.redis_url)
    queues = [queue.get_queue(redis, name) for name in queue.QUEUE_NAMES]
    delays = retry_delays(max_retry_delay)
    try:
        _stop_on_signal()
        while True:
            started = time.monotonic()
            worker: _RemembersStop | None = None
            try:
                sweep_pending_requests()
                # A new worker each time: the last one may still be registered as alive (its death could
                # not be written), and RQ refuses a second worker of the same name.
                worker = worker_class(queues, connection=redis, serializer=JSONSerializer)
                worker.work(burst=burst, with_scheduler=True)
                if burst or worker.stop_requested:
                    return
                reason = "RQ's work loop ended"
            except (RedisError, OperationalError) as exc:
                if worker is not None and worker.stop_requested:
                    return
                if burst:  # a one-off run (tests, a manual drain) says what is down rather than waiting
                    raise
                down = "Redis" if isinstance(exc, RedisError) else "Database"
                # The type and SQLSTATE only (a wrong password, a missing database: 28P01, 3D000): a database
                # error's text may carry the values of a statement.
                cause = getattr(exc, "orig", None) or exc
                sqlstate = getattr(cause, "sqlstate", None)
                reason = f"{down} unavailable ({type(cause).__name__}{f', SQLSTATE {sqlstate}' if sqlstate else ''})"
            finally:
                _stop_on_signal()
                if worker is not None and worker.pubsub_thread is not None:
                    # RQ stops it in teardown, after a Redis call that fails during an outage; left running,
                    # it would retry its connection for ever, one more thread per outage.
                    worker.pubsub_thread.stop()
            if time.monotonic() - started > max_retry_delay:
                delays = retry_delays(max_retry_delay)  # it ran a while: a new outage
            delay = next(delays)
            log.warning("%s; worker starting again in %.1f s", reason, delay)
            time.sleep(delay)
    except StopRequested:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--fork", action="store_true", help="fork a work horse per job (RQ's default Worker)")
    add_retry_option(parser)
    args = parser.parse_args(argv)
    configure_logging()
    try:
        settings = Settings.from_env()
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    context.configure(settings)
    run(settings, burst=args.burst, fork=args.fork, max_retry_delay=args.max_retry_delay)
    return 0


if __name__ == "__main__":
    sys.exit(main())
