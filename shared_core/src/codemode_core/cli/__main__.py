"""`python -m codemode_core.cli`: the `codemode` command without the console script."""

from codemode_core.cli import main

main()
