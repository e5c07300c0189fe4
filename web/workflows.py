"""Inline workflows (a request's own ``.flow`` text or JSON config), loaded once per process.

:class:`InlineWorkflows` is a bounded LRU cache: the same text is parsed,
checked and compiled once, and texts that lower to the same workflow share one
:class:`~engine.spec.compiler.CompiledWorkflow`, keyed by its content hash
(:func:`engine.spec.export.content_hash`, WF-4). Nothing in it is state that
two workers must agree on: a miss only costs a compile.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from engine.diagnostics import Diagnostic

if TYPE_CHECKING:
    from engine.spec.compiler import CompiledWorkflow

#: The label diagnostics name: what ``payroute check`` would print for a file of that name.
FLOW_LABEL = "workflow.flow"
CONFIG_LABEL = "workflow.json"

Kind = Literal["flow", "json"]


def config_text(config: dict[str, Any]) -> str:
    """A JSON config received as a value, as the text its diagnostics' lines and columns refer to."""
    return json.dumps(config, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Inline:
    """A loaded inline workflow: compiled, or the diagnostics that refused it."""

    kind: Kind
    compiled: CompiledWorkflow | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def label(self) -> str:
        return FLOW_LABEL if self.kind == "flow" else CONFIG_LABEL


class InlineWorkflows:
    """A thread-safe, bounded cache of loaded inline workflows."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._by_text: OrderedDict[str, Inline] = OrderedDict()
        self._by_hash: OrderedDict[str, CompiledWorkflow] = OrderedDict()
        self._lock = threading.Lock()
        self.compiles = 0  # how many workflows this cache compiled (tests, metrics)

    def load(self, text: str, kind: Kind) -> Inline:
        key = hashlib.sha256(f"{kind}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()
        with self._lock:
            found = self._by_text.get(key)
            if found is not None:
                self._by_text.move_to_end(key)
                return found
        inline = self._load(text, kind)
        with self._lock:
            self._by_text[key] = inline
            while len(self._by_text) > self.size:
                self._by_text.popitem(last=False)
        return inline

    def _load(self, text: str, kind: Kind) -> Inline:
        from dsl.load import load_workflow

        loaded = load_workflow(text, FLOW_LABEL if kind == "flow" else CONFIG_LABEL, kind=kind, compile=True)
        if loaded.compiled is None:
            return Inline(kind, None, tuple(loaded.errors()))
        digest = loaded.compiled.content_hash
        with self._lock:
            self.compiles += 1
            compiled = self._by_hash.setdefault(digest, loaded.compiled)
            self._by_hash.move_to_end(digest)
            while len(self._by_hash) > self.size:
                self._by_hash.popitem(last=False)
        return Inline(kind, compiled, ())
