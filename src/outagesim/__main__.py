"""``python -m outagesim``."""

from .cli import main

main()
