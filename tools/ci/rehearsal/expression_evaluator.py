"""Evaluates parsed expressions against the contexts (plain dicts), the job status and hashFiles(); interpolates
workflow values and decides if: conditions."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .expression_syntax import ExpressionError, parse_condition, parse_expression, split_template
from .expression_values import compare, lookup, loose_equal, to_text, truthy


@dataclass
class JobStatus:
    failed: bool = False
    cancelled: bool = False


class Evaluator:
    """Evaluates parsed expressions against context data (plain dicts), the job status and hashFiles()."""

    def __init__(self, contexts: dict[str, Any], status: JobStatus | None = None,
                 hash_files: Callable[[list[str]], str] | None = None):
        self.contexts = contexts
        self.status = status or JobStatus()
        self.hash_files = hash_files

    def eval(self, node) -> Any:
        op = node[0]
        if op == "lit":
            return node[1]
        if op == "ctx":
            if node[1] not in self.contexts:
                raise ExpressionError(f"the {node[1]} context is not available here")
            return self.contexts[node[1]]
        if op == "prop":
            return lookup(self.eval(node[1]), self.eval(node[2]))
        if op == "not":
            return not truthy(self.eval(node[1]))
        if op == "and":
            left = self.eval(node[1])
            return self.eval(node[2]) if truthy(left) else left
        if op == "or":
            left = self.eval(node[1])
            return left if truthy(left) else self.eval(node[2])
        if op == "cmp":
            return compare(node[1], self.eval(node[2]), self.eval(node[3]))
        if op == "call":
            return self.call(node[1], [self.eval(a) for a in node[2]])
        raise ExpressionError(f"internal: unknown node {op}")

    def call(self, name: str, args: list[Any]) -> Any:
        def arity(low: int, high: int | None = None) -> None:
            high = low if high is None else high
            if not low <= len(args) <= high:
                raise ExpressionError(f"{name}() takes {low}{'' if high == low else '..' + str(high)} argument(s)")

        if name == "success":
            arity(0)
            return not self.status.failed and not self.status.cancelled
        if name == "failure":
            arity(0)
            return self.status.failed
        if name == "cancelled":
            arity(0)
            return self.status.cancelled
        if name == "always":
            arity(0)
            return True
        if name == "hashfiles":
            if not args:
                raise ExpressionError("hashFiles() needs at least one pattern")
            if self.hash_files is None:
                raise ExpressionError("hashFiles() is not available here")
            return self.hash_files([to_text(a) for a in args])
        if name == "contains":
            arity(2)
            if isinstance(args[0], list):
                return any(loose_equal(x, args[1]) for x in args[0])
            return to_text(args[1]).casefold() in to_text(args[0]).casefold()
        if name == "startswith":
            arity(2)
            return to_text(args[0]).casefold().startswith(to_text(args[1]).casefold())
        if name == "endswith":
            arity(2)
            return to_text(args[0]).casefold().endswith(to_text(args[1]).casefold())
        if name == "format":
            if not args:
                raise ExpressionError("format() needs a format string")
            return _format(to_text(args[0]), [to_text(a) for a in args[1:]])
        if name == "join":
            arity(1, 2)
            sep = to_text(args[1]) if len(args) > 1 else ","
            return sep.join(to_text(x) for x in args[0]) if isinstance(args[0], list) else to_text(args[0])
        if name == "tojson":
            arity(1)
            return json.dumps(args[0], indent=2)
        if name == "fromjson":
            arity(1)
            try:
                return json.loads(to_text(args[0]))
            except json.JSONDecodeError as e:
                raise ExpressionError(f"fromJSON(): {e}") from None
        raise ExpressionError(f"unknown function {name}()")

    def evaluate(self, text: str) -> Any:
        return self.eval(parse_expression(text))

    def interpolate(self, value: Any) -> str:
        """A workflow value with its ${{ }} expressions replaced by their text; YAML scalars as GitHub writes them."""
        if value is None:
            return ""
        if not isinstance(value, str):
            return to_text(value)
        return "".join(part if kind == "text" else to_text(self.evaluate(part)) for kind, part in split_template(value))

    def condition(self, cond: Any) -> bool:
        """An if: value. Without a status function it means success() && (cond), as on GitHub."""
        node = parse_condition(cond)
        return truthy(self.eval(node))


def _format(fmt: str, args: list[str]) -> str:
    out, i = [], 0
    while i < len(fmt):
        c = fmt[i]
        if c == "{" and fmt.startswith("{{", i):
            out.append("{")
            i += 2
        elif c == "}" and fmt.startswith("}}", i):
            out.append("}")
            i += 2
        elif c == "{":
            end = fmt.find("}", i)
            if end < 0 or not fmt[i + 1:end].isdigit() or int(fmt[i + 1:end]) >= len(args):
                raise ExpressionError(f"format(): bad placeholder in {fmt!r}")
            out.append(args[int(fmt[i + 1:end])])
            i = end + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)
