"""A real PostgreSQL server for the store tests: pgserver's bundled binaries, in a temp dir.

pgserver (a dev-group wheel) ships PostgreSQL itself, so `make test` needs no system package
and no network. When the tests run as root, pgserver runs the server as its own system user
(PostgreSQL refuses to run as root). The server listens on a Unix socket only.

The data directory is a private temp dir, not under pytest's basetemp: that one is shared by
every pytest run of the same user on the machine, which may tighten its permissions (the server
user then cannot reach its own files) or delete old sessions' dirs while this one runs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest


def start_postgres() -> Any:
    """Start a throwaway server; fail (never skip) the tests if it cannot."""
    data = Path(tempfile.mkdtemp(prefix="codemode-pg-")) / "pgdata"
    try:
        with warnings.catch_warnings():  # "XDG_RUNTIME_DIR is not set": a fallback, harmless
            warnings.simplefilter("ignore")
            import pgserver

            # stop_postgres stops and deletes it, faster than pgserver's own cleanup would.
            return pgserver.get_server(data, cleanup_mode=None)
    except Exception as exc:
        log = data / "log"
        tail = log.read_text()[-2000:] if log.exists() else "(no server log)"
        shutil.rmtree(data.parent, ignore_errors=True)
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

    pid = server.get_pid()
    try:
        pgserver.pg_ctl(
            ["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user
        )
    except subprocess.CalledProcessError:
        with contextlib.suppress(ProcessLookupError):  # SIGQUIT: the same immediate stop
            os.kill(pid, signal.SIGQUIT)
    finally:
        server.cleanup()  # pgserver's own bookkeeping (started with cleanup_mode=None)
        shutil.rmtree(Path(server.pgdata).parent, ignore_errors=True)
