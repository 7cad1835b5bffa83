"""`python -m niochat`: the command (the `cli` package), for children started with this interpreter. An entry point,
never imported: the floor itself imports no room (tests/unit/test_architecture.py)."""

from cli import main

main()
