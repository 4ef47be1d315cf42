"""A real PostgreSQL server for the store tests: pgserver's bundled binaries, in a temp dir.

pgserver (a dev-group wheel) ships PostgreSQL itself, so `make test` needs no system package
and no network. When the tests run as root, pgserver runs the server as its own system user
(PostgreSQL refuses to run as root). The server listens on a Unix socket only.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest


def start_postgres(directory: Path) -> Any:
    """Start a throwaway server in `directory`; fail (never skip) the tests if it cannot."""
    data = directory / "pgdata"
    try:
        with warnings.catch_warnings():  # "XDG_RUNTIME_DIR is not set": a fallback, harmless
            warnings.simplefilter("ignore")
            import pgserver

            # The fixture stops and deletes it (stop_postgres), faster than pgserver would.
            return pgserver.get_server(data, cleanup_mode=None)
    except Exception as exc:
        log = data / "log"
        tail = log.read_text()[-2000:] if log.exists() else "(no server log)"
        pytest.fail(
            f"could not start the PostgreSQL test server (pgserver, data in {data}): {exc!r}.\n"
            "The PostgreSQL store tests need a real server and do not skip: install the dev "
            "group (`make sync`, which brings the pgserver wheel) and check the log below.\n"
            f"{tail}",
            pytrace=False,
        )


def stop_postgres(server: Any) -> None:
    """Stop at once (the data is thrown away: no shutdown checkpoint), then delete it."""
    import pgserver

    try:
        pgserver.pg_ctl(
            ["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user
        )
    finally:
        server.cleanup()  # pgserver's own bookkeeping (started with cleanup_mode=None)
        shutil.rmtree(server.pgdata, ignore_errors=True)
