"""YAML loading that remembers where each value came from, for error messages.

``load_yaml(path)`` returns ``(data, where)`` where ``where(keypath)`` gives ``"file:line"`` for
a key path such as ``("categories", "euii", "action")`` (the nearest known ancestor otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from telescrub.core.errors import PolicyError

KeyPath = tuple[str | int, ...]


def _walk(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            key = yaml.safe_load(yaml.serialize(knode)) if not isinstance(knode, yaml.ScalarNode) \
                else knode.value
            if key in out:
                raise PolicyError(f"line {knode.start_mark.line + 1}: duplicate key {key!r}")
            out[key] = _walk(vnode, (*path, key), lines)
            lines[(*path, key)] = knode.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(v, (*path, i), lines) for i, v in enumerate(node.value)]
    # scalars: let the safe constructor resolve types (int, float, bool, null, str)
    return yaml.safe_load(yaml.serialize(node))


def load_yaml(path: str) -> tuple[Any, Callable[[KeyPath], str]]:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise PolicyError(f"{at}: invalid YAML: {problem}") from None
    lines: dict[KeyPath, int] = {}
    try:
        data = _walk(node, (), lines) if node is not None else None
    except PolicyError as exc:
        raise PolicyError(f"{path}:{exc}") from None

    def where(keypath: KeyPath) -> str:
        kp = tuple(keypath)
        while kp and kp not in lines:
            kp = kp[:-1]
        return f"{path}:{lines.get(kp, 1)}"

    return data, where
