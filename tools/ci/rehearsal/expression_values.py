"""Values in expressions as GitHub's runner treats them: their kinds, truthiness, text and number coercions, loose
equality (strings case-insensitively, other mixed kinds compared as numbers) and property lookup (case-insensitive
names; a missing property is null)."""

from __future__ import annotations

import json
import math
import re
from typing import Any


class AnyName(dict):
    """A context where every name exists and is the empty string: secrets and vars of a fork pull request."""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


def to_number(value: Any) -> float:
    kind = _kind(value)
    if kind == "null":
        return 0.0
    if kind == "boolean":
        return 1.0 if value else 0.0
    if kind == "number":
        return float(value)
    if kind == "string":
        s = value.strip()
        if s == "":
            return 0.0
        if _JSON_NUMBER.fullmatch(s):
            return float(s)
        if re.fullmatch(r"0[xX][0-9a-fA-F]+", s):
            return float(int(s, 16))
        return math.nan
    return math.nan


def truthy(value: Any) -> bool:
    kind = _kind(value)
    if kind == "null":
        return False
    if kind == "boolean":
        return value
    if kind == "number":
        return not (value == 0 or math.isnan(value))
    if kind == "string":
        return value != ""
    return True


def to_text(value: Any) -> str:
    kind = _kind(value)
    if kind == "null":
        return ""
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "number":
        if math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(float(value))
    if kind == "string":
        return value
    return json.dumps(value, indent=2)


def loose_equal(a: Any, b: Any) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka == kb:
        if ka == "string":
            return a.casefold() == b.casefold()
        if ka in ("array", "object"):
            return a is b
        if ka == "number":
            return float(a) == float(b)
        return a == b
    return to_number(a) == to_number(b)  # NaN never equals anything


def compare(op: str, a: Any, b: Any) -> bool:
    if op == "==":
        return loose_equal(a, b)
    if op == "!=":
        return not loose_equal(a, b)
    if _kind(a) == _kind(b) == "string":
        x, y = a.casefold(), b.casefold()
    else:
        x, y = to_number(a), to_number(b)
        if math.isnan(x) or math.isnan(y):
            return False
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def lookup(obj: Any, name: Any) -> Any:
    if isinstance(obj, dict):
        if isinstance(name, str):
            if name in obj:
                return obj[name]
            folded = name.casefold()
            for key, value in obj.items():
                if isinstance(key, str) and key.casefold() == folded:
                    return value
            return "" if isinstance(obj, AnyName) else None
        return None
    if isinstance(obj, list) and _kind(name) == "number" and float(name).is_integer():
        index = int(name)
        return obj[index] if 0 <= index < len(obj) else None
    return None
