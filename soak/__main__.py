"""`python -m soak [--quick] [--only NAME ...]`: run the fault and load scenarios, print their
figures, exit 1 if any scenario lost, repeated or leaked anything."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from soak._common import Outcome
from soak.hosts import HostCrashConfig, run_host_crashes
from soak.leaks import SoakConfig, run_soak
from soak.load import LoadConfig, run_load
from soak.stores import postgres_restarter
from soak.workers import WorkerCrashConfig, run_worker_crashes

SCENARIOS = [
    "load-sqlite",
    "load-postgres",
    "host-crashes-sqlite",
    "host-crashes-postgres",
    "store-restart-postgres",
    "store-contention-sqlite",
    "worker-crashes",
    "soak-inprocess",
    "soak-isolated",
]


def _postgres() -> tuple[str, object]:
    """A throwaway PostgreSQL server, started the way the test suite starts one."""
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "shared_core" / "tests" / "durable"))
    from postgres_support import start_postgres  # type: ignore[import-not-found]

    server = start_postgres()
    return str(server.get_uri()), server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: seconds, not minutes")
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, help="run only these scenarios")
    args = parser.parse_args(argv)
    chosen = args.only or SCENARIOS
    load = LoadConfig(processes=2, conversations=5, seconds=2) if args.quick else LoadConfig()
    faults = (
        LoadConfig(processes=2, conversations=5, seconds=4, store_faults=True)
        if args.quick
        else LoadConfig(processes=4, conversations=25, seconds=30, store_faults=True)
    )
    contention = (
        LoadConfig(processes=4, conversations=10, seconds=3, store_faults=True)
        if args.quick
        else LoadConfig(processes=8, conversations=50, seconds=30, store_faults=True)
    )
    crashes = (
        WorkerCrashConfig(plans=80, after=10, kill_every=0.15)
        if args.quick
        else WorkerCrashConfig()
    )
    host_crashes = (
        HostCrashConfig(processes=3, conversations=5, seconds=6, kill_every=2, lease=1)
        if args.quick
        else HostCrashConfig()
    )
    soak = SoakConfig(plans=600, warmup=200, rss_growth_mb=60) if args.quick else SoakConfig()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="codemode-soak-") as scratch:
        workdir = Path(scratch)
        server = None
        try:
            for name in chosen:
                began = time.monotonic()
                if name == "load-sqlite":
                    store = str(workdir / "load.sqlite")
                    outcome = run_load(store, workdir, load, "load on SQLite")
                elif name == "load-postgres":
                    if server is None:
                        dsn, server = _postgres()
                    outcome = run_load(dsn, workdir, load, "load on PostgreSQL")
                elif name == "host-crashes-sqlite":
                    store = str(workdir / "hosts.sqlite")
                    outcome = run_host_crashes(store, workdir, host_crashes, "hosts killed, SQLite")
                elif name == "host-crashes-postgres":
                    if server is None:
                        dsn, server = _postgres()
                    outcome = run_host_crashes(
                        dsn, workdir, host_crashes, "hosts killed, PostgreSQL"
                    )
                elif name == "store-restart-postgres":
                    if server is None:
                        dsn, server = _postgres()
                    outcome = run_load(
                        dsn,
                        workdir,
                        faults,
                        "PostgreSQL restarted under load",
                        fault=postgres_restarter(server),
                        fault_at=faults.seconds / 3,
                    )
                elif name == "store-contention-sqlite":
                    store = str(workdir / "contention.sqlite")
                    outcome = run_load(store, workdir, contention, "SQLite under write contention")
                elif name == "worker-crashes":
                    outcome = asyncio.run(run_worker_crashes(workdir, crashes))
                else:
                    outcome = asyncio.run(run_soak(name.removeprefix("soak-"), soak))
                outcome.figures.append(f"scenario time: {time.monotonic() - began:.1f} s")
                print(outcome.render(), flush=True)
                outcomes.append(outcome)
        finally:
            if server is not None:
                from postgres_support import stop_postgres

                stop_postgres(server)
    failed = [o.name for o in outcomes if not o.ok]
    print(
        f"\n{len(outcomes) - len(failed)} passed, {len(failed)} failed"
        + (f": {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
