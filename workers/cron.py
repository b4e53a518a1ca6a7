"""``python -m workers.cron``: RQ's cron scheduler, which queues the periodic maintenance jobs.

The sweeper runs every minute. Running two of these (two machines) only queues
the sweeper twice, which is harmless: it is idempotent.
"""

from __future__ import annotations

import sys

from redis import Redis
from rq.cron import CronJob, CronScheduler
from rq.job import Job

from shopify_app import queue
from shopify_app.errors import ConfigurationError
from shopify_app.settings import Settings
from workers.fulfilment import queue_owed_report_links
from workers.job_logging import configure_logging
from workers.maintenance import purge_expired_data, sweep_pending_requests
from workers.retention_due import queue_retention_scans

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


def build_scheduler(settings: Settings) -> CronScheduler:
    scheduler = CronScheduler(connection=queue.connect(settings.redis_url))
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


def main() -> int:
    configure_logging()
    try:
        settings = Settings.from_env()
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    build_scheduler(settings).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
