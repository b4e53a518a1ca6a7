"""``python -m workers.cron``: RQ's cron scheduler, which queues the periodic maintenance jobs.

The sweeper runs every minute. Running two of these (two machines) only queues
the sweeper twice, which is harmless: it is idempotent.

A Redis outage does not end the process. RQ's scheduler gives up at its first Redis error, and at start
while Redis is down, so it is started again (registering anew) after a wait that doubles from 1 s up to
``--max-retry-delay`` seconds (default 15, well under the sweep interval), until SIGTERM or SIGINT.
A sweep missed during the outage is still due, so it is queued as soon as Redis answers, even an empty one.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from types import FrameType

from redis import Redis
from redis.exceptions import RedisError
from rq.cron import CronJob, CronScheduler
from rq.exceptions import StopRequested
from rq.job import Job

from shopify_app import queue
from shopify_app.errors import ConfigurationError
from shopify_app.settings import Settings
from workers.fulfilment import queue_owed_report_links
from workers.job_logging import configure_logging
from workers.maintenance import purge_expired_data, sweep_pending_requests
from workers.redis_outage import RETRY_MAX_DELAY, add_retry_option, retry_delays
from workers.retention_due import queue_retention_scans

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 60
PURGE_CRON = "17 3 * * *"  # daily, at a quiet hour (UTC)
RETENTION_SCAN_CRON = "41 4 * * 1"  # weekly, Monday morning (UTC): customers past retention
REPORT_LINKS_CRON = "23 * * * *"  # hourly: report-link emails still owed (their job was lost)


class JsonCronJob(CronJob):
    """A cron job queued with our JSON serializer.

    rq's ``CronJob.enqueue`` always uses the default (pickle) serializer, which
    our JSON workers cannot read; this is the one line we change.
    """

    def enqueue(self, connection: Redis) -> Job:
        return queue.get_queue(connection, self.queue_name).enqueue(
            self.func_name, *self.args, **self.kwargs, **self.job_options
        )


class RestartingCronScheduler(CronScheduler):
    """RQ's CronScheduler, started again after each Redis error until a signal stops it."""

    def __init__(self, connection: Redis, *, max_retry_delay: float = RETRY_MAX_DELAY) -> None:
        super().__init__(connection=connection)
        self.max_retry_delay = max_retry_delay
        self.stop_requested = False

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        # RQ's handler raises StopRequested, which its start() swallows before unregistering, and that last
        # Redis call fails during an outage: without this flag, a stop would look like an outage.
        self.stop_requested = True
        super()._request_stop(signum, frame)

    def start(self) -> None:
        delays = retry_delays(self.max_retry_delay)
        try:
            while True:
                started = time.monotonic()
                try:
                    super().start()  # returns only when stopped by a signal
                    return
                except RedisError as exc:
                    if self.stop_requested:
                        return
                    if time.monotonic() - started > self.max_retry_delay:
                        delays = retry_delays(self.max_retry_delay)  # it ran a while: a new outage
                    delay = next(delays)
                    log.warning("Redis unavailable (%s); cron scheduler starting again in %.1f s",
                                type(exc).__name__, delay)
                time.sleep(delay)
        except StopRequested:
            pass  # a signal outside RQ's loop: while waiting for Redis, or while (un)registering


def build_scheduler(settings: Settings, *, max_retry_delay: float = RETRY_MAX_DELAY) -> RestartingCronScheduler:
    scheduler = RestartingCronScheduler(queue.connect(settings.redis_url), max_retry_delay=max_retry_delay)
    sweeper = JsonCronJob(queue_name=queue.MAINTENANCE_QUEUE, func=sweep_pending_requests,
                          interval=SWEEP_INTERVAL_SECONDS, job_timeout=120, result_ttl=0, failure_ttl=3600)
    purge = JsonCronJob(queue_name=queue.MAINTENANCE_QUEUE, func=purge_expired_data, cron=PURGE_CRON,
                        job_timeout=1800, result_ttl=0, failure_ttl=7 * 24 * 3600)
    retention_scans = JsonCronJob(queue_name=queue.MAINTENANCE_QUEUE, func=queue_retention_scans,
                                  cron=RETENTION_SCAN_CRON, job_timeout=600, result_ttl=0, failure_ttl=7 * 24 * 3600)
    report_links = JsonCronJob(queue_name=queue.MAINTENANCE_QUEUE, func=queue_owed_report_links,
                               cron=REPORT_LINKS_CRON, job_timeout=300, result_ttl=0, failure_ttl=24 * 3600)
    # register() would build pickle CronJobs
    scheduler._cron_jobs.extend([sweeper, purge, retention_scans, report_links])
    return scheduler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers.cron")
    add_retry_option(parser)
    args = parser.parse_args(argv)
    configure_logging()
    try:
        settings = Settings.from_env()
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    build_scheduler(settings, max_retry_delay=args.max_retry_delay).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
