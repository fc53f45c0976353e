"""Where a config field lives: file and line, from PyYAML's node marks.

Validation works on plain dicts (``yaml.safe_load``) and reports fields by dotted path
(``rules[2].match.ref``). This module composes the same text into PyYAML's node tree once,
indexes every path to its 1-based line, and attaches ``file:line`` to each problem, falling
back to the nearest enclosing field when the problem is a missing key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import yaml

_LAST = re.compile(r"(?:\.[^.\[\]]+|\[\d+\])$")


class Where(str):
    """A field path that also knows its ``file:line`` (compares equal to the bare path)."""

    location: str | None = None

    @classmethod
    def at(cls, path: str, location: str | None) -> Where:
        where = cls(path)
        where.location = location
        return where


def line_index(text: str) -> dict[str, int]:
    """Dotted field path -> 1-based line, for every key and list item in a YAML text."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    index: dict[str, int] = {}
    if root is not None:
        _walk(root, "", index)
    return index


def _walk(node: Any, path: str, index: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value)
            child = f"{path}.{name}" if path else name
            index.setdefault(child, key.start_mark.line + 1)
            _walk(value, child, index)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = f"{path}[{i}]"
            index.setdefault(child, item.start_mark.line + 1)
            _walk(item, child, index)


def line_of(index: dict[str, int], path: str) -> int | None:
    """The line of ``path`` or of its nearest enclosing field present in the file."""
    current = path
    while current:
        if current in index:
            return index[current]
        trimmed = _LAST.sub("", current)
        if trimmed == current:
            break
        current = trimmed
    return None


def locate(
    problems: Iterable[tuple[str, str]], index: dict[str, int], filename: str
) -> list[tuple[str, str]]:
    """Give every problem that has no location yet one in ``filename``."""
    out: list[tuple[str, str]] = []
    for where, why in problems:
        if isinstance(where, Where) and where.location is not None:
            out.append((where, why))
            continue
        line = line_of(index, str(where))
        out.append((Where.at(str(where), f"{filename}:{line}" if line else filename), why))
    return out


def describe(where: str, why: str) -> str:
    """``field: why (file:line)`` when the location is known, else ``field: why``."""
    location = getattr(where, "location", None)
    return f"{where}: {why} ({location})" if location else f"{where}: {why}"
