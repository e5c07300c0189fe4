"""The `.flow` rule language and its tools: parser, transformer to the engine's
model, formatter, diagram, simulator and test runner, and the language verbs.

The pipeline is exposed once, here: :func:`load_workflow` (text → model →
checks → optionally compiled, every problem located) and
:func:`load_workflow_file`; the verbs and the service use it rather than
assembling the steps themselves. The names load on first use (PEP 562), so
``import dsl`` costs nothing for a verb that does not need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dsl.load import LoadedWorkflow, load_workflow, load_workflow_file

__all__ = ["LoadedWorkflow", "load_workflow", "load_workflow_file"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from dsl import load

        return getattr(load, name)
    raise AttributeError(f"module 'dsl' has no attribute {name!r}")
