"""Is it a model the function can serve? Checked twice, with the function's own code.

* ``check_source``, before packing (fast; each error names what is missing): the files model_store requires
  (config.json, weights, tokenizer), an ``id2label`` whose labels are the sentiments the function writes, and no
  pickled file unless the caller allowed it.
* ``check_artifact``, on the packed tarball: extracted with the function's extractor (lambdas/shared/safe_tar.py),
  then loaded and run with the handler's ``SentimentModel`` under the locked torch and transformers. What passes
  here is what a cold start will load.
"""

from __future__ import annotations

import json
import math
import tempfile
from fnmatch import fnmatch
from pathlib import Path

from lambdas.analysis.batch import LABELS
from lambdas.analysis.sentiment import ModelLoadError, Prediction, SentimentModel
from lambdas.shared.model_store import ModelFetchError, validate_model_dir
from lambdas.shared.safe_tar import ArchiveError, extract_tar_stream
from tools.model import PublishError
from tools.model.archive import model_files

# Loading any of these runs Python's pickle, which can execute code: torch checkpoints, Trainer state.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
# The weights publish.json records a SHA-256 of (sharded ones included).
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
SAMPLE_TEXTS = ("I love this great product", "terrible awful disaster", "the company announced results")


def weight_files(names: list[str]) -> list[str]:
    return [n for n in names if any(fnmatch(n, pattern) for pattern in WEIGHT_PATTERNS)]


def check_source(model_dir: Path, *, allow_pickle: bool) -> None:
    if not model_dir.is_dir():
        raise PublishError(f"--from {model_dir}: no such directory")
    try:
        validate_model_dir(model_dir)  # the layout the function itself requires
    except ModelFetchError as exc:
        raise PublishError(str(exc)) from None
    _check_labels(model_dir)
    _check_pickles(model_dir, allow_pickle)


def _check_labels(model_dir: Path) -> None:
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except ValueError as exc:
        raise PublishError(f"{model_dir}/config.json is not valid JSON: {exc}") from None
    id2label = config.get("id2label") if isinstance(config, dict) else None
    if not isinstance(id2label, dict) or not id2label:
        raise PublishError(f"{model_dir}/config.json has no id2label: the function labels each text with "
                           'id2label[argmax] (set it when fine-tuning, e.g. {"0": "NEGATIVE", "1": "POSITIVE"})')
    # transformers names unset labels LABEL_0, LABEL_1...: such a model would write meaningless sentiments.
    unknown = sorted({str(v) for v in id2label.values() if str(v).lower() not in LABELS})
    if unknown:
        raise PublishError(f"{model_dir}/config.json id2label has labels the function cannot write: "
                           f"{', '.join(unknown)} (expected {', '.join(LABELS)}, in any case)")


def _check_pickles(model_dir: Path, allow_pickle: bool) -> None:
    names = model_files(model_dir)
    pickled = [n for n in names if n.endswith(PICKLE_SUFFIXES)]
    if not pickled or allow_pickle:
        return
    if any(n.endswith(".safetensors") for n in names):
        fix = "the weights are in safetensors already: remove the pickled files from the directory"
    else:
        fix = ("the weights are only pickled: save them as safetensors (save_pretrained does by default, or "
               "convert with safetensors.torch.save_file)")
    raise PublishError(f"{model_dir} holds pickled files: {', '.join(pickled)}. Loading a pickle can run any code; "
                       f"{fix}, or pass --allow-pickle if you trust them")


def check_artifact(tarball: Path, top_dir: str) -> list[tuple[str, Prediction]]:
    """Extract, load and run the artifact as the function would; returns SAMPLE_TEXTS with their predictions."""
    with tempfile.TemporaryDirectory(prefix="publish-check-") as scratch:
        try:
            with open(tarball, "rb") as fh:
                extract_tar_stream(fh, Path(scratch))
            root = Path(scratch) / top_dir
            validate_model_dir(root)
            model = SentimentModel.load(root)
        except (ArchiveError, ModelFetchError, ModelLoadError) as exc:
            raise PublishError(f"the packed artifact does not load as the function loads it: {exc}") from None
        predictions = model.predict(list(SAMPLE_TEXTS), threshold=0.0)
    if not all(math.isfinite(p.score) for p in predictions):
        raise PublishError("the model's scores are not numbers (NaN or infinite): its weights are broken")
    return list(zip(SAMPLE_TEXTS, predictions))
