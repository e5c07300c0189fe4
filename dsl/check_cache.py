"""A cache of checked workflows, like Python's ``__pycache__``.

``payroute simulate`` and ``payroute test`` need only the checked model of a
rule file; parsing and checking it again on every run costs most of their
start-up (Lark, the grammar tables, every check). So a workflow that checked
clean is stored as its model's data, keyed by the SHA-256 of its text and a
fingerprint of the language code itself (the size and mtime of every file of
``dsl/`` and ``engine/``, so a new check or grammar invalidates every entry).
A hit is read back without Lark or pydantic. Only clean workflows are stored:
a file with errors is always re-checked, so its diagnostics are always shown.

Location: ``$PAYROUTE_CACHE_DIR``, else ``$XDG_CACHE_HOME/payroute``, else
``~/.cache/payroute``; ``PAYROUTE_CACHE_DIR=off`` turns it off. Any problem
reading or writing the cache is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from engine.spec.model import WorkflowConfig, config_from_data, to_data

FORMAT = 1


def cache_dir() -> Path | None:
    configured = os.environ.get("PAYROUTE_CACHE_DIR")
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "no") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "payroute"


@lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    digest = hashlib.sha256(f"format {FORMAT}".encode())
    for package in ("dsl", "engine"):
        root = Path(__file__).resolve().parent.parent / package
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".lark"):
                st = path.stat()
                digest.update(f"{path.relative_to(root.parent)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _entry(text: str) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    key = hashlib.sha256(f"{_code_fingerprint()}\n{text}".encode("utf-8")).hexdigest()
    return folder / f"{key}.json"


def cached_config(text: str) -> WorkflowConfig | None:
    """The checked model of ``text`` if an earlier run found it clean, else None."""
    try:
        path = _entry(text)
        if path is None or not path.is_file():
            return None
        return config_from_data(json.loads(path.read_text(encoding="utf-8")))
    except Exception:  # noqa: BLE001 - a damaged or foreign entry is a miss
        return None


def remember(text: str, config: WorkflowConfig) -> None:
    """Store a workflow that checked clean (no errors)."""
    try:
        path = _entry(text)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(to_data(config)), encoding="utf-8")
        os.replace(tmp, path)  # atomic: a concurrent reader sees all or nothing
    except OSError:
        pass
