"""Globs as @actions/glob matches them, for hashFiles() and the actions/cache paths: patterns made absolute, a
search from the literal part of each pattern, depth first, directory entries in byte order (Node's readdir), `!`
excludes, and a pattern that matches a directory also matches everything below it (implicit descendants)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase


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
