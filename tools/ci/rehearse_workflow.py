#!/usr/bin/python3
"""Rehearses one job of .github/workflows/deploy.yml (default: build) the way a GitHub-hosted ubuntu-24.04 runner
runs it, on this machine. See tools/ci/README.md for what it covers and what it does not.

    sudo /usr/bin/python3 tools/ci/rehearse_workflow.py --cold     # nothing cached: empty cache store, fresh runner
    sudo /usr/bin/python3 tools/ci/rehearse_workflow.py --warm     # a new runner VM, the cache store of the last run
    python3 tools/ci/rehearse_workflow.py --steps-dry-run          # what would run: steps, conditions, environments

As root it makes a user `runner` with passwordless sudo and no subordinate id range (so tools/bazel goes through
sudo, as on GitHub where AppArmor forbids mounting in user namespaces), clones the commit into
/home/runner/work/<name>/<name>, and runs every `run:` step as that user in a clean environment: only what the
workflow sets, the runner's own variables and the offline stand-ins printed at the start. actions/checkout is the
clone itself; actions/cache/restore and actions/cache/save are emulated with a local store (--cache-dir); any other
action is skipped and listed as not rehearsed.

Standard library plus PyYAML only (the host's /usr/bin/python3).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import pwd
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Callable, Iterable

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("rehearse: needs PyYAML: run it with the host's /usr/bin/python3 (PyYAML 6.0)")

# --------------------------------------------------------------------------------------------------------------------
# Expressions: ${{ ... }} and if: conditions, the subset GitHub's expression language that workflows here use.
# Semantics follow https://docs.github.com/en/actions/reference/evaluate-expressions-in-workflows-and-actions:
# loose equality (strings case-insensitively, other mixed types compared as numbers), && and || return an operand,
# missing properties are null, an if: without a status function means `success() && (...)`.
# --------------------------------------------------------------------------------------------------------------------


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

    def or_(self):
        node = self.and_()
        while self.at("||"):
            self.take()
            node = ("or", node, self.and_())
        return node

    def and_(self):
        node = self.eq()
        while self.at("&&"):
            self.take()
            node = ("and", node, self.eq())
        return node

    def eq(self):
        node = self.rel()
        while self.at("==", "!="):
            op = self.take()[1]
            node = ("cmp", op, node, self.rel())
        return node

    def rel(self):
        node = self.unary()
        while self.at("<", "<=", ">", ">="):
            op = self.take()[1]
            node = ("cmp", op, node, self.unary())
        return node

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


def _compare(op: str, a: Any, b: Any) -> bool:
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


def _lookup(obj: Any, name: Any) -> Any:
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
            return _lookup(self.eval(node[1]), self.eval(node[2]))
        if op == "not":
            return not truthy(self.eval(node[1]))
        if op == "and":
            left = self.eval(node[1])
            return self.eval(node[2]) if truthy(left) else left
        if op == "or":
            left = self.eval(node[1])
            return left if truthy(left) else self.eval(node[2])
        if op == "cmp":
            return _compare(node[1], self.eval(node[2]), self.eval(node[3]))
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


def check_expressions(workflow: dict, job_id: str) -> list[str]:
    """Every ${{ }} and if: of the workflow's env and of the job, parsed before anything runs: what this evaluator
    does not understand stops the rehearsal up front instead of in the middle of the job."""
    problems: list[str] = []

    def walk(value: Any, where: str, is_condition: bool = False) -> None:
        try:
            if is_condition:
                parse_condition(value)
            elif isinstance(value, str) and "${{" in value:
                for kind, part in split_template(value):
                    if kind == "expr":
                        parse_expression(part)
        except ExpressionError as e:
            problems.append(f"{where}: {e}")
            return
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}.{key}",
                     is_condition=key == "if" and re.fullmatch(r"jobs\.[^.]+(\.steps\[\d+\])?", where) is not None)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{where}[{i}]")

    walk(workflow.get("env") or {}, "env")
    walk(workflow["jobs"][job_id], f"jobs.{job_id}")
    return problems


# --------------------------------------------------------------------------------------------------------------------
# Globs as @actions/glob matches them (hashFiles() and actions/cache paths): patterns made absolute, a search from the
# literal part of each pattern, depth first, directory entries in byte order (Node's readdir), `!` excludes, and a
# pattern that matches a directory also matches everything below it (implicit descendants).
# --------------------------------------------------------------------------------------------------------------------

_MATCH_DIR, _MATCH_FILE = 1, 2


@dataclass
class GlobPattern:
    negate: bool
    segments: list[str]
    dir_only: bool = False
    descendants: bool = False  # implicit pattern: only what lies below a match of `segments`

    @property
    def search_path(self) -> str:
        literal = []
        for seg in self.segments:
            if any(c in seg for c in "*?["):
                break
            literal.append(seg)
        return "/" + "/".join(literal)

    def match(self, path: list[str]) -> int:
        if self.descendants:
            hit = any(_match_segments(self.segments, path[:k]) for k in range(len(path)))
        else:
            hit = _match_segments(self.segments, path)
        if not hit:
            return 0
        return _MATCH_DIR if self.dir_only else _MATCH_DIR | _MATCH_FILE

    def partial(self, path: list[str]) -> bool:
        return _partial_segments(self.segments + (["**"] if self.descendants else []), path)


def _match_segments(pattern: list[str], path: list[str]) -> bool:
    if not pattern:
        return not path
    if pattern[0] == "**":
        return any(_match_segments(pattern[1:], path[k:]) for k in range(len(path) + 1))
    return bool(path) and fnmatchcase(path[0], pattern[0]) and _match_segments(pattern[1:], path[1:])


def _partial_segments(pattern: list[str], path: list[str]) -> bool:
    """True when `path` may be a directory on the way to a match (or a match)."""
    if not path:
        return True
    if not pattern:
        return False
    if pattern[0] == "**":
        return True
    return fnmatchcase(path[0], pattern[0]) and _partial_segments(pattern[1:], path[1:])


def parse_globs(patterns: Iterable[str], cwd: str, home: str | None = None,
                implicit_descendants: bool = True) -> list[GlobPattern]:
    result: list[GlobPattern] = []
    for raw in patterns:
        for line in str(raw).split("\n"):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negate = False
            while line.startswith("!"):
                negate = not negate
                line = line[1:].lstrip()
            if home and (line == "~" or line.startswith("~/")):
                line = home + line[1:]
            if not line.startswith("/"):
                line = os.path.join(cwd, line)
            dir_only = line.endswith("/")
            segments = [s for s in os.path.normpath(line).split("/") if s]
            pattern = GlobPattern(negate, segments, dir_only)
            result.append(pattern)
            if implicit_descendants and (dir_only or not segments or segments[-1] != "**"):
                result.append(GlobPattern(negate, segments, False, descendants=True))
    return result


def _search_paths(patterns: list[GlobPattern]) -> list[str]:
    candidates = {p.search_path for p in patterns if not p.negate}
    result: list[str] = []
    for p in patterns:
        if p.negate or p.search_path in result:
            continue
        child, parent, ancestor = p.search_path, os.path.dirname(p.search_path), False
        while parent != child:
            if parent in candidates:
                ancestor = True
                break
            child, parent = parent, os.path.dirname(parent)
        if not ancestor:
            result.append(p.search_path)
    return result


def glob_paths(patterns: list[GlobPattern], follow_symlinks: bool = True) -> list[str]:
    stack = [path for path in reversed(_search_paths(patterns)) if os.path.lexists(path)]
    found: list[str] = []
    seen_dirs: set[tuple[int, int]] = set()
    while stack:
        path = stack.pop()
        segments = [s for s in path.split("/") if s]
        kind = 0
        for p in patterns:
            kind = kind & ~p.match(segments) if p.negate else kind | p.match(segments)
        partial = bool(kind) or any(not p.negate and p.partial(segments) for p in patterns)
        if not kind and not partial:
            continue
        try:
            st = os.stat(path) if follow_symlinks else os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            if (st.st_dev, st.st_ino) in seen_dirs:
                continue
            seen_dirs.add((st.st_dev, st.st_ino))
            if kind & _MATCH_DIR:
                found.append(path)
            elif not partial:
                continue
            children = sorted(os.listdir(path), key=os.fsencode)
            stack.extend(os.path.join(path, c) for c in reversed(children))
        elif kind & _MATCH_FILE:
            found.append(path)
    return found


def hash_files(patterns: list[str], workspace: str) -> str:
    """hashFiles(): SHA-256 over the SHA-256 digests of the matched files inside the workspace, in match order;
    empty when nothing matches (as the runner's hashFiles script computes it)."""
    workspace = os.path.normpath(workspace)
    total, matched = hashlib.sha256(), False
    for path in glob_paths(parse_globs(patterns, workspace), follow_symlinks=False):
        if not path.startswith(workspace + "/") or os.path.isdir(path):
            continue
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        total.update(digest.digest())
        matched = True
    return total.hexdigest() if matched else ""


# --------------------------------------------------------------------------------------------------------------------
# The cache service, emulated: entries scoped by ref and by version (a hash of the `path` input, as actions/cache
# computes it, so a different path list never restores), keys immutable, prefix matches take the newest entry.
# --------------------------------------------------------------------------------------------------------------------

CACHE_COMPRESSION = "zstd-without-long"  # what actions/cache picks on ubuntu-24.04 (zstd installed)
CACHE_VERSION_SALT = "1.0"


def input_lines(value: str) -> list[str]:
    """actions/cache's getInputAsArray: one item a line, trimmed, empty lines dropped."""
    return [re.sub(r"^!\s+", "!", line).strip() for line in value.split("\n") if line.strip()]


def cache_version(paths: list[str]) -> str:
    return hashlib.sha256("|".join(list(paths) + [CACHE_COMPRESSION, CACHE_VERSION_SALT]).encode()).hexdigest()


@dataclass
class CacheEntry:
    key: str
    version: str
    scope: str
    created: float
    directory: Path | None = None

    @property
    def archive(self) -> Path:
        assert self.directory is not None
        return self.directory / "cache.tar"


def find_cache_entry(entries: list[CacheEntry], key: str, restore_keys: list[str], version: str,
                     scopes: list[str]) -> CacheEntry | None:
    """GitHub's matching: in the run's own ref, an exact key, then the newest entry whose key starts with the key,
    then with each restore key in order; then the same in the next scope (base branch, default branch)."""
    for scope in scopes:
        candidates = [e for e in entries if e.scope == scope and e.version == version]
        exact = [e for e in candidates if e.key == key]
        if exact:
            return max(exact, key=lambda e: e.created)
        for prefix in [key] + restore_keys:
            matches = [e for e in candidates if e.key.startswith(prefix)]
            if matches:
                return max(matches, key=lambda e: e.created)
    return None


def validate_cache_key(key: str) -> None:
    if not key:
        raise ValueError("Key is not specified.")
    if len(key) > 512:
        raise ValueError(f"Key Validation Error: {key} cannot be larger than 512 characters.")
    if "," in key:
        raise ValueError(f"Key Validation Error: {key} cannot contain commas.")


class CacheStore:
    def __init__(self, root: Path):
        self.root = root
        self.entries_dir = root / "entries"

    def entries(self) -> list[CacheEntry]:
        result = []
        if not self.entries_dir.is_dir():
            return result
        for meta in sorted(self.entries_dir.glob("*/meta.json")):
            data = json.loads(meta.read_text())
            result.append(CacheEntry(data["key"], data["version"], data["scope"], data["created"], meta.parent))
        return result

    def entry_dir(self, key: str, version: str, scope: str) -> Path:
        return self.entries_dir / hashlib.sha256(f"{scope}\n{version}\n{key}".encode()).hexdigest()[:24]

    def add(self, key: str, version: str, scope: str, paths: list[str], archive_writer: Callable[[Path], None]) -> Path:
        final = self.entry_dir(key, version, scope)
        self.entries_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=self.entries_dir))
        try:
            archive_writer(staging / "cache.tar")
            (staging / "meta.json").write_text(json.dumps(
                {"key": key, "version": version, "scope": scope, "paths": paths, "created": time.time()}, indent=2))
            staging.rename(final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return final


# --------------------------------------------------------------------------------------------------------------------
# File commands ($GITHUB_OUTPUT, $GITHUB_ENV): NAME=VALUE lines and NAME<<DELIMITER heredocs, as the runner reads them.
# --------------------------------------------------------------------------------------------------------------------


class FileCommandError(Exception):
    pass


def parse_file_command(text: str) -> list[tuple[str, str]]:
    lines = text.replace("\r\n", "\n").split("\n")
    result: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq >= 0 and (heredoc < 0 or eq < heredoc):
            name, value = line[:eq], line[eq + 1:]
        elif heredoc >= 0:
            name, delimiter = line[:heredoc], line[heredoc + 2:]
            if not delimiter:
                raise FileCommandError(f"empty heredoc delimiter in {line!r}")
            body = []
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise FileCommandError(f"matching delimiter {delimiter!r} not found for {name!r}")
            i += 1
            value = "\n".join(body)
        else:
            raise FileCommandError(f"invalid format {line!r}")
        if not name:
            raise FileCommandError(f"empty name in {line!r}")
        result.append((name, value))
    return result


# --------------------------------------------------------------------------------------------------------------------
# The machine: the runner user, its home, the checkout, the stand-ins, leftovers of earlier rehearsals.
# --------------------------------------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
RUNNER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LEAD_SYSROOT_CACHE = "/root/.cache/analysis-lambda-sysroot"
SUDOERS_FILE = Path("/etc/sudoers.d/rehearsal-runner")
SYSROOT_CACHE_VAR = "TOOLS_BAZEL_SYSROOT_CACHE"


def log(message: str = "") -> None:
    print(f"rehearse: {message}" if message else "", flush=True)


def one_line(text: str, limit: int = 400) -> str:
    """Tool output (tar's stderr) as one short line for notes and warnings."""
    text = " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return text if len(text) <= limit else "..." + text[-limit:]


def die(message: str) -> None:
    print(f"rehearse: error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def run(argv: list[str], check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, text=True, **kwargs)
    if check and result.returncode != 0:
        die(f"{shlex.join(argv)} exited {result.returncode}")
    return result


@dataclass
class Layout:
    user: str
    home: Path
    name: str

    @property
    def workspace(self) -> Path:
        return self.home / "work" / self.name / self.name

    @property
    def temp(self) -> Path:
        return self.home / "work" / "_temp"


def read_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def write_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2) + "\n")


