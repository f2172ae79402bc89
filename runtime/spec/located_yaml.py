"""YAML loading that remembers where every key is, so errors can name the line.

Every spec and sync config is read here, so this is also where YAML's own amplification is
bounded: anchors and aliases let a few hundred bytes stand for billions of values. The node
graph is measured before any Python object is built (`YamlLimitError` if aliases would add more
than `MAX_ALIAS_NODES` values, an alias contains itself, or nesting is too deep to parse).
A key written twice in one mapping is refused too: PyYAML keeps the last value without a word, so
`subdomain: acme` followed by `subdomain: evil` would send to the second one silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from destkit.runtime.errors import DestkitError

MAX_ALIAS_NODES = 10_000  # values that aliases may add to a document once expanded


class YamlLimitError(DestkitError, yaml.MarkedYAMLError):
    """A document over the limits above or with a key written twice; `problem` says which, `problem_mark`
    where, `fix` what to do.

    A YAMLError too, so every loader that reports bad YAML with its line reports this as well.
    """

    def __init__(self, problem: str, mark: yaml.Mark | None, fix: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.fix = fix


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_alias_expansion(root: yaml.Node) -> None:
    """Refuse a node graph whose aliases expand to more than MAX_ALIAS_NODES extra nodes.

    Walks the graph once (an aliased node is measured once and its size reused), without
    recursion, so neither a bomb nor deep nesting costs more than the document's own size.
    """
    sizes: dict[int, int] = {}  # id(node) -> nodes it stands for once aliases are expanded
    ancestors: set[int] = set()
    distinct = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, measured_children = stack.pop()
        key = id(node)
        if measured_children:
            ancestors.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] - distinct > MAX_ALIAS_NODES:
                raise YamlLimitError(f"YAML aliases here expand to more than {MAX_ALIAS_NODES:,} values (an alias bomb?)",
                                     node.start_mark, "write the values out, or alias fewer of them.")
        elif key in ancestors:
            raise YamlLimitError("this alias contains itself", node.start_mark, "write the value out instead of aliasing it.")
        elif key not in sizes:
            ancestors.add(key)
            distinct += 1
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))


def _scalar_key(node: yaml.Node) -> tuple[str, str] | None:
    """A mapping key as YAML tells keys apart (`1` and `"1"` differ); None for a merge key or a complex one."""
    if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:merge":
        return node.tag, node.value
    return None


def check_duplicate_keys(root: yaml.Node) -> None:
    """Refuse a mapping that holds the same key twice, at the second one (each node visited once)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], yaml.Node] = {}
            for key, _ in node.value:
                name = _scalar_key(key)
                if name is not None and name in first:
                    raise YamlLimitError(f"the key '{key.value}' is written twice in this mapping (first on line "
                                         f"{first[name].start_mark.line + 1})", key.start_mark, "keep one of the two lines.")
                if name is not None:
                    first[name] = key
        stack.extend(_children(node))


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise YamlLimitError("the document is nested too deeply", None, "flatten it.") from None


def _construct(node: yaml.Node | None) -> Any:
    """The Python data of an already composed (and checked) document, as `yaml.safe_load` builds it."""
    if node is None:
        return None
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except RecursionError:
        raise YamlLimitError("the document is nested too deeply", node.start_mark, "flatten it.") from None
    finally:
        loader.dispose()


class LocatedYaml:
    """Parsed YAML data plus the node tree, for mapping an error location to a line number."""

    def __init__(self, text: str, file: str | None = None) -> None:
        self.file = file
        self.node = _compose(text)
        if self.node is not None:
            check_alias_expansion(self.node)
            check_duplicate_keys(self.node)
        self.data: Any = _construct(self.node)

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
