"""YAML that remembers where every value was written, for located error messages.

PyYAML's ``safe_load`` gives plain values and forgets positions; a person who
wrote ``amount: 100000.00`` in a cases file needs to be told line 12, column
15, with a caret, and that YAML read it as a number. :class:`LocatedYaml`
composes the node tree, converts it to plain values itself and keeps each
value's node by path, so any later check can point at what it judged.

Also refused here, because ``safe_load`` silently accepts them: a key given
twice in one mapping (the last would win) and keys that are not plain
scalars. Dates stay the text written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

YamlPath = tuple[object, ...]


@dataclass(frozen=True)
class YamlProblem:
    """One located problem in a YAML file (1-based line and column, end exclusive)."""

    file: str
    message: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    hint: str | None = None

    def render(self, text: str | None) -> str:
        """Rustc-style text with a caret under the offending YAML, like ``payroute check``."""
        out = [f"error: {self.message}"]
        if self.line is None or self.column is None:
            out.append(f"  --> {self.file}")
        else:
            pad = " " * len(str(self.line))
            out.append(f"{pad}--> {self.file}:{self.line}:{self.column}")
            src = text.split("\n") if text is not None else []
            if 1 <= self.line <= len(src):
                line = src[self.line - 1].expandtabs(4)
                same = self.end_line == self.line and self.end_column is not None
                width = max(1, (self.end_column - self.column) if same else len(line) - self.column + 1)
                out += [f"{pad} |", f"{self.line} | {line}".rstrip(),
                        f"{pad} | " + " " * (self.column - 1) + "^" * width]
        if self.hint:
            out.append(f"{' ' * len(str(self.line or ''))} = hint: {self.hint}")
        return "\n".join(out)

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "end_line": self.end_line,
                "end_column": self.end_column, "message": self.message, "hint": self.hint}


class LocatedYaml:
    """Plain YAML values plus the node each path came from, for locating problems."""

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.file = filename
        self.nodes: dict[YamlPath, yaml.Node] = {}
        self.problems: list[YamlProblem] = []

    def problem(self, path: YamlPath | None, message: str, hint: str | None = None,
                *, key: bool = False) -> None:
        node = self.nodes.get(path) if path is not None else None
        if key and path is not None:
            node = self.nodes.get(("#key", *path), node)
        if node is None:
            self.problems.append(YamlProblem(self.file, message, hint=hint))
            return
        s, e = node.start_mark, node.end_mark
        self.problems.append(YamlProblem(self.file, message, s.line + 1, s.column + 1,
                                         e.line + 1, e.column + 1, hint))

    def load(self) -> Any:
        loader = yaml.SafeLoader(self.text)
        try:
            root = loader.get_single_node()
            if root is None:
                self.problems.append(YamlProblem(self.file, "the file is empty; it needs a list of cases"))
                return None
            return self._convert(loader, root, ())
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            what = exc.problem or "invalid YAML"
            if exc.context:
                what = f"{what} ({exc.context})"
            hint = None
            if "found character '\\t'" in what:
                hint = "YAML indents with spaces, never tabs"
            elif "'?'" in what or "mapping values are not allowed" in what:
                hint = 'put names with `?`, `:`, `>` or `#` in double quotes: "Large Invoice?"'
            line = mark.line + 1 if mark else None
            col = mark.column + 1 if mark else None
            self.problems.append(YamlProblem(self.file, f"invalid YAML: {what}", line, col,
                                             line, (col + 1) if col else None, hint))
            return None
        except yaml.YAMLError as exc:
            self.problems.append(YamlProblem(self.file, f"invalid YAML: {exc}"))
            return None
        finally:
            loader.dispose()

    def _convert(self, loader: yaml.SafeLoader, node: yaml.Node, path: YamlPath) -> Any:
        self.nodes[path] = node
        if isinstance(node, yaml.MappingNode):
            loader.flatten_mapping(node)  # YAML merge keys (`<<: *base`)
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.nodes[path + ("#bad-key",)] = key_node
                    self.problem(path + ("#bad-key",), "a key must be a plain name, not a list or mapping")
                    continue
                key = key_node.value
                self.nodes[("#key", *path, key)] = key_node
                if key in out:
                    self.problem((*path, key), f"`{key}` is given twice in the same mapping", key=True)
                    continue
                out[key] = self._convert(loader, value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._convert(loader, item, (*path, i)) for i, item in enumerate(node.value)]
        if node.tag.endswith(":timestamp"):
            return node.value  # dates stay the text written (project.start_date is a string)
        return loader.construct_object(node, deep=True)

    def unquoted_number(self, path: YamlPath) -> str | None:
        """The source text of a plain scalar YAML read as a number (``100000.00``), else None."""
        node = self.nodes.get(path)
        if isinstance(node, yaml.ScalarNode) and node.style is None and \
                node.tag.rsplit(":", 1)[-1] in ("int", "float"):
            return node.value
        return None