def _proc_text(pid: int, name: str) -> str:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _pid_alive(pid: int) -> bool:
    status = _proc_text(pid, "status")
    return bool(status) and "\nState:\tZ" not in status


def _end_process(pid: int, what: str) -> None:
    log(f"ending {what} (pid {pid}): {_proc_text(pid, 'cmdline')[:150]}")
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _pid_alive(pid):
                return
            time.sleep(0.1)


def _parent(pid: int) -> int:
    try:
        return int(_proc_text(pid, "stat").rsplit(")", 1)[1].split()[1])
    except (IndexError, ValueError):
        return 0


def _own_ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        pid = _parent(pid)
    return pids


def _with_descendants(pid: int) -> list[int]:
    """PID's descendants, deepest first, then PID: ended in that order nothing is left orphaned."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            children.setdefault(_parent(int(entry.name)), []).append(int(entry.name))
    order, stack = [], [pid]
    while stack:
        current = stack.pop()
        order.append(current)
        stack.extend(children.get(current, []))
    return order[::-1]


def is_rehearsal_cache_dir(path: str, layout: Layout) -> bool:
    """Only directories the rehearsal's workflow can have chosen: below the runner's home or /mnt/ci-cache; never the
    lead's own sysroot cache."""
    real = os.path.realpath(path)
    if real == LEAD_SYSROOT_CACHE or real.startswith("/root/") or real in ("/", str(layout.home)):
        return False
    return real.startswith(str(layout.home) + "/") or real.startswith("/mnt/ci-cache/")


