"""`make bench`: every benchmark, side by side, printed as tables (not part of `make test`)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_executors


def main() -> None:
    print("== Executor overhead: a 20-tool-call plan with filtering ==")
    print(bench_executors.render(asyncio.run(bench_executors.run())))
    print("\n== The same plan, in executed instructions (valgrind; repeatable) ==")
    if shutil.which("valgrind"):
        print(bench_instructions.render(bench_instructions.run()))
    else:
        print("valgrind is not installed: skipped")


if __name__ == "__main__":
    main()
