"""A real PostgreSQL server for the store tests: pgserver's bundled binaries, in a temp dir.

pgserver (a dev-group wheel) ships PostgreSQL itself, so `make test` needs no system package
and no network. When the tests run as root, pgserver runs the server as its own system user
(PostgreSQL refuses to run as root). The server listens on a Unix socket only.

pgserver has no wheel for Python 3.13, so there the tests start the system's PostgreSQL
(Debian's `postgresql` package, which `make test` installs through `scripts/ensure-postgres`
when pgserver is missing) the same way: a private data dir, a Unix socket, no TCP.

The data directory is a private temp dir, not under pytest's basetemp: that one is shared by
every pytest run of the same user on the machine, which may tighten its permissions (the server
user then cannot reach its own files) or delete old sessions' dirs while this one runs.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest


def _pgserver_available() -> bool:
    try:
        import pgserver  # noqa: F401
    except ImportError:
        return False
    return True


def start_postgres() -> Any:
    """Start a throwaway server; fail (never skip) the tests if it cannot."""
    data = Path(tempfile.mkdtemp(prefix="codemode-pg-")) / "pgdata"
    if not _pgserver_available():
        return _start_system_postgres(data)
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
    if isinstance(server, SystemPostgres):
        server.stop()
        return
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


class SystemPostgres:
    """A throwaway server run from the system's PostgreSQL binaries (`initdb`, `pg_ctl`)."""

    def __init__(self, bindir: Path, data: Path) -> None:
        self.bindir = bindir
        self.pgdata = data
        self.socket_dir = data.parent / "socket"
        self.user = "postgres" if os.geteuid() == 0 else None
        """PostgreSQL refuses to run as root: as root, run it as the package's own user."""

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        self.socket_dir.mkdir(parents=True)
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            for path in (self.pgdata.parent, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.pgdata), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        options = f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off"
        log = self.pgdata.parent / "log"
        self._run("pg_ctl", "-D", str(self.pgdata), "-o", options, "-l", str(log), "-w", "start")

    def get_uri(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.socket_dir}"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.pgdata.parent, ignore_errors=True)


def _system_bindir() -> Path | None:
    """Where the system's `initdb` lives: Debian keeps it off PATH, per major version."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _start_system_postgres(data: Path) -> SystemPostgres:
    bindir = _system_bindir()
    if bindir is None:
        shutil.rmtree(data.parent, ignore_errors=True)
        pytest.fail(
            "could not start the PostgreSQL test server: pgserver is not installed (it has no "
            "wheel for this Python) and no system PostgreSQL was found. The PostgreSQL store "
            "tests need a real server and do not skip: run `scripts/ensure-postgres` (as "
            "`make test` does), which installs Debian's `postgresql` package.",
            pytrace=False,
        )
    server = SystemPostgres(bindir, data)
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        log = data.parent / "log"
        tail = log.read_text()[-2000:] if log.exists() else "(no server log)"
        server.stop()
        pytest.fail(
            f"could not start the system PostgreSQL ({bindir}, data in {data}): "
            f"{exc.stderr or exc!r}\n{tail}",
            pytrace=False,
        )
    return server