def _sysroot_ready(layout: Layout, cache: str) -> bool:
    """True when the clone's tools/bazel would find its sysroot in CACHE (so `shutdown` never builds one)."""
    lib = layout.workspace / "tools" / "sysroot" / "lib.sh"
    if not lib.is_file():
        return False
    result = subprocess.run(["bash", "-c", '. "$1" && sysroot_definition_hash "$2"', "hash", str(lib), str(lib.parent)],
                            text=True, capture_output=True)
    digest = result.stdout.strip()
    return result.returncode == 0 and bool(digest) and Path(cache, f"sysroot-{digest}", ".sysroot-complete").is_file()


def kill_leftovers(layout: Layout, cache_dirs: list[str], env_for_shutdown: dict[str, str]) -> None:
    """Ends what an earlier (interrupted) rehearsal left running: the runner's processes, then the root-owned Bazel
    server and namespace holder that its sudo started, found only through the rehearsal's own sysroot cache."""
    try:
        pwd.getpwnam(layout.user)
        user_exists = True
    except KeyError:
        user_exists = False
    if user_exists:
        for sig in ("TERM", "KILL"):
            if subprocess.run(["pkill", f"-{sig}", "-u", layout.user]).returncode == 0:
                log(f"sent SIG{sig} to the processes of user {layout.user}")
                time.sleep(2)
    for cache in cache_dirs:
        if not is_rehearsal_cache_dir(cache, layout) or not os.path.isdir(cache):
            continue
        servers = []
        for pid_file in Path(cache, "bazel-output").glob("*/server/server.pid.txt"):
            try:
                pid = int(pid_file.read_text().strip())
            except (OSError, ValueError):
                continue
            if _pid_alive(pid) and f"{cache}/bazel-output" in _proc_text(pid, "cmdline"):
                servers.append(pid)
        bazel = layout.workspace / "tools" / "bazel"
        if servers and user_exists and bazel.is_file() and SUDOERS_FILE.is_file() and _sysroot_ready(layout, cache):
            log(f"shutting down the rehearsal's Bazel server through {bazel}")
            env = dict(env_for_shutdown, **{SYSROOT_CACHE_VAR: cache})
            try:
                subprocess.run(["runuser", "-u", layout.user, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()],
                                "bash", str(bazel), "shutdown"], cwd=layout.workspace, timeout=180,
                               stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                log("tools/bazel shutdown did not finish in 180 s")
        for pid in servers:
            if _pid_alive(pid) and f"{cache}/bazel-output" in _proc_text(pid, "cmdline"):
                _end_process(pid, "the rehearsal's Bazel server")
        try:
            holder, holder_root = Path(cache, "namespace.pid").read_text().split()[:2]
            holder_pid = int(holder)
        except (OSError, ValueError):
            holder_pid, holder_root = 0, ""
        # The pid may have been reused since: it is ours only if it sleeps in a namespace holding our sysroot.
        if (holder_pid and holder_root.startswith(cache + "/") and _pid_alive(holder_pid)
                and _proc_text(holder_pid, "cmdline").startswith("sleep")
                and f"{cache}/sysroot-" in _proc_text(holder_pid, "mountinfo")):
            _end_process(holder_pid, "the rehearsal's sysroot namespace holder")
    # Anything else that names the runner's home (an interrupted sysroot build, a sudo'd client).
    ours = _own_ancestors()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in ours:
            continue
        cmdline = _proc_text(int(entry.name), "cmdline")
        if f"{layout.home}/" in cmdline and LEAD_SYSROOT_CACHE not in cmdline and _pid_alive(int(entry.name)):
            for pid in _with_descendants(int(entry.name)):
                if pid not in ours and _pid_alive(pid):
                    _end_process(pid, "a leftover of an earlier rehearsal")
    if user_exists:
        subprocess.run(["pkill", "-KILL", "-u", layout.user])


def remove_tree(path: Path) -> None:
    if path.exists() or path.is_symlink():
        run(["rm", "-rf", "--one-file-system", str(path)])


