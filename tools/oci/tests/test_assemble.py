"""assemble.py's stamping: unstamped, an image carries nothing from the workspace status (the entries naming a
status key are left out, not given a placeholder); stamped, it carries the expanded value and changes with it.

That an unstamped oci_image is never handed the status file at all is the rule's part: stamp_test (BUILD.bazel).
"""

import json
import sys

import pytest

from tools.oci import assemble
from tools.oci.layout import image_manifest

REVISION = "org.opencontainers.image.revision"
SPEC = {
    "architecture": "amd64",
    "os": "linux",
    "cmd": ["handler"],
    "env": {},
    "labels": {REVISION: "{STABLE_GIT_COMMIT}", "org.opencontainers.image.title": "probe"},
    "annotations": {REVISION: "{STABLE_GIT_COMMIT}"},
}


def build(tmp_path, monkeypatch, name: str, spec: dict, commit: str | None = None) -> tuple[str, dict, dict]:
    """(digest, manifest, config) of assemble.py's image for SPEC, stamped with COMMIT when one is given."""
    work = tmp_path / name
    work.mkdir()
    (work / "spec.json").write_text(json.dumps(spec))
    argv = ["assemble.py", "--spec", str(work / "spec.json"), "--out", str(work / "layout"),
            "--digest-out", str(work / "digest")]
    if commit is not None:
        (work / "stable-status.txt").write_text(f"BUILD_SCM_STATUS clean\nSTABLE_GIT_COMMIT {commit}\n")
        argv += ["--stamp-info-file", str(work / "stable-status.txt")]
    monkeypatch.setattr(sys, "argv", argv)
    assemble.main()
    _, manifest, config = image_manifest(work / "layout")
    return (work / "digest").read_text().strip(), manifest, config


def test_unstamped_image_has_no_revision_label_or_annotation(tmp_path, monkeypatch):
    _, manifest, config = build(tmp_path, monkeypatch, "unstamped", SPEC)
    assert config["config"]["Labels"] == {"org.opencontainers.image.title": "probe"}
    assert "annotations" not in manifest


def test_unstamped_image_is_the_image_without_the_status_entries(tmp_path, monkeypatch):
    # Left out, not replaced by a placeholder: the same digest as an image that never asked for a revision.
    without = {**SPEC, "labels": {"org.opencontainers.image.title": "probe"}, "annotations": {}}
    assert build(tmp_path, monkeypatch, "a", SPEC)[0] == build(tmp_path, monkeypatch, "b", without)[0]


def test_stamped_image_carries_the_commit_and_changes_with_it(tmp_path, monkeypatch):
    one, two = "1" * 40, "2" * 40
    digest_one, manifest, config = build(tmp_path, monkeypatch, "one", SPEC, commit=one)
    assert config["config"]["Labels"][REVISION] == one
    assert manifest["annotations"] == {REVISION: one}
    digest_two = build(tmp_path, monkeypatch, "two", SPEC, commit=two)[0]
    unstamped = build(tmp_path, monkeypatch, "unstamped", SPEC)[0]
    assert len({digest_one, digest_two, unstamped}) == 3


def test_stamping_without_the_key_fails_instead_of_labelling_unknown(tmp_path, monkeypatch):
    spec = {**SPEC, "labels": {REVISION: "{STABLE_NOT_PRINTED}"}}
    with pytest.raises(SystemExit, match="STABLE_NOT_PRINTED is not in the workspace status"):
        build(tmp_path, monkeypatch, "missing", spec, commit="1" * 40)
