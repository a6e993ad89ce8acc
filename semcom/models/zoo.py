"""Getting trained models: from the store when they exist, by training when not.

A model's spec (architecture, training settings, and the identity of the exact training
images) decides its store key, so the same scenario reuses its models and a model
trained on other data, dim or L is never picked up by mistake.

For notebooks, :func:`codec` and :func:`classifier` are the CompressAI-style entry points::

    import semcom
    clf = semcom.zoo.classifier(pretrained=True)
    na2 = semcom.zoo.codec("NA2", bits=8, pretrained=True)   # the shipped model, no training
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from dataclasses import dataclass, replace

import numpy as np
import torch

from semcom.codecs.base import Codec
from semcom.data import to_float_tensor
from semcom.codecs.networks import DigitClassifier
from semcom.errors import ModelStoreError, SemcomError, first_line
from semcom.models.families import MakeContext, family_of
from semcom.models.specs import CodecConfig
from semcom.models.store import ModelStore, StoredModel
from semcom.models.training.classifier import ClassifierTrainConfig, evaluate_classifier, train_classifier
from semcom.progress import log


@dataclass(frozen=True)
class TrainingData:
    """The training/validation tensors, and the data identity that goes into model specs."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    identity: dict

    @classmethod
    def from_arrays(cls, dataset: str, images: np.ndarray, labels: np.ndarray, train_idx: np.ndarray,
                    val_idx: np.ndarray, split: dict) -> "TrainingData":
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(images).tobytes())
        digest.update(np.ascontiguousarray(labels).astype(np.int64).tobytes())
        x = to_float_tensor(images)
        y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        identity = {"dataset": dataset, "n_images": int(len(images)), "images_sha256": digest.hexdigest(), **split}
        return cls(x[train_idx], y[train_idx], x[val_idx], y[val_idx], identity)


def classifier_spec(config: ClassifierTrainConfig, data: TrainingData) -> dict:
    return {"kind": "classifier", "arch": "table2", "train": replace(config, device="auto", train_limit=0).identity(),
            "data": data.identity}


def codec_spec(config: CodecConfig, data: TrainingData, classifier_key: str | None) -> dict:
    return family_of(config.family).spec(config, data.identity, classifier_key)


def stored_classifier(config: ClassifierTrainConfig, data: TrainingData,
                      store: ModelStore) -> tuple[DigitClassifier, dict] | None:
    """The stored classifier for ``config`` on ``data``, or None: never trains."""
    loaded = store.load_state(classifier_spec(config, data))
    if loaded is None:
        return None
    model = DigitClassifier()
    _load(model, *loaded)
    return model.eval(), loaded[1]


def stored_codec(config: CodecConfig, data: TrainingData, classifier_key: str,
                 store: ModelStore) -> tuple[Codec, dict] | None:
    """The stored codec for ``config`` on ``data``, or None: never trains or fits."""
    spec = codec_spec(config, data, classifier_key)
    loaded = store.load_state(spec)
    if loaded is None:
        return None
    family = family_of(config.family)
    codec = family.empty(spec)
    _load(codec, *loaded)
    key = loaded[1]["key"]
    prior = loaded[1].get("symbol_prior")
    if not family.digital:
        return codec.eval(), loaded[1]
    if prior is None:
        raise ModelStoreError(f"model {key}: card lacks the symbol prior the receiver needs; "
                              f"delete {key}.json to retrain")
    if np.asarray(prior).shape != (codec.dim, codec.levels):
        raise ModelStoreError(f"model {key}: symbol prior has shape {np.asarray(prior).shape}, expected "
                              f"({codec.dim}, {codec.levels}) for this codec; delete {key}.json to retrain")
    return codec.eval(), loaded[1]


def obtain_classifier(config: ClassifierTrainConfig, data: TrainingData, store: ModelStore, *, device: str = "auto",
                      retrain: bool = False, progress: bool = True) -> tuple[DigitClassifier, StoredModel | dict]:
    spec = classifier_spec(config, data)
    found = None if retrain else stored_classifier(config, data, store)  # reading takes no lock
    if found is not None:
        if progress:
            log(f"classifier: using stored model {found[1]['key']}")
        return found
    with store.lock(spec):
        found = None if retrain else stored_classifier(config, data, store)  # trained meanwhile by another process?
        if found is not None:
            return found
        if progress:
            log(f"classifier: no stored model for this configuration; training ({config.epochs} epochs)")
        model, history = train_classifier(data.train_x, data.train_y, data.val_x, data.val_y,
                                          replace(config, device=device, train_limit=0), progress=progress)
        metrics = {"val_accuracy": evaluate_classifier(model, data.val_x, data.val_y)}
        stored = store.save(spec, model.state_dict(), {"history": history, "metrics": metrics,
                                                        "seed": config.seed})
        return model.eval(), stored.card


