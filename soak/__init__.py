"""`make soak`: fault and load scenarios with figures (not part of `make test`).

Each scenario drives real processes, stores and workers, prints what it measured, and says
whether anything was lost, repeated or leaked; `python -m soak` exits non-zero if any did.
`python -m soak --quick` is the smoke run `make test` executes (seconds, tiny numbers).
"""
