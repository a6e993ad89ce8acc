"""Getting trained models: from the store when they exist, by training when not.

A model's spec (architecture, training settings, and the identity of the exact training
images) decides its store key, so the same scenario reuses its models and a model
trained on other data, dim or L is never picked up by mistake.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import numpy as np
import torch

from semcom.classifier import DigitClassifier
from semcom.codecs.base import Codec
from semcom.codecs.learned import LearnedCodec, LearnedCodecConfig
from semcom.errors import ModelStoreError, first_line
from semcom.progress import log
from semcom.scenario import ClassifierSection, CodecSection
from semcom.store import ModelStore, StoredModel
from semcom.training.classifier import evaluate_classifier, train_classifier
from semcom.training.codec import evaluate_codec, train_codec


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
        x = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0).unsqueeze(1)
        y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        identity = {"dataset": dataset, "n_images": int(len(images)), "images_sha256": digest.hexdigest(), **split}
        return cls(x[train_idx], y[train_idx], x[val_idx], y[val_idx], identity)


def classifier_spec(section: ClassifierSection, data: TrainingData) -> dict:
    return {"kind": "classifier", "arch": "table2", "train": section.train_config("auto", 0).identity(),
            "data": data.identity}


def _classical(section: CodecSection):
    from semcom.codecs.classical import KMeansVQCodec, PCAScalarCodec
    from semcom.codecs.semantic import LabelRefinementCodec

    if section.family == "kmeans":
        return KMeansVQCodec(section.bits)
    if section.family == "pca":
        return PCAScalarCodec(section.bits, levels=section.levels)
    return LabelRefinementCodec(section.bits, packing="joint" if section.family == "label_joint" else "split")


def codec_spec(section: CodecSection, data: TrainingData, classifier_key: str | None) -> dict:
    if section.family != "learned":
        spec = {"kind": "codec", "family": section.family, "config": _classical(section).config(),
                "fit": {"seed": section.train.seed, "iterations": section.fit_iterations}, "data": data.identity}
        if section.family in ("label_refine", "label_joint"):
            spec["classifier"] = classifier_key
        return spec
    fmt = section.symbol_format
    arch = LearnedCodecConfig(fmt.dim, fmt.levels, section.width, section.quantizer, section.sigma, section.dither)
    train = section.train_config("auto", 0)
    spec = {"kind": "codec", "family": "learned", "objective": section.objective, "arch": arch.to_dict(),
            "train": train.identity(), "data": data.identity}
    if "lambda_feature" in train.extra or "lambda_ce" in train.extra:
        spec["classifier"] = classifier_key
    return spec


def stored_classifier(section: ClassifierSection, data: TrainingData,
                      store: ModelStore) -> tuple[DigitClassifier, dict] | None:
    """The stored classifier for ``section`` on ``data``, or None: never trains."""
    loaded = store.load_state(classifier_spec(section, data))
    if loaded is None:
        return None
    model = DigitClassifier()
    _load(model, *loaded)
    return model.eval(), loaded[1]


def stored_codec(section: CodecSection, data: TrainingData, classifier_key: str,
                 store: ModelStore) -> tuple[Codec, dict] | None:
    """The stored codec for ``section`` on ``data``, or None: never trains or fits."""
    spec = codec_spec(section, data, classifier_key)
    loaded = store.load_state(spec)
    if loaded is None:
        return None
    codec = _empty_codec(spec)
    _load(codec, *loaded)
    prior = loaded[1].get("symbol_prior")
    if prior is None:
        raise ModelStoreError(f"model {loaded[1]['key']}: card lacks the symbol prior the receiver needs; "
                              f"delete {loaded[1]['key']}.json to retrain")
    if np.asarray(prior).shape != (codec.dim, codec.levels):
        raise ModelStoreError(f"model {loaded[1]['key']}: symbol prior has shape {np.asarray(prior).shape}, expected "
                              f"({codec.dim}, {codec.levels}) for this codec; delete {loaded[1]['key']}.json to retrain")
    return codec.eval(), loaded[1]


def obtain_classifier(section: ClassifierSection, data: TrainingData, store: ModelStore, *, device: str = "auto",
                      retrain: bool = False, progress: bool = True) -> tuple[DigitClassifier, StoredModel | dict]:
    spec = classifier_spec(section, data)
    found = None if retrain else stored_classifier(section, data, store)  # reading takes no lock
    if found is not None:
        if progress:
            log(f"classifier: using stored model {found[1]['key']}")
        return found
    with store.lock(spec):
        found = None if retrain else stored_classifier(section, data, store)  # trained meanwhile by another process?
        if found is not None:
            return found
        if progress:
            log(f"classifier: no stored model for this configuration; training ({section.epochs} epochs)")
        model, history = train_classifier(data.train_x, data.train_y, data.val_x, data.val_y,
                                          section.train_config(device, 0), progress=progress)
        metrics = {"val_accuracy": evaluate_classifier(model, data.val_x, data.val_y)}
        stored = store.save(spec, model.state_dict(), {"history": history, "metrics": metrics,
                                                        "seed": section.seed})
        return model.eval(), stored.card


def obtain_codec(section: CodecSection, data: TrainingData, classifier: DigitClassifier, classifier_key: str,
                 store: ModelStore, *, device: str = "auto", retrain: bool = False,
                 progress: bool = True) -> tuple[Codec, dict]:
    """The stored codec for ``section`` on ``data``, trained (or fitted) and stored when missing."""
    spec = codec_spec(section, data, classifier_key)
    found = None if retrain else stored_codec(section, data, classifier_key, store)  # reading takes no lock
    if found is not None:
        if progress:
            log(f"codec {section.name}: using stored model {found[1]['key']}")
        return found
    with store.lock(spec):
        found = None if retrain else stored_codec(section, data, classifier_key, store)
        if found is not None:
            return found
        if section.family != "learned":
            codec, history = _fit_classical(section, data, classifier, progress)
        else:
            if progress:
                log(f"codec {section.name}: no stored model for this configuration; training "
                    f"({section.train.epochs} epochs, {section.symbol_format.nominal_bits:g} bits/digit, "
                    f"objective {section.objective}{' ' + section.preset if section.preset else ''})")
            checkpoint = store.checkpoint_path(spec)
            codec, history = train_codec(
                LearnedCodecConfig(**spec["arch"]), section.train_config(device, 0), section.objective,
                data.train_x, data.val_x, data.val_y, classifier, train_y=data.train_y, checkpoint=checkpoint,
                progress=progress, label=f"codec {section.name}")
            checkpoint.unlink(missing_ok=True)
        metrics = evaluate_codec(codec, data.val_x, data.val_y, classifier)
        prior = symbol_prior(codec, data.train_x)
        stored = store.save(spec, codec.state_dict(), {
            "history": history, "metrics": {f"val_{k}": v for k, v in metrics.items()},
            "symbol_prior": prior.tolist(), "seed": section.train.seed, "name": section.name,
            **({"note": section.note} if section.note else {})})
        if progress:
            log(f"codec {section.name}: stored as {stored.key} (val MSE {metrics['mse']:.4f}, "
                f"val accuracy {100 * metrics['accuracy']:.2f}%)")
        return codec.eval(), stored.card


def _empty_codec(spec: dict) -> Codec:
    if spec["family"] == "learned":
        return LearnedCodec(LearnedCodecConfig(**spec["arch"]))
    from semcom.codecs.classical import from_config

    return from_config(spec["config"])


def _fit_classical(section: CodecSection, data: TrainingData, classifier: DigitClassifier,
                   progress: bool) -> tuple[Codec, dict]:
    codec = _classical(section)
    if progress:
        log(f"codec {section.name}: no stored model for this configuration; fitting {section.family} "
            f"({section.bits} bits/digit)")
    t0 = time.perf_counter()
    if section.family in ("label_refine", "label_joint"):
        history = codec.fit(data.train_x, data.train_y, classifier, seed=section.train.seed,
                            iterations=section.fit_iterations)
    elif section.family == "kmeans":
        history = codec.fit(data.train_x, seed=section.train.seed, iterations=section.fit_iterations)
    else:
        history = codec.fit(data.train_x, seed=section.train.seed)
    if progress:
        log(f"codec {section.name}: fitted in {time.perf_counter() - t0:.1f} s")
    return codec, _jsonable(history)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj


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
