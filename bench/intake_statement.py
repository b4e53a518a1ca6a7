"""PostgreSQL's cost of the intake's one-statement batches, by batch size; writes ``bench/README.md``.

    .venv/bin/python bench/intake_statement.py [--statements N]

The webhook intake stores each batch of deliveries with one statement (``services/delivery_statement.py``).
This measures what one such statement costs PostgreSQL, for batches of 1 to 16 new ``customers/redact``
deliveries, on the ``bench`` database seeded as ``bench/webhooks.py`` seeds it: CPU of every PostgreSQL
process (the backend, and the WAL writer that may flush its commit) per statement, and the wall time of the
call as the intake sees it. One connection, no concurrency: the fixed cost per statement is what the group
commit's batches (and their gather time, ``services/webhook_intake.GATHER_SECONDS``) spread over deliveries.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() not in (ROOT, ROOT / "bench"))]

from bench import intake, readme  # noqa: E402

BEGIN, END = "<!-- intake-statement:begin -->", "<!-- intake-statement:end -->"
BATCH_SIZES = (1, 2, 4, 8, 16)
WARMUP_STATEMENTS = 20  # psycopg prepares the statement after 5 runs; PostgreSQL's generic plan follows


def measure(statements: int) -> list[tuple[int, float, float]]:
    """(batch size, PostgreSQL CPU ms per statement, wall ms per statement) for each size."""
    from shopify_app import db
    from shopify_app.platform.webhooks import WebhookDelivery
    from shopify_app.services import delivery_statement

    rows = []
    with intake.bench_env() as env:
        intake.reset_state(env)
        intake.seed_history(env)
        serial = iter(range(1, 10_000_000))

        def delivery() -> WebhookDelivery:
            i = next(serial)
            body, headers = intake.redact_delivery(env.api_secret, i, i)
            return WebhookDelivery.from_request(intake.TOPIC, headers, body)

        with db.get_autocommit_engine(env.database_url).connect() as connection:
            for size in BATCH_SIZES:
                batches = [[delivery() for _ in range(size)] for _ in range(WARMUP_STATEMENTS + statements)]
                for batch in batches[:WARMUP_STATEMENTS]:
                    delivery_statement.accept_deliveries(connection, batch)
                meter, began = intake._CpuMeter({}), time.perf_counter()  # noqa: SLF001 (PostgreSQL's processes)
                for batch in batches[WARMUP_STATEMENTS:]:
                    assert delivery_statement.accept_deliveries(connection, batch) is not None
                wall = time.perf_counter() - began
                cpu_seconds = meter.stop()["postgres"] * wall
                rows.append((size, cpu_seconds / statements * 1000, wall / statements * 1000))
                print(f"  batch {size}: {rows[-1][1]:.3f} ms CPU, {rows[-1][2]:.3f} ms wall", flush=True)
    return rows


def fit(rows: list[tuple[int, float, float]]) -> tuple[float, float]:
    """Least squares: CPU ms per statement = fixed + per_delivery x batch size."""
    n = len(rows)
    mean_x = sum(r[0] for r in rows) / n
    mean_y = sum(r[1] for r in rows) / n
    slope = (sum((r[0] - mean_x) * (r[1] - mean_y) for r in rows)
             / sum((r[0] - mean_x) ** 2 for r in rows))
    return mean_y - slope * mean_x, slope


def render(command: str, rows: list[tuple[int, float, float]], elapsed: float) -> str:
    fixed, per_delivery = fit(rows)
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN,
        "## Webhook intake: PostgreSQL's cost of one batch statement",
        "",
        f"Command: `{command}` · run {today} · took {elapsed / 60:.1f} min · {readme.machine()}, "
        f"PostgreSQL {intake.postgres_version()}.",
        "",
        "One connection in autocommit mode sends `services/delivery_statement.py`'s statement (prepared, generic "
        "plan) for batches of new `customers/redact` deliveries, on the `bench` database seeded as for "
        "`bench/webhooks.py`. CPU is that of every PostgreSQL process (psutil, 10 ms ticks), so it includes the "
        "commit's WAL flush wherever it runs.",
        "",
        "| deliveries per statement | PostgreSQL CPU per statement | per delivery | wall time per statement |",
        "| ---: | ---: | ---: | ---: |",
        *(f"| {size} | {cpu:.2f} ms | {cpu / size:.2f} ms | {wall:.2f} ms |" for size, cpu, wall in rows),
        "",
        f"Least-squares fit: **{fixed:.2f} ms per statement + {per_delivery:.2f} ms per delivery**. The fixed part "
        "is why the intake gathers deliveries into batches (`services/webhook_intake.py`).",
        END,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--statements", type=int, default=1000, help="measured statements per batch size")
    args = parser.parse_args(argv)
    command = ".venv/bin/python bench/intake_statement.py" + (
        f" --statements {args.statements}" if args.statements != 1000 else "")
    began = time.monotonic()
    rows = measure(args.statements)
    section = render(command, rows, time.monotonic() - began)
    readme.write_section(BEGIN, END, section)
    print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
