"""Reading CLI inputs: a path or ``-`` for stdin."""

from __future__ import annotations

import sys
from pathlib import Path


def read_input(name: str) -> tuple[str, str]:
    """Return ``(text, label)``; ``OSError`` propagates to the CLI as exit 2."""
    if name == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        return Path(name).read_text(encoding="utf-8"), name
    except UnicodeDecodeError as exc:
        error = OSError(f"not a UTF-8 text file ({exc.reason})")
        error.filename, error.strerror = name, f"not a UTF-8 text file ({exc.reason})"
        raise error from None
