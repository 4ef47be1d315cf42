"""Store faults: PostgreSQL restarted under load; SQLite under heavy write contention.

Runs in flight either succeed (the store retried) or fail with a clear store error; no paused
execution is lost (resumes are retried until the store serves again), and no side effect runs
twice. Both scenarios reuse the load scenario with a fault injected or more writers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def postgres_restarter(server: Any) -> Callable[[], str]:
    """A fault: restart the server (`pg_ctl restart -m fast`), dropping every connection."""

    def restart() -> str:
        began = time.monotonic()
        if hasattr(server, "bindir"):  # the system server (SystemPostgres in the tests)
            server._run("pg_ctl", "-D", str(server.pgdata), "-m", "fast", "-w", "restart")
        else:
            import pgserver

            pgserver.pg_ctl(
                ["-w", "-m", "fast", "restart"], pgdata=server.pgdata, user=server.system_user
            )
        return f"PostgreSQL restarted (pg_ctl -m fast: {time.monotonic() - began:.1f} s down)"

    return restart
