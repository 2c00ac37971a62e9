"""`python -m practice ...` is the same as the `practice` command."""

from practice.cli import main

main()