def ensure_sudo() -> None:
    if shutil.which("sudo"):
        return
    log("installing sudo (apt-get install -y sudo)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if run(["apt-get", "install", "-y", "-q", "sudo"], check=False, env=env).returncode != 0:
        run(["apt-get", "-o", "Acquire::Check-Valid-Until=false", "update"], env=env)
        run(["apt-get", "install", "-y", "-q", "sudo"], env=env)


def ensure_runner_user(layout: Layout, state: dict) -> None:
    try:
        pwd.getpwnam(layout.user)
        if not state.get("created_user"):
            die(f"a user {layout.user!r} exists that this rehearsal did not create; remove it or pick --user")
    except KeyError:
        log(f"creating user {layout.user}")
        run(["useradd", "-m", "-d", str(layout.home), "-s", "/bin/bash", layout.user])
        state["created_user"] = layout.user
    uid = str(pwd.getpwnam(layout.user).pw_uid)
    # No subordinate id range: tools/bazel must not take the user-namespace route (GitHub's AppArmor blocks it).
    for subid_file in (Path("/etc/subuid"), Path("/etc/subgid")):
        if not subid_file.exists():
            continue
        lines = subid_file.read_text().splitlines(keepends=True)
        kept = [line for line in lines if line.split(":", 1)[0] not in (layout.user, uid)]
        if kept != lines:
            subid_file.write_text("".join(kept))
            log(f"removed {layout.user}'s subordinate id range from {subid_file}")
    staging = SUDOERS_FILE.with_name(".rehearsal-runner.tmp")  # a dot in the name: sudo ignores it meanwhile
    staging.write_text(f"{layout.user} ALL=(ALL) NOPASSWD:ALL\n")
    staging.chmod(0o440)
    if shutil.which("visudo"):
        run(["visudo", "-cqf", str(staging)])
    staging.rename(SUDOERS_FILE)


def fresh_home(layout: Layout) -> None:
    """A new VM: an empty home from /etc/skel, the work directory GitHub's runner has, nothing beside the checkout."""
    remove_tree(layout.home)
    shutil.copytree("/etc/skel", layout.home, symlinks=True)
    layout.temp.mkdir(parents=True)
    layout.workspace.mkdir(parents=True)
    entry = pwd.getpwnam(layout.user)
    run(["chown", "-R", f"{entry.pw_uid}:{entry.pw_gid}", str(layout.home)])
    layout.home.chmod(0o750)


def checkout(layout: Layout, commit: str, branch: str, event: str) -> None:
    """What actions/checkout does: one commit, depth 1, into $GITHUB_WORKSPACE (here from the local repository)."""
    ws = str(layout.workspace)
    git = ["git", "-c", "init.defaultBranch=main", "-c", "advice.detachedHead=false", "-c", f"safe.directory={ws}"]
    run(git + ["init", "-q", ws])
    run(git + ["-C", ws, "remote", "add", "origin", f"file://{REPO}"])
    ref = f"refs/remotes/origin/{branch}" if event == "push" else "refs/remotes/pull/1/merge"
    run(git + ["-C", ws, "-c", "protocol.version=2", "fetch", "-q", "--no-tags", "--prune", "--no-recurse-submodules",
               "--depth=1", "origin", f"+{commit}:{ref}"])
    if event == "push":
        run(git + ["-C", ws, "checkout", "-q", "--force", "-B", branch, ref])
    else:
        run(git + ["-C", ws, "checkout", "-q", "--force", ref])
    entry = pwd.getpwnam(layout.user)
    run(["chown", "-R", f"{entry.pw_uid}:{entry.pw_gid}", ws])


def make_distdir(source: Path, root: Path) -> Path:
    """A read-only copy of the OCI schemas, outside the workspace: the stand-in for the GitHub downloads."""
    if root.exists():
        run(["chmod", "-R", "u+w", str(root)])
        shutil.rmtree(root)
    target = root / "oci-image-spec" / "schema"
    shutil.copytree(source, target)
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o444)
        os.chmod(dirpath, 0o555)
    return target


def host_debian_mirrors() -> list[str]:
    """The host's apt source URIs, the way tools/sysroot/debian_sources.sh finds them."""
    uris: list[str] = []
    apt = Path("/etc/apt")
    for f in sorted(apt.glob("sources.list.d/*.sources")):
        for line in f.read_text().splitlines():
            if line.startswith("URIs:"):
                uris += line.split()[1:]
    for f in [apt / "sources.list", *sorted(apt.glob("sources.list.d/*.list"))]:
        if f.is_file():
            for line in f.read_text().splitlines():
                m = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)", line)
                if m:
                    uris.append(m.group(1))
    return list(dict.fromkeys(u.rstrip("/") for u in uris))


def du(path: Path) -> str:
    result = subprocess.run(["du", "-sxh", str(path)], text=True, capture_output=True)
    return result.stdout.split("\t", 1)[0] if result.returncode == 0 and result.stdout else "?"


# --------------------------------------------------------------------------------------------------------------------
# The job.
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class StepResult:
    number: int
    name: str
    kind: str
    outcome: str  # success | failure | skipped | not-rehearsed | dry-run
    conclusion: str
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class StepFailed(Exception):
    pass


class Cancelled(Exception):
    pass


def action_name(uses: str) -> str:
    return uses.split("@", 1)[0].strip().lower()


def shell_command(shell: str | None, script: str) -> list[str]:
    """The command the runner starts for a run: step (workflow syntax, jobs.<id>.steps[*].shell)."""
    if shell is None:
        return ["bash", "-e", script]  # shell unspecified on Linux
    s = shell.strip()
    if s == "bash":
        return ["bash", "--noprofile", "--norc", "-eo", "pipefail", script]
    if s == "sh":
        return ["sh", "-e", script]
    if "{0}" in s:
        return [part.replace("{0}", script) for part in shlex.split(s)]
    raise StepFailed(f"shell {s!r} is not supported by the rehearsal (bash, sh or a template with {{0}})")


