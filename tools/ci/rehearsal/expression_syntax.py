"""The syntax of ${{ }} expressions and if: conditions: tokens, a parse tree of tuples, templates. The subset of
GitHub's expression language that workflows here use; anything else is an ExpressionError, never a guess.
Semantics follow https://docs.github.com/en/actions/reference/evaluate-expressions-in-workflows-and-actions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .expression_values import to_text


class ExpressionError(Exception):
    """An expression this evaluator does not understand, or one that is malformed. Never guessed at."""


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>-?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?))
  | (?P<op>==|!=|<=|>=|&&|\|\||[()\[\].,!<>])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
    """,
    re.VERBOSE,
)

CONTEXTS = ("github", "env", "vars", "job", "jobs", "steps", "runner", "secrets", "strategy", "matrix", "needs",
            "inputs")
STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")
FUNCTIONS = STATUS_FUNCTIONS + ("hashfiles", "contains", "startswith", "endswith", "format", "join", "tojson",
                                "fromjson")


def tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise ExpressionError(f"unsupported syntax at {text[pos:pos + 20]!r} in expression {text!r}")
        kind = m.lastgroup
        if kind != "ws":
            tokens.append((kind, m.group(), pos))
        pos = m.end()
    return tokens


# The node each binary operator builds: the boolean ones keep their operands, the rest are comparisons.
_BOOLEAN_NODES = {"||": "or", "&&": "and"}


class _Parser:
    """Recursive descent. Precedence, tightest first: . [] () | ! | < <= > >= | == != | && | ||"""

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            found = "end of expression" if tok is None else repr(tok[1])
            raise ExpressionError(f"expected {value or 'a value'!r}, found {found} in expression {self.text!r}")
        self.i += 1
        return tok

    def at(self, *values: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "op" and tok[1] in values

    def parse(self):
        if not self.tokens:
            raise ExpressionError("empty expression")
        node = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r} in expression {self.text!r}")
        return node

    def binary(self, operand: Callable[[], Any], *operators: str):
        """Left-associative OPERAND (OPERATOR OPERAND)*: one loop for every precedence level below unary."""
        node = operand()
        while self.at(*operators):
            op = self.take()[1]
            right = operand()
            node = (_BOOLEAN_NODES[op], node, right) if op in _BOOLEAN_NODES else ("cmp", op, node, right)
        return node

    def or_(self):
        return self.binary(self.and_, "||")

    def and_(self):
        return self.binary(self.eq, "&&")

    def eq(self):
        return self.binary(self.rel, "==", "!=")

    def rel(self):
        return self.binary(self.unary, "<", "<=", ">", ">=")

    def unary(self):
        if self.at("!"):
            self.take()
            return ("not", self.unary())
        return self.postfix(self.primary())

    def postfix(self, node):
        while True:
            if self.at("."):
                self.take()
                tok = self.take()
                if tok[0] != "ident":
                    raise ExpressionError(f"expected a property name after '.', found {tok[1]!r} in {self.text!r}")
                node = ("prop", node, ("lit", tok[1]))
            elif self.at("["):
                self.take()
                index = self.or_()
                self.take("]")
                node = ("prop", node, index)
            else:
                return node

    def primary(self):
        tok = self.take()
        kind, value, _ = tok
        if kind == "string":
            return ("lit", value[1:-1].replace("''", "'"))
        if kind == "number":
            return ("lit", float(int(value, 16)) if value.lower().lstrip("-").startswith("0x") else float(value))
        if kind == "op" and value == "(":
            node = self.or_()
            self.take(")")
            return node
        if kind == "ident":
            if value in ("true", "false"):
                return ("lit", value == "true")
            if value == "null":
                return ("lit", None)
            if self.at("("):
                self.take()
                args = []
                if not self.at(")"):
                    args.append(self.or_())
                    while self.at(","):
                        self.take()
                        args.append(self.or_())
                self.take(")")
                if value.lower() not in FUNCTIONS:
                    raise ExpressionError(f"unknown function {value}() in expression {self.text!r}")
                return ("call", value.lower(), args)
            if value.lower() not in CONTEXTS:
                raise ExpressionError(f"unknown context {value!r} in expression {self.text!r}")
            return ("ctx", value.lower())
        raise ExpressionError(f"unexpected {value!r} in expression {self.text!r}")


def parse_expression(text: str):
    return _Parser(text).parse()


def uses_status_function(node) -> bool:
    if node[0] == "call":
        return node[1] in STATUS_FUNCTIONS or any(uses_status_function(a) for a in node[2])
    return any(uses_status_function(child) for child in node[1:] if isinstance(child, tuple))


def split_template(text: str) -> list[tuple[str, str]]:
    """'a ${{ x }} b' -> [('text', 'a '), ('expr', ' x '), ('text', ' b')]; }} inside a string literal is no end."""
    parts: list[tuple[str, str]] = []
    i = 0
    while True:
        start = text.find("${{", i)
        if start < 0:
            if text[i:]:
                parts.append(("text", text[i:]))
            return parts
        if text[i:start]:
            parts.append(("text", text[i:start]))
        k, quoted = start + 3, False
        while k < len(text):
            if text[k] == "'":
                quoted = not quoted
            elif not quoted and text.startswith("}}", k):
                break
            k += 1
        else:
            raise ExpressionError(f"unterminated ${{{{ in {text!r}")
        parts.append(("expr", text[start + 3:k]))
        i = k + 2


def parse_condition(cond: Any):
    if cond is None:
        text = "success()"
    elif isinstance(cond, bool):
        text = "true" if cond else "false"
    elif isinstance(cond, (int, float)):
        text = to_text(cond)
    elif isinstance(cond, str):
        text = cond.strip()
        if "${{" in text:
            parts = split_template(text)
            if len(parts) != 1 or parts[0][0] != "expr":
                raise ExpressionError(
                    f"if: mixes text and ${{{{ }}}}: {cond!r} (write the whole condition as one expression)")
            text = parts[0][1]
    else:
        raise ExpressionError(f"if: must be a string or a boolean, not {type(cond).__name__}")
    node = parse_expression(text)
    if not uses_status_function(node):
        node = ("and", ("call", "success", []), node)
    return node