def obtain_codec(config: CodecConfig, data: TrainingData, classifier: DigitClassifier, classifier_key: str,
                 store: ModelStore, *, device: str = "auto", retrain: bool = False,
                 progress: bool = True) -> tuple[Codec, dict]:
    """The stored codec for ``config`` on ``data``, trained (or fitted) and stored when missing."""
    spec = codec_spec(config, data, classifier_key)
    found = None if retrain else stored_codec(config, data, classifier_key, store)  # reading takes no lock
    if found is not None:
        if progress:
            log(f"codec {config.name}: using stored model {found[1]['key']}")
        return found
    with store.lock(spec):
        found = None if retrain else stored_codec(config, data, classifier_key, store)
        if found is not None:
            return found
        checkpoint = store.checkpoint_path(spec)
        ctx = MakeContext(data.train_x, data.train_y, data.val_x, data.val_y, classifier, device, checkpoint,
                          progress)
        family = family_of(config.family)
        codec, history = family.make(config, ctx)
        checkpoint.unlink(missing_ok=True)
        metrics = family.validate(codec, ctx)
        extra = {"symbol_prior": symbol_prior(codec, data.train_x).tolist()} if family.digital else {}
        stored = store.save(spec, codec.state_dict(), {
            "history": history, "metrics": {f"val_{k}": v for k, v in metrics.items()},
            **extra, "seed": config.train.seed, "name": config.name,
            **({"note": config.note} if config.note else {})})
        if progress:
            log(f"codec {config.name}: stored as {stored.key} (val MSE {metrics['mse']:.4f}, "
                f"val accuracy {100 * metrics['accuracy']:.2f}%)")
        return codec.eval(), stored.card


@torch.no_grad()
def symbol_prior(codec: Codec, images: torch.Tensor, batch_size: int = 4096) -> np.ndarray:
    """Frequency of each level per latent coordinate on the training images, shape (dim, L)."""
    codec.eval()
    idx = torch.cat([codec.encode(images[i : i + batch_size], torch.arange(i, min(i + batch_size, len(images))))
                     for i in range(0, len(images), batch_size)]).numpy()
    counts = np.stack([np.bincount(idx[:, j], minlength=codec.levels) for j in range(codec.dim)])
    return counts / max(len(idx), 1)


def _load(model: torch.nn.Module, state: dict, card: dict) -> None:
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelStoreError(f"model {card.get('key')}: weights do not fit the expected architecture "
                              f"({first_line(exc)}); delete {card.get('key')}.json to retrain") from exc


# ------------------------------------------------------------------ notebook entry points

#: the training images of every shipped model: the paper's split of the official MNIST
PAPER_SPLIT = {"val_fraction": 0.2, "split_seed": 0}
#: the repository's committed model store (training seeds beyond the shipped seed 0), in a checkout
_REPO_MODELS = Path(__file__).resolve().parents[2] / "models"
_CACHE: dict = {}


def paper_data(data: str | None = None) -> TrainingData:
    """The paper's 48,000 / 12,000 split of the official training images, on which every shipped
    model was trained (loaded once per folder); for analyses that need the training images."""
    from semcom.data import load_dataset, train_val_split

    key = str(data)
    if key not in _CACHE:
        ds = load_dataset("mnist", path=data)
        train_idx, val_idx = train_val_split(len(ds.train_images), PAPER_SPLIT["val_fraction"],
                                             PAPER_SPLIT["split_seed"])
        _CACHE[key] = TrainingData.from_arrays("mnist", ds.train_images, ds.train_labels, train_idx, val_idx,
                                               PAPER_SPLIT)
    return _CACHE[key]


def classifier(*, pretrained: bool = True, data: str | None = None,
               store: ModelStore | None = None) -> DigitClassifier:
    """The Table 2 classifier every shipped scenario uses (99.27% on the MNIST test set).

    ``pretrained=True`` loads it (shipped, never trained here); ``False`` gives a fresh,
    untrained network. ``data`` is the MNIST folder (its training images identify the model).
    """
    if not pretrained:
        return DigitClassifier()
    found = stored_classifier(ClassifierTrainConfig(), paper_data(data), store or ModelStore())
    if found is None:
        raise SemcomError("no stored classifier for the paper's split; train it with "
                          "`semcom train scenarios/mnist_8bit.toml`")
    return found[0]


PAPER_CODECS = {
    "only_compression": {"objective": "mse"},
    "deep_feature": {"objective": "deep_feature"},
    "NA1": {"objective": "adversarial", "preset": "NA1"},
    "NA2": {"objective": "adversarial", "preset": "NA2"},
    "NA3": {"objective": "adversarial", "preset": "NA3"},
}


def codec(name: str, *, bits: int = 8, pretrained: bool = True, train_seed: int = 0, data: str | None = None,
          store: ModelStore | None = None) -> Codec:
    """A codec of the paper's family by its Table 3 name (``only_compression``, ``deep_feature``,
    ``NA1``, ``NA2``, ``NA3``) at 8 or 12 bits/digit, trained on the paper's schedule.

    ``pretrained=True`` loads the stored model (seed 0 ships with the package; other
    seeds are in the repository's ``models/`` store) and never trains; ``False`` gives the
    untrained architecture. A loaded codec carries its model card as ``codec.card``.
    """
    if name not in PAPER_CODECS:
        raise ValueError(f"unknown codec {name!r}; expected one of: {', '.join(PAPER_CODECS)}")
    cfg = CodecConfig(name=f"{name}-{bits}b", bits=bits, train=replace(CodecConfig(name="x", bits=8).train,
                                                                        seed=train_seed), **PAPER_CODECS[name])
    family = family_of(cfg.family)
    if not pretrained:
        return family.empty(family.spec(cfg, {}, None))
    data_ = paper_data(data)
    clf_store = store or ModelStore(also=[p for p in [_REPO_MODELS] if p.is_dir()])
    clf = stored_classifier(ClassifierTrainConfig(), data_, clf_store)
    if clf is None:
        raise SemcomError("no stored classifier for the paper's split")
    found = stored_codec(cfg, data_, clf[1]["key"], clf_store)
    if found is None:
        raise SemcomError(f"no stored model for {cfg.name} (training seed {train_seed}); train it with "
                          f"`semcom train scenarios/paper_table3.toml --only {cfg.name}-s{train_seed}`")
    codec, card = found
    codec.card = card  # its model card: training curve, validation metrics, the symbol prior the receiver uses
    return codec
