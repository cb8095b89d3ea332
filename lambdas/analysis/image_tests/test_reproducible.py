"""Two clean builds give the same image: every layer is rebuilt from scratch here and must match Bazel's bytes.

Each layer rule leaves a recipe (tool + arguments, output group `recipe`). This test replays it in a fresh
directory, with another umask, time zone and temp dir than Bazel's action had, and compares the descriptor
(blob digest, diff_id, sizes). Layers are 99.9 % of the image; the manifest and config are canonical JSON of
their digests (tools/oci/assemble.py), checked by the layout test.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

RUNFILES_MAIN = Path.cwd()
RECIPES = sorted(RUNFILES_MAIN.glob("**/*.recipe.json"))
TOOLS = {name: RUNFILES_MAIN / "tools/oci" / name for name in ("deb_layer", "wheel_layer", "app_layer")}


def test_every_layer_of_the_image_has_a_recipe():
    names = {path.name.removesuffix(".recipe.json") for path in RECIPES}
    assert {"base_layer", "torch_layer", "wheels_layer", "app_layer"} <= names, names


@pytest.mark.parametrize("recipe_path", RECIPES, ids=lambda p: p.name.removesuffix(".recipe.json"))
def test_rebuilding_a_layer_from_scratch_gives_the_same_digest(recipe_path, tmp_path):
    recipe = json.loads(recipe_path.read_text())
    built = json.loads((RUNFILES_MAIN / recipe["descriptor"]).read_text())
    env = {**os.environ, "TMPDIR": str(tmp_path), "TZ": "Pacific/Chatham", "SOURCE_DATE_EPOCH": "1234567890"}
    blob, descriptor = tmp_path / "layer.tar.gz", tmp_path / "layer.json"
    result = subprocess.run(
        [str(TOOLS[recipe["tool"]]), "--out", str(blob), "--descriptor", str(descriptor), *recipe["arguments"]],
        cwd=RUNFILES_MAIN, env=env, capture_output=True, text=True, preexec_fn=lambda: os.umask(0o077),
    )
    assert result.returncode == 0, result.stderr
    rebuilt = json.loads(descriptor.read_text())
    assert rebuilt == built
