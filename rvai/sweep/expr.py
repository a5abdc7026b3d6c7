"""Arithmetic on a machine description: ``"vlen / 2"``, ``"vlen * model.pipes.fp"``.

Sweep files use these for values derived from other parameters (``"=vlen/2"``) and for
the cost proxy. Names are dotted paths into the Target's TOML data, so any field of the
machine model can be named, including ones added after this module was written. Only
numbers, names, ``+ - * / // % **``, unary minus and ``min``/``max``/``log2`` are
accepted: the text comes from a file, so it is parsed, never handed to ``eval``.
"""
from __future__ import annotations

import ast
import math
import operator
from typing import Any

__all__ = ["evaluate", "lookup"]

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
           ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS = {"min": min, "max": max, "log2": math.log2}


def lookup(data: dict, path: str) -> Any:
    """The value at dotted ``path`` in nested tables ``data``; KeyError names the path."""
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(path)
        node = node[part]
    return node


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def _parse(text: str) -> ast.Expression:
    try:
        return ast.parse(text, mode="eval")
    except SyntaxError:
        raise ValueError(f"expression {text!r} is not valid arithmetic") from None


def evaluate(text: str, data: dict) -> int | float:
    """The value of arithmetic ``text`` with names read from ``data``; a float result
    that is a whole number comes back as an int (``"vlen / 2"`` is a length)."""
    def ev(node: ast.AST) -> Any:
        path = _dotted(node)
        if path is not None:
            try:
                value = lookup(data, path)
            except KeyError:
                raise ValueError(f"expression {text!r}: no field {path!r} in the machine "
                                 "description") from None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"expression {text!r}: {path} is {value!r}, not a number")
            return value
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](ev(node.operand))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in _FUNCTIONS and not node.keywords:
            return _FUNCTIONS[node.func.id](*(ev(a) for a in node.args))
        raise ValueError(f"expression {text!r}: {ast.unparse(node)!r} is not allowed "
                         "(numbers, field names, + - * / // % **, min, max, log2)")

    try:
        value = ev(_parse(text).body)
    except ZeroDivisionError:
        raise ValueError(f"expression {text!r} divides by zero") from None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
