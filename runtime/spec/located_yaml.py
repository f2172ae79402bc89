"""YAML loading that remembers where every key is, so errors can name the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class LocatedYaml:
    """Parsed YAML data plus the node tree, for mapping an error location to a line number."""

    def __init__(self, text: str, file: str | None = None) -> None:
        self.file = file
        self.node = yaml.compose(text, Loader=yaml.SafeLoader)
        self.data: Any = yaml.safe_load(text)

    @classmethod
    def from_path(cls, path: str | Path) -> LocatedYaml:
        p = Path(path)
        return cls(p.read_text(encoding="utf-8"), str(p))

    def line_of(self, loc: tuple[str | int, ...] | list[str | int]) -> int | None:
        """1-based line of the deepest node along `loc` that exists."""
        node = self.node
        if node is None:
            return None
        line: int = node.start_mark.line + 1
        for part in loc:
            nxt = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                        nxt = v
                        line = k.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                nxt = node.value[part]
                line = nxt.start_mark.line + 1
            if nxt is None:
                break
            node = nxt
        return line


def yaml_error_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark is not None else None
