"""Fault injection on PostgreSQL, shared by the fault tests."""

from __future__ import annotations

import psutil
from sqlalchemy import create_engine, text


def kill_this_process_connections(database_url: str) -> int:
    """Terminate this process's PostgreSQL connections, as a server restart would; return how many.

    Only this test process's own connections (found by their local ports), so that nothing else
    using the database is disturbed.
    """
    ports = [c.laddr.port for c in psutil.Process().net_connections("tcp") if c.raddr and c.raddr.port == 5432]
    admin = create_engine(database_url)
    try:
        with admin.begin() as connection:
            killed = connection.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                             "WHERE client_port = ANY(:ports) AND pid <> pg_backend_pid()"),
                                        {"ports": ports}).scalar()
    finally:
        admin.dispose()
    return int(killed or 0)
