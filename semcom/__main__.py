"""``python -m semcom``: the same command as ``semcom``."""

from semcom.app.cli import main

main()
