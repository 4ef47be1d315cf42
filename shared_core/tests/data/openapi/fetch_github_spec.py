"""Re-create github_api.json.gz from the npm registry package `@octokit/openapi`."""

from __future__ import annotations

import gzip
import subprocess
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@octokit/openapi@23.0.2"
MEMBER = "package/generated/api.github.com.json"
HERE = Path(__file__).resolve().parent


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True)
        archive = next(Path(tmp).glob("octokit-openapi-*.tgz"))
        with tarfile.open(archive) as tar:
            member = tar.extractfile(MEMBER)
            assert member is not None
            data = member.read()
    (HERE / "github_api.json.gz").write_bytes(gzip.compress(data, compresslevel=9, mtime=0))


if __name__ == "__main__":
    main()
