"""The pins in schemas.bzl against the files they fetch.

Bazel already refuses a file whose SHA-256 differs from its pin; what it cannot see is a pin that is missing. The
schemas refer to each other by file name (`$ref`), and an unpinned file is simply never fetched, so the conformance
test would only fail later, while resolving a reference. Here every reference is followed from the schemas the
conformance test validates against, and the pinned files must be exactly the ones reached.
"""

import ast
import hashlib
import json
import os
import re
from pathlib import Path

import pytest

PINS_FILE = Path(os.environ["OCI_SPEC_PINS"])
FETCHED = {Path(p).name: Path(p) for p in os.environ["OCI_SCHEMA_FILES"].split()}
# The schemas lambdas/analysis/image_tests/test_image_layout.py validates the image layout against.
ROOTS = ["image-layout-schema.json", "image-index-schema.json", "image-manifest-schema.json", "config-schema.json"]


def bzl_constants(path: Path) -> dict:
    """The top-level `NAME = <literal>` assignments of a .bzl file (its docstring says it holds literals only)."""
    constants = {}
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            constants[node.targets[0].id] = ast.literal_eval(node.value)
    return constants


PINS = bzl_constants(PINS_FILE)
COMMIT = PINS["OCI_IMAGE_SPEC_COMMIT"]
SCHEMAS = PINS["OCI_IMAGE_SPEC_SCHEMAS"]


def refs(node):
    """Every `$ref` string anywhere in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def pointer(document, fragment: str):
    """The value a JSON pointer fragment ("/definitions/digest") names in document; KeyError when there is none."""
    value = document
    for token in fragment.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        value = value[int(token)] if isinstance(value, list) else value[token]
    return value


def test_the_commit_is_a_full_commit_id():
    # A branch or tag would let upstream change the files under the pins (the fetch would then fail, not drift).
    assert re.fullmatch(r"[0-9a-f]{40}", COMMIT), COMMIT


def test_every_pin_is_a_plain_file_name_and_a_sha256():
    assert SCHEMAS
    for name, sha256 in SCHEMAS.items():
        assert re.fullmatch(r"[a-z0-9-]+\.json", name), name
        assert re.fullmatch(r"[0-9a-f]{64}", sha256), (name, sha256)


def test_the_fetched_files_are_exactly_the_pinned_bytes():
    assert sorted(FETCHED) == sorted(SCHEMAS)
    for name, path in FETCHED.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == SCHEMAS[name], name


def test_every_reference_from_the_conformance_schemas_is_pinned_and_resolves():
    reached, pending, missing = set(), list(ROOTS), []
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        if name not in SCHEMAS:
            missing.append(name)
            continue
        reached.add(name)
        document = json.loads(FETCHED[name].read_text())
        for ref in refs(document):
            target, _, fragment = ref.partition("#")
            # The conformance test registers the schemas by file name only: a reference must be local or a sibling.
            assert "/" not in target and ":" not in target, f"{name}: $ref {ref!r} is not a sibling file"
            target = target or name
            if target not in SCHEMAS:
                missing.append(f"{target} (from {name})")
                continue
            try:
                pointer(json.loads(FETCHED[target].read_text()), fragment)
            except (KeyError, IndexError, ValueError, TypeError):
                pytest.fail(f"{name}: $ref {ref!r} names nothing in {target}")
            pending.append(target)
    missing = sorted(set(missing))
    assert not missing, f"referenced but not pinned in schemas.bzl: {missing}"
    assert reached == set(SCHEMAS), f"pinned but never referenced: {sorted(set(SCHEMAS) - reached)}"
