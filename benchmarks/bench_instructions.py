"""Instructions per plan (valgrind callgrind): a repeatable cost, immune to a noisy machine.

Wall-clock medians on shared virtual machines drift between runs; executed instructions do not.
Each contender runs N and N+100 times under callgrind; the difference / 100 is its cost per plan.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

_SCRIPT = """
import asyncio, sys
sys.path.insert(0, {here!r})
import bench_executors as b
kind, n = sys.argv[1], int(sys.argv[2])
if kind == "codemode":
    from codemode_core import CodeMode
    cm = CodeMode(b.TOOLS, executor="inprocess")
    async def main():
        for _ in range(n):
            await cm.run(b.PLANS[1].codemode)
    asyncio.run(main())
elif kind == "plain":
    code = compile(b.PLANS[1].plain, "<plain>", "exec")
    for _ in range(n):
        exec(code, {{"get_order": b.get_order, "get_customer": b.get_customer}})
else:
    from smolagents.local_python_executor import LocalPythonExecutor
    ex = LocalPythonExecutor([], additional_functions={{"get_order": b.get_order,
                             "get_customer": b.get_customer}}, timeout_seconds=None)
    ex.send_tools({{}})
    for _ in range(n):
        ex(b.PLANS[1].plain)
"""


def _instructions(kind: str, runs: int) -> int:
    completed = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            _SCRIPT.format(here=str(HERE)),
            kind,
            str(runs),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(line for line in completed.stderr.splitlines() if "Collected" in line)
    return int(line.split()[-1])


def run() -> list[tuple[str, float]]:
    rows = []
    for kind, name in (
        ("codemode", "codemode in-process (cached)"),
        ("plain", "plain exec (no sandbox)"),
        ("smolagents", "smolagents LocalPythonExecutor"),
    ):
        try:
            per_plan = (_instructions(kind, 101) - _instructions(kind, 1)) / 100
        except subprocess.CalledProcessError:
            continue
        rows.append((name, per_plan))
    return rows


def render(rows: list[tuple[str, float]]) -> str:
    if not rows:
        return "valgrind is not installed: skipped"
    base = rows[0][1]
    lines = [f"{'contender':40} {'instructions/plan':>18} {'× in-process':>13}"]
    lines += [f"{name:40} {count:18,.0f} {count / base:12.2f}x" for name, count in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: skipped")
    else:
        print(render(run()))
