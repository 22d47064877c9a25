"""`python -m bot …`: the project's command line (bot/ops/cli.py)."""

import sys

from bot.ops.cli import main

if __name__ == "__main__":
    sys.exit(main())
