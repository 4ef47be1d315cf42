"""Extract BFCL's multi-turn tasks (their users' words, and which tools the ground truth calls)
from the `bfcl-eval` wheel, for the search-mode benchmark (`benchmarks/bench_discovery.py`).

Run: `python shared_core/tests/data/tasks/build_tasks.py [path/to/bfcl_eval-*.whl]` (without
a path it downloads the wheel with pip); it rewrites `bfcl_multi_turn_base.json` next to it.
Kept: the user turns, the tools the ground truth calls and its calls as written
(`cd(folder='document')`, for the replay benchmark); not the initial state, which
`benchmarks/bench_bfcl_replay.py` reads from the wheel with BFCL's own tool implementations.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "bfcl-eval==2026.3.23"
HERE = Path(__file__).resolve().parent
DATA = "bfcl_eval/data/"
CLASSES = {
    "GorillaFileSystem": "gorilla_file_system",
    "MathAPI": "math_api",
    "MessageAPI": "message_api",
    "TwitterAPI": "posting_api",
    "TicketAPI": "ticket_api",
    "TradingBot": "trading_bot",
    "TravelAPI": "travel_booking",
    "VehicleControlAPI": "vehicle_control",
}


def _lines(archive: zipfile.ZipFile, member: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in archive.read(member).decode().splitlines() if line]


def _called(call: str) -> str:
    node = ast.parse(call, mode="eval").body
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name), call
    return node.func.id


def build(wheel: Path) -> dict[str, object]:
    with zipfile.ZipFile(wheel) as archive:
        classes = {
            name: [f["name"] for f in _lines(archive, f"{DATA}multi_turn_func_doc/{stem}.json")]
            for name, stem in CLASSES.items()
        }
        answers = {
            a["id"]: a["ground_truth"]
            for a in _lines(archive, f"{DATA}possible_answer/BFCL_v4_multi_turn_base.json")
        }
        tasks = []
        for task in _lines(archive, f"{DATA}BFCL_v4_multi_turn_base.json"):
            turns = []
            for messages, calls in zip(task["question"], answers[task["id"]], strict=True):  # type: ignore[call-overload]
                words = " ".join(m["content"] for m in messages if m["role"] == "user")
                turns.append(
                    {"query": words, "tools": sorted({_called(c) for c in calls}), "calls": calls}
                )
            tasks.append({"id": task["id"], "classes": task["involved_classes"], "turns": turns})
    return {
        "source": {
            "package": PACKAGE,
            "repo": "ShishirPatil/gorilla",
            "path": "berkeley-function-call-leaderboard/bfcl_eval/data/BFCL_v4_multi_turn_base.json"
            " and possible_answer/BFCL_v4_multi_turn_base.json",
            "license": "Apache-2.0",
            "url": "https://pypi.org/project/bfcl-eval/2026.3.23/",
        },
        "classes": classes,
        "tasks": tasks,
    }


def main() -> None:
    if len(sys.argv) > 1:
        corpus = build(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--quiet",
                    "-d",
                    tmp,
                    PACKAGE,
                ],
                check=True,
            )
            corpus = build(next(Path(tmp).glob("*.whl")))
    out = HERE / "bfcl_multi_turn_base.json"
    out.write_text(json.dumps(corpus, indent=1, ensure_ascii=False) + "\n")
    print(f"{out.name}: {len(corpus['tasks'])} tasks")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