class Rehearsal:
    def __init__(self, args: argparse.Namespace, workflow: dict, job_id: str, layout: Layout, commit: str,
                 hash_root: Path, stand_ins: dict[str, str]):
        self.args = args
        self.workflow = workflow
        self.job_id = job_id
        self.job = workflow["jobs"][job_id]
        self.layout = layout
        self.commit = commit
        self.hash_root = hash_root  # where hashFiles() reads the checkout (the workspace, or a scratch copy)
        self.stand_ins = stand_ins
        self.dry = args.steps_dry_run
        self.status = JobStatus()
        self.steps_ctx: dict[str, dict] = {}
        self.global_env: dict[str, str] = {}
        self.env_source: dict[str, str] = {}
        self.path_prepend: list[str] = []
        self.results: list[StepResult] = []
        self.saved_keys: list[str] = []
        self.store = CacheStore(Path(args.cache_dir))
        self.event = args.event
        self.ref = "refs/heads/main" if self.event == "push" else "refs/pull/1/merge"
        self.interrupts = 0
        self.deadline = time.monotonic() + 360 * 60
        self.state_path = Path(args.state_file)

    # -- contexts and environment ------------------------------------------------------------------------------

    def contexts(self, env: dict[str, str]) -> dict[str, Any]:
        github = {
            "event_name": self.event,
            "ref": self.ref,
            "ref_name": "main" if self.event == "push" else "1/merge",
            "ref_type": "branch",
            "sha": self.commit,
            "repository": f"rehearsal/{self.layout.name}",
            "repository_owner": "rehearsal",
            "workspace": str(self.layout.workspace),
            "job": self.job_id,
            "workflow": self.workflow.get("name", ""),
            "actor": "rehearsal",
            "server_url": "https://github.com",
            "api_url": "https://api.github.com",
            "run_id": "1",
            "run_number": "1",
            "run_attempt": "1",
            "head_ref": "" if self.event == "push" else "feature",
            "base_ref": "" if self.event == "push" else "main",
            "event": {},
            "token": "",
        }
        runner = {"os": "Linux", "arch": "X64", "name": "GitHub Actions 1", "temp": str(self.layout.temp),
                  "tool_cache": "/opt/hostedtoolcache", "environment": "github-hosted", "debug": ""}
        job_status = "cancelled" if self.status.cancelled else "failure" if self.status.failed else "success"
        return {"github": github, "runner": runner, "env": dict(env), "secrets": AnyName(), "vars": AnyName(),
                "steps": self.steps_ctx, "job": {"status": job_status}, "jobs": {}, "matrix": {}, "strategy": {},
                "needs": {}, "inputs": {}}

    def evaluator(self, env: dict[str, str]) -> Evaluator:
        return Evaluator(self.contexts(env), self.status, lambda pats: hash_files(pats, str(self.hash_root)))

    def evaluate_env(self, block: Any, base: dict[str, str]) -> dict[str, str]:
        result: dict[str, str] = {}
        for name, value in (block or {}).items():
            result[str(name)] = self.evaluator({**base, **result}).interpolate(value)
        return result

    def runner_env(self, files: dict[str, str]) -> dict[str, str]:
        layout = self.layout
        return {
            "HOME": str(layout.home), "PATH": RUNNER_PATH, "USER": layout.user, "CI": "true",
            "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(layout.workspace),
            "GITHUB_EVENT_NAME": self.event, "GITHUB_REF": self.ref, "GITHUB_SHA": self.commit,
            "GITHUB_REPOSITORY": f"rehearsal/{layout.name}", "GITHUB_JOB": self.job_id,
            "RUNNER_TEMP": str(layout.temp), "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", **files,
        }

    def step_env(self, step: dict, files: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """The process environment of a step and where each variable came from."""
        sources = {name: "runner" for name in self.runner_env(files)}
        env = dict(self.runner_env({}))
        for name, value in self.global_env.items():
            env[name] = value
            sources[name] = self.env_source.get(name, "workflow")
        own = self.evaluate_env(step.get("env"), dict(self.global_env))
        for name, value in own.items():
            env[name] = value
            sources[name] = "step env"
        env.update(self.runner_env(files))  # the runner's own variables win, as on GitHub
        if self.path_prepend:
            env["PATH"] = ":".join(self.path_prepend + [env["PATH"]])
            sources["PATH"] = "runner + GITHUB_PATH"
        for name, value in self.stand_ins.items():
            if name in env and sources.get(name) != "runner":
                log(f"warning: stand-in {name} replaces the workflow's value {env[name]!r}")
            env[name] = value
            sources[name] = "STAND-IN"
        return env, sources

    # -- running ------------------------------------------------------------------------------------------------

    def run_job(self) -> None:
        wf_env = self.evaluate_env(self.workflow.get("env"), {})
        job_env = self.evaluate_env(self.job.get("env"), wf_env)
        self.global_env = {**wf_env, **job_env}
        self.env_source = {**{k: "workflow env" for k in wf_env}, **{k: "job env" for k in job_env}}
        if self.job.get("needs"):
            log(f"warning: job {self.job_id} needs {self.job['needs']}: those jobs are not run here and their "
                "outputs and artifacts do not exist (the rehearsal is made for the build job)")
        job_if = self.job.get("if")
        if job_if is not None and not self.evaluator(self.global_env).condition(job_if):
            log(f"job {self.job_id} skipped: if: {job_if}")
            return
        timeout = float(self.evaluator(self.global_env).interpolate(self.job.get("timeout-minutes", 360))) * 60
        self.deadline = time.monotonic() + timeout
        for number, step in enumerate(self.job.get("steps", []), start=1):
            self.run_step(number, step)

    def defaults(self, key: str) -> Any:
        for scope in (self.job, self.workflow):
            value = ((scope.get("defaults") or {}).get("run") or {}).get(key)
            if value is not None:
                return value
        return None

    def run_step(self, number: int, step: dict) -> None:
        ev = self.evaluator(self.global_env)
        if "uses" in step:
            kind, default_name = "uses", f"Run {step['uses']}"
        else:
            kind, default_name = "run", "Run " + str(step.get("run", "")).strip().split("\n")[0]
        name = ev.interpolate(step.get("name", default_name))
        step_id = step.get("id")
        cond = step.get("if")
        go = ev.condition(cond)
        header = f"step {number}: {name}"
        log("")
        log(f"=== {header}  [{kind}{': ' + step['uses'] if kind == 'uses' else ''}]")
        log(f"    if: {cond if cond is not None else '(none: success())'} -> {'run' if go else 'skip'}")
        result = StepResult(number, name, kind, "skipped", "skipped")
        if not go:
            self.record(step_id, result)
            return
        continue_on_error = ev.interpolate(step.get("continue-on-error", False)).strip().lower() == "true"
        start = time.monotonic()
        try:
            if kind == "uses":
                self.run_action(step, result)
            else:
                self.run_script(number, step, result)
        except StepFailed as e:
            log(f"    step failed: {e}")
            result.outcome = "failure"
            result.notes.append(str(e))
        except Cancelled as e:
            result.outcome = "cancelled"
            result.notes.append(str(e))
            self.status.cancelled = True
        result.seconds = time.monotonic() - start
        if result.outcome in ("success", "dry-run"):
            result.conclusion = "success"
        elif result.outcome == "not-rehearsed":
            result.conclusion = "skipped"
        elif result.outcome == "failure":
            result.conclusion = "success" if continue_on_error else "failure"
            if continue_on_error:
                result.notes.append("continue-on-error: the job goes on")
        else:
            result.conclusion = result.outcome
        if result.conclusion == "failure":
            self.status.failed = True
        log(f"=== {header}: {result.outcome} in {result.seconds:.1f} s")
        self.record(step_id, result)

    def record(self, step_id: str | None, result: StepResult) -> None:
        self.results.append(result)
        if step_id:
            entry = self.steps_ctx.setdefault(step_id, {"outputs": {}})
            # a step the rehearsal did not run is `skipped` to later expressions: nothing claims it succeeded
            outcome = "success" if result.outcome == "dry-run" else result.outcome
            entry["outcome"] = "skipped" if outcome == "not-rehearsed" else outcome
            entry["conclusion"] = result.conclusion

    def set_output(self, step: dict, name: str, value: str) -> None:
        if step.get("id"):
            self.steps_ctx.setdefault(step["id"], {"outputs": {}})["outputs"][name] = value

    def run_script(self, number: int, step: dict, result: StepResult) -> None:
        layout = self.layout
        command_id = uuid.uuid4()
        files_dir = layout.temp / "_runner_file_commands"
        files = {
            "GITHUB_OUTPUT": str(files_dir / f"set_output_{command_id}"),
            "GITHUB_ENV": str(files_dir / f"set_env_{command_id}"),
            "GITHUB_PATH": str(files_dir / f"add_path_{command_id}"),
            "GITHUB_STATE": str(files_dir / f"save_state_{command_id}"),
            "GITHUB_STEP_SUMMARY": str(files_dir / f"step_summary_{command_id}"),
        }
        env, sources = self.step_env(step, files)
        ev = self.evaluator(env)
        script = ev.interpolate(step["run"])
        workdir_raw = step.get("working-directory", self.defaults("working-directory"))
        workdir = layout.workspace
        if workdir_raw is not None:
            workdir = layout.workspace / ev.interpolate(workdir_raw)
        script_path = layout.temp / f"{uuid.uuid4()}.sh"
        argv = shell_command(step.get("shell", self.defaults("shell")), str(script_path))
        timeout = step.get("timeout-minutes")
        if timeout is not None:
            timeout = float(ev.interpolate(timeout))
        log(f"    cwd: {workdir}")
        log(f"    command: runuser -u {layout.user} -- env -i <environment below> {shlex.join(argv)}")
        for key in sorted(env):
            if self.dry or sources.get(key) != "runner":
                log(f"    env {key}={env[key]}    [{sources.get(key, '?')}]")
        if self.dry:
            log("    script:")
            for line in script.rstrip("\n").split("\n"):
                log(f"      | {line}")
            result.outcome = "dry-run"
            result.notes.append("not run (dry run): its outputs and GITHUB_ENV are unknown, taken as empty")
            return
        entry = pwd.getpwnam(layout.user)
        files_dir.mkdir(parents=True, exist_ok=True)
        os.chown(files_dir, entry.pw_uid, entry.pw_gid)
        for path in files.values():
            Path(path).write_text("")
            os.chown(path, entry.pw_uid, entry.pw_gid)
        script_path.write_text(script)
        os.chown(script_path, entry.pw_uid, entry.pw_gid)
        if not workdir.is_dir():
            raise StepFailed(f"working directory {workdir} does not exist")
        argv_full = ["runuser", "-u", layout.user, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()], *argv]
        step_deadline = math.inf if timeout is None else time.monotonic() + timeout * 60
        rc = self.stream(argv_full, workdir, f"[{number:02d}] ", step_deadline)
        script_path.unlink(missing_ok=True)
        try:
            for key, value in parse_file_command(Path(files["GITHUB_OUTPUT"]).read_text()):
                self.set_output(step, key, value)
            for key, value in parse_file_command(Path(files["GITHUB_ENV"]).read_text()):
                self.global_env[key] = value
                self.env_source[key] = f"GITHUB_ENV (step {number})"
                log(f"    GITHUB_ENV: {key}={value}")
                if key == SYSROOT_CACHE_VAR:
                    self.remember_sysroot_cache(value)
            for line in Path(files["GITHUB_PATH"]).read_text().splitlines():
                if line.strip():
                    self.path_prepend.insert(0, line.strip())
        except FileCommandError as e:
            raise StepFailed(f"unable to process file command: {e}") from None
        outputs = self.steps_ctx.get(step.get("id") or "", {}).get("outputs", {})
        for key, value in outputs.items():
            log(f"    output {key}={value!r}" if "\n" in value else f"    output {key}={value}")
        if rc != 0:
            raise StepFailed(f"process completed with exit code {rc}")
        result.outcome = "success"

    def stream(self, argv: list[str], cwd: Path, prefix: str, step_deadline: float) -> int:
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)

        def pump() -> None:
            assert proc.stdout is not None
            for raw in iter(proc.stdout.readline, b""):
                sys.stdout.write(prefix + raw.decode(errors="replace").rstrip("\r\n") + "\n")
                sys.stdout.flush()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        deadline = min(step_deadline, self.deadline)
        while True:
            error: Exception | None = None
            try:
                proc.wait(timeout=max(0.1, min(5.0, deadline - time.monotonic())))
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() >= self.deadline:
                    error = Cancelled("the job's timeout-minutes was reached: the run is cancelled")
                elif time.monotonic() >= step_deadline:
                    error = StepFailed("the step's timeout-minutes was reached (the action has timed out)")
            except KeyboardInterrupt:
                self.interrupts += 1
                if self.interrupts > 1:
                    self.kill_tree(proc, grace=0)
                    raise
                error = Cancelled("interrupted (Ctrl-C): the run is cancelled; Ctrl-C again to abort the rehearsal")
            if error is not None:
                log(f"    ending the step: {error}")
                self.kill_tree(proc, grace=10)
                reader.join(timeout=5)
                raise error
        reader.join(timeout=30)
        return proc.returncode

    @staticmethod
    def kill_tree(proc: subprocess.Popen, grace: float) -> None:
        """The step's process and everything below it (sudo'd root processes included), as the runner does."""
        pids = _with_descendants(proc.pid)
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            try:
                proc.wait(timeout=wait)
                if not any(_pid_alive(pid) for pid in pids if pid != proc.pid):
                    return
            except subprocess.TimeoutExpired:
                pass

    def remember_sysroot_cache(self, value: str) -> None:
        state = read_state(self.state_path)
        dirs = state.setdefault("sysroot_cache_dirs", [])
        if value not in dirs:
            dirs.append(value)
        if not self.dry:
            write_state(self.state_path, state)

    # -- actions ------------------------------------------------------------------------------------------------

    def run_action(self, step: dict, result: StepResult) -> None:
        env, _ = self.step_env(step, {})
        ev = self.evaluator(env)
        inputs = {str(k): ev.interpolate(v) for k, v in (step.get("with") or {}).items()}
        for key, value in inputs.items():
            log(f"    with.{key}: {value!r}")
        name = action_name(step["uses"])
        if name == "actions/checkout":
            result.outcome = "success"
            result.notes.append(f"done before the job: {self.commit[:12]} cloned into $GITHUB_WORKSPACE (depth 1)")
            log(f"    {result.notes[-1]}")
        elif name == "actions/cache/restore":
            self.cache_restore(step, inputs, result)
        elif name == "actions/cache/save":
            self.cache_save(inputs, result)
        else:
            result.outcome = "not-rehearsed"
            result.notes.append("NOT REHEARSED: only actions/checkout and actions/cache/{restore,save} are emulated")
            log(f"    {result.notes[-1]}")

    def scopes(self) -> list[str]:
        return [self.ref] if self.ref == "refs/heads/main" else [self.ref, "refs/heads/main"]

    def cache_restore(self, step: dict, inputs: dict[str, str], result: StepResult) -> None:
        key = inputs.get("key", "")
        paths = input_lines(inputs.get("path", ""))
        restore_keys = input_lines(inputs.get("restore-keys", ""))
        try:
            validate_cache_key(key)
            for k in restore_keys:
                validate_cache_key(k)
            if not paths:
                raise ValueError("Input required and not supplied: path")
        except ValueError as e:
            raise StepFailed(str(e)) from None
        self.set_output(step, "cache-primary-key", key)
        found = find_cache_entry(self.store.entries(), key, restore_keys, cache_version(paths), self.scopes())
        if found is None:
            # cache-hit stays unset on a miss (actions/cache#1466); fail-on-cache-miss fails the step
            message = f"Cache not found for input keys: {', '.join([key] + restore_keys)}"
            log(f"    {message}")
            result.notes.append("miss")
            if inputs.get("fail-on-cache-miss", "false").lower() == "true":
                raise StepFailed(
                    f"Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: {key}")
            result.outcome = "success"
            return
        exact = found.key.casefold() == key.casefold()
        size = found.archive.stat().st_size
        result.notes.append(f"{'hit' if exact else 'partial hit'}: {found.key} ({size / 2**20:.0f} MiB)")
        result.outcome = "success"
        if self.dry or inputs.get("lookup-only", "false").lower() == "true":
            log(f"    Cache found and can be restored from key: {found.key} ({'exact' if exact else 'prefix'} match)")
            self.set_output(step, "cache-matched-key", found.key)
            self.set_output(step, "cache-hit", "true" if exact else "false")
            return
        # As the action does: tar -xf <archive> -P -C $GITHUB_WORKSPACE, as the runner user.
        with open(found.archive, "rb") as archive:
            tar = subprocess.run(["runuser", "-u", self.layout.user, "--", "tar", "-xf", "-", "-P", "-C",
                                  str(self.layout.workspace)], stdin=archive, text=True, capture_output=True)
        if tar.returncode != 0:
            # the action only warns when the download or the extraction fails, and then reports a miss
            result.warnings.append(f"Failed to restore: tar exited {tar.returncode}: {one_line(tar.stderr)}")
            log(f"    warning: {result.warnings[-1]}")
            return
        self.set_output(step, "cache-matched-key", found.key)
        self.set_output(step, "cache-hit", "true" if exact else "false")
        log(f"    Cache restored from key: {found.key}")

    def cache_save(self, inputs: dict[str, str], result: StepResult) -> None:
        """actions/cache/save: never fails the step; whatever goes wrong is a warning and nothing is stored."""
        result.outcome = "success"
        key = inputs.get("key", "")
        paths = input_lines(inputs.get("path", ""))

        def warn(message: str) -> None:
            result.warnings.append(message)
            result.notes.append(f"NOT SAVED: {message}")
            log(f"    warning: {message}")
            log("    warning: Cache save failed.")

        try:
            validate_cache_key(key)
        except ValueError as e:
            return warn(str(e))
        version = cache_version(paths)
        if any(e.key == key and e.version == version and e.scope == self.ref for e in self.store.entries()):
            message = f"Failed to save: Unable to reserve cache with key {key}, another job may be creating this cache."
            log(f"    {message}")
            result.notes.append("key already present: nothing saved (keys are immutable)")
            return
        if self.dry:
            log(f"    would save {paths} under {key} (as {self.layout.user})")
            return
        matches = glob_paths(parse_globs(paths, str(self.layout.workspace), str(self.layout.home), False))
        if not matches:
            return warn("Path Validation Error: Path(s) specified in the action for caching do(es) not exist, "
                        "hence no cache is being saved.")
        relative = [os.path.relpath(p, self.layout.workspace) for p in matches]

        def write(target: Path) -> None:
            # tar -cf - -P -C $GITHUB_WORKSPACE --files-from <manifest>, as the runner user (who must read it all)
            manifest = self.layout.temp / f"manifest-{uuid.uuid4()}.txt"
            manifest.write_text("\n".join(relative) + "\n")
            with open(target, "wb") as out:
                tar = subprocess.run(["runuser", "-u", self.layout.user, "--", "tar", "--posix", "-cf", "-", "-P",
                                      "-C", str(self.layout.workspace), "--files-from", str(manifest)],
                                     stdout=out, stderr=subprocess.PIPE, text=False)
            manifest.unlink(missing_ok=True)
            if tar.returncode != 0:
                raise StepFailed(f"tar exited {tar.returncode}: {one_line(tar.stderr.decode(errors='replace'))}")

        try:
            where = self.store.add(key, version, self.ref, paths, write)
        except StepFailed as e:
            return warn(f"Failed to save: {e}")
        size = (where / "cache.tar").stat().st_size
        self.saved_keys.append(key)
        result.notes.append(f"saved {key} ({size / 2**20:.0f} MiB)")
        log(f"    Cache saved with key: {key} ({size / 2**20:.0f} MiB)")

    # -- report -------------------------------------------------------------------------------------------------

    def summary(self, wall: float) -> int:
        log("")
        log("=" * 100)
        mode = "dry run" if self.dry else ("cold" if self.args.cold else "warm")
        title = f"{self.job_id} ({self.job['name']})" if self.job.get("name") else self.job_id
        log(f"job {title}, event {self.event}, commit {self.commit[:12]}, {mode}")
        log(f"{'#':>3}  {'step':<52} {'outcome':<14} {'time':>9}")
        for r in self.results:
            log(f"{r.number:>3}  {r.name[:52]:<52} {r.outcome:<14} {r.seconds:>8.1f}s")
            for note in r.notes + [f"WARNING: {w}" for w in r.warnings]:
                log(f"{'':>5} - {note}")
        job = "cancelled" if self.status.cancelled else "failure" if self.status.failed else "success"
        log(f"total wall time: {wall:.0f} s ({wall / 60:.1f} min)")
        log(f"job result: {job}{' (dry run: run: steps assumed to succeed)' if self.dry else ''}")
        skipped = [r for r in self.results if r.outcome == "not-rehearsed"]
        if skipped:
            log("not rehearsed (the rehearsal does not cover these): " + "; ".join(r.name for r in skipped))
        sysroot_cache = self.global_env.get(SYSROOT_CACHE_VAR)
        if sysroot_cache and not self.dry and Path(sysroot_cache).is_dir():
            log(f"{SYSROOT_CACHE_VAR} chosen by the workflow: {sysroot_cache}: {du(Path(sysroot_cache))}")
            for child in sorted(Path(sysroot_cache).iterdir()):
                if child.is_dir():
                    log(f"    {du(child):>6}  {child.name}")
        entries = self.store.entries()
        log(f"cache store {self.store.root}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
            f" (GitHub keeps 10 GB per repository, least recently used evicted)")
        for e in sorted(entries, key=lambda e: e.created):
            size = e.archive.stat().st_size if e.archive.exists() else 0
            tag = " (saved by this run)" if e.key in self.saved_keys else ""
            log(f"    {size / 2**20:>9.1f} MiB  {e.key}  [{e.scope}]{tag}")
        failed_steps = [r for r in self.results if r.outcome in ("failure", "cancelled")]
        save_warnings = [r for r in self.results if r.warnings]
        if job != "success":
            return 1
        if failed_steps or save_warnings:
            log("the job passed, but " + "; ".join(
                [f"step {r.number} failed under continue-on-error" for r in failed_steps if r.outcome == "failure"]
                + [f"step {r.number} warned: {w}" for r in save_warnings for w in r.warnings]))
            return 3
        return 0


