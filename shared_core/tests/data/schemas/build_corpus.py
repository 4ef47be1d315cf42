"""Rebuild the real-world tool-schema corpus from the `bfcl-eval` package on PyPI.

The Berkeley Function Calling Leaderboard (Apache-2.0) ships its datasets inside its wheel:
function definitions contributed by real users ("live" sets) and curated API docs. Nobody on
this team wrote them, and many are messy in the ways production schemas are ("type": "dict",
"float", "tuple", "any", defaults that contradict types), which is what the stub generator
must survive. Run: `python shared_core/tests/data/schemas/build_corpus.py` (needs pip and the
package registry); it rewrites the `bfcl_*.json` files next to it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "bfcl-eval==2026.3.23"
HERE = Path(__file__).resolve().parent
SOURCES = {
    "bfcl_live_simple.json": ["bfcl_eval/data/BFCL_v4_live_simple.json"],
    "bfcl_live_multiple.json": ["bfcl_eval/data/BFCL_v4_live_multiple.json"],
    "bfcl_simple_python.json": ["bfcl_eval/data/BFCL_v4_simple_python.json"],
    "bfcl_multi_turn_apis.json": [
        f"bfcl_eval/data/multi_turn_func_doc/{name}.json"
        for name in ("gorilla_file_system", "math_api", "message_api", "posting_api",
                     "ticket_api", "trading_bot", "travel_booking", "vehicle_control")
    ],
}
CAPS = {"bfcl_live_multiple.json": 250, "bfcl_simple_python.json": 150}


def _functions(text: str) -> list[dict[str, object]]:
    found = []
    for line in text.splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        functions = record.get("function", record) if isinstance(record, dict) else record
        found.extend(functions if isinstance(functions, list) else [functions])
    return found


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "-d", tmp, PACKAGE], check=True)
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for out_name, members in SOURCES.items():
                seen: set[str] = set()
                tools = []
                for member in members:
                    for fn in _functions(archive.read(member).decode()):
                        key = json.dumps(fn, sort_keys=True)
                        if key in seen or not isinstance(fn, dict):
                            continue
                        seen.add(key)
                        tools.append({"name": fn.get("name"), "description": fn.get("description", ""),
                                      "input_schema": fn.get("parameters", {}), "output_schema": fn.get("response")})
                tools = tools[: CAPS.get(out_name, len(tools))]
                corpus = {
                    "source": {
                        "package": PACKAGE, "repo": "ShishirPatil/gorilla",
                        "path": ", ".join("berkeley-function-call-leaderboard/" + m for m in members),
                        "license": "Apache-2.0",
                        "url": "https://pypi.org/project/bfcl-eval/2026.3.23/",
                    },
                    "tools": tools,
                }
                (HERE / out_name).write_text(json.dumps(corpus, indent=1, ensure_ascii=False) + "\n")
                print(f"{out_name}: {len(tools)} tools")


if __name__ == "__main__":
    main()