# --------------------------------------------------------------------------------------------------------------------


def load_workflow(args: argparse.Namespace, commit: str) -> tuple[dict, str]:
    if args.workflow:
        text, origin = Path(args.workflow).read_text(), args.workflow
    else:
        rel = ".github/workflows/deploy.yml"
        text = run(["git", "-C", str(REPO), "show", f"{commit}:{rel}"], capture_output=True).stdout
        origin = f"{rel} at {commit[:12]}"
    return yaml.safe_load(text), origin


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except ExpressionError as e:
        die(f"stopped: {e}")
        return 2


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--cold", action="store_true", help="empty the cache store first: nothing cached at all")
    mode.add_argument("--warm", action="store_true",
                      help="keep the cache store of the last run (the default); the runner is always a fresh VM")
    mode.add_argument("--steps-dry-run", action="store_true",
                      help="print each step, its condition and resolved environment; run nothing, change nothing")
    parser.add_argument("--commit", default="HEAD", help="commit to check out (default: HEAD of this repository)")
    parser.add_argument("--event", choices=("push", "pull_request"), default="push")
    parser.add_argument("--job", default="build")
    parser.add_argument("--workflow", help="workflow file to read instead of deploy.yml at --commit")
    parser.add_argument("--cache-dir", default="/var/tmp/rehearsal-cache", help="the emulated cache service's store")
    parser.add_argument("--state-file", default="/var/tmp/rehearsal-state.json")
    parser.add_argument("--user", default="runner")
    parser.add_argument("--repo-name", default=REPO.name, help="<name> in /home/<user>/work/<name>/<name>")
    parser.add_argument("--distdir-source", default="/work/shared/oci-image-spec/schema",
                        help="OCI schemas copied read-only for TOOLS_BAZEL_DISTDIR ('' for none)")
    parser.add_argument("--distdir-copy", default="/var/tmp/rehearsal-distdir")
    parser.add_argument("--find-links", default="/opt/wheels", help="PIP_FIND_LINKS stand-in ('' for none)")
    parser.add_argument("--stand-in", action="append", default=[], metavar="NAME=VALUE",
                        help="one more offline stand-in variable (e.g. PIP_DEFAULT_TIMEOUT=180)")
    args = parser.parse_args(argv)

    started = time.monotonic()
    commit = run(["git", "-C", str(REPO), "rev-parse", "--verify", f"{args.commit}^{{commit}}"],
                 capture_output=True).stdout.strip()
    workflow, origin = load_workflow(args, commit)
    if args.job not in (workflow.get("jobs") or {}):
        die(f"no job {args.job!r} in {origin}")
    problems = check_expressions(workflow, args.job)
    if problems:
        die("expressions the rehearsal does not understand (it never guesses):\n  " + "\n  ".join(problems))
    layout = Layout(args.user, Path("/home") / args.user, args.repo_name)

    stand_ins: dict[str, str] = {}
    if args.find_links:
        stand_ins["PIP_FIND_LINKS"] = args.find_links
    distdir = Path(args.distdir_copy) / "oci-image-spec" / "schema"
    if args.distdir_source:
        stand_ins["TOOLS_BAZEL_DISTDIR"] = str(distdir)
    for item in args.stand_in:
        name, sep, value = item.partition("=")
        if not sep or not name:
            die(f"--stand-in wants NAME=VALUE, not {item!r}")
        stand_ins[name] = value

    log(f"workflow: {origin}; job {args.job}; event {args.event}; commit {commit}")
    log(f"runner: user {layout.user} (passwordless sudo, no subordinate ids), HOME={layout.home}, "
        f"GITHUB_WORKSPACE={layout.workspace}, RUNNER_TEMP={layout.temp}; nothing beside the checkout (no ../shared)")
    log("offline stand-ins passed to every run: step (nothing else from this host's environment):")
    for name, value in stand_ins.items():
        log(f"    {name}={value}")
    log("    (PIP_FIND_LINKS: the CPU torch wheel on this disk; the workflow's PIP_EXTRA_INDEX_URL is unreachable "
        "here. TOOLS_BAZEL_DISTDIR: a read-only copy of the OCI schemas the real runner downloads from GitHub.)")
    log(f"Debian packages: tools/bazel takes this host's apt mirror ({', '.join(host_debian_mirrors()) or 'none'}) "
        "when it serves the recorded snapshot state: the stand-in for snapshot.debian.org")
    log("host-wide pip configuration also applies to the runner here: " + ", ".join(
        p for p in ("/etc/pip.conf", "/etc/xdg/pip/pip.conf") if Path(p).exists()) + " (a GitHub runner has none)")

    if args.steps_dry_run:
        with tempfile.TemporaryDirectory(prefix="rehearsal-dry-") as scratch:
            # hashFiles() reads the commit's files: a throw-away clone, not the working tree
            run(["git", "clone", "-q", "--no-checkout", str(REPO), scratch], capture_output=True)
            run(["git", "-C", scratch, "-c", "advice.detachedHead=false", "checkout", "-q", commit])
            rehearsal = Rehearsal(args, workflow, args.job, layout, commit, Path(scratch), stand_ins)
            rehearsal.run_job()
            return rehearsal.summary(time.monotonic() - started)

    if os.geteuid() != 0:
        die("run as root: sudo /usr/bin/python3 tools/ci/rehearse_workflow.py --cold (or --warm)")
    state_path = Path(args.state_file)
    state = read_state(state_path)
    cache_dirs = list(dict.fromkeys(state.get("sysroot_cache_dirs", []) + [
        f"{layout.home}/.cache/analysis-lambda-sysroot", "/mnt/ci-cache/analysis-lambda-sysroot"]))
    shutdown_env = {"HOME": str(layout.home), "PATH": RUNNER_PATH, "USER": layout.user, "CI": "true", **stand_ins}
    kill_leftovers(layout, cache_dirs, shutdown_env)
    ensure_sudo()
    ensure_runner_user(layout, state)
    write_state(state_path, state)
    if args.cold:
        log(f"cold: emptying the cache store {args.cache_dir}")
        remove_tree(Path(args.cache_dir))
    for cache in cache_dirs:  # a new VM has no sysroot cache, wherever the workflow put it
        if is_rehearsal_cache_dir(cache, layout) and os.path.exists(cache):
            log(f"removing the previous sysroot cache {cache}")
            remove_tree(Path(cache))
            if os.path.dirname(cache) == "/mnt/ci-cache":
                remove_tree(Path("/mnt/ci-cache"))
    fresh_home(layout)
    if args.distdir_source:
        if not Path(args.distdir_source).is_dir():
            die(f"{args.distdir_source} does not exist: pass --distdir-source DIR, or '' to go without")
        make_distdir(Path(args.distdir_source), Path(args.distdir_copy))
    checkout(layout, commit, "main", args.event)
    Path(args.cache_dir).mkdir(parents=True, exist_ok=True)
    log(f"checked out {commit[:12]} into {layout.workspace}; cache store {args.cache_dir} holds "
        f"{len(CacheStore(Path(args.cache_dir)).entries())} entries")

    rehearsal = Rehearsal(args, workflow, args.job, layout, commit, layout.workspace, stand_ins)
    try:
        rehearsal.run_job()
    finally:
        # the VM would be gone now: end whatever the job left running (files stay for inspection)
        kill_leftovers(layout, list(dict.fromkeys(read_state(state_path).get("sysroot_cache_dirs", []) + cache_dirs)),
                       shutdown_env)
    return rehearsal.summary(time.monotonic() - started)


if __name__ == "__main__":
    sys.exit(main())
