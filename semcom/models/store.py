"""Model store: trained weights keyed by a hash of everything that determines them.

Each model is two files, ``<key>.<hash>.safetensors`` (the state dict in the safetensors
format, which holds tensors only, so a model file can never run code) and ``<key>.json``
(its card: the spec it was trained for, the weights' SHA-256, the training curve, final
metrics, how it was made). Entries written before safetensors (``<key>.<hash>.pt``, read
with ``torch.load(weights_only=True)``) still load. Writes are atomic (temporary file +
rename, weights before card), so a crash leaves either a complete model or none. Lookups
try the user's store first, then any further read-only stores, then the weights shipped
inside the package. Reading never writes: a shared, read-only store works; the lock
file is taken only to train a missing model.

A copy in half precision (:meth:`ModelStore.save_half_precision`) keeps the spec and key;
its card records ``weights_dtype = "float16"`` and the loader widens it back to float32.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

import torch
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save

from semcom import __version__
from semcom.errors import ModelStoreError, first_line

CARD_FORMAT = 1
# card fields a store writes itself (never copied from another card)
_WRITTEN_FIELDS = ("format", "key", "spec", "weights_file", "weights_sha256", "weights_dtype", "created", "made_with",
                   "symbol_prior_sha256")


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def spec_key(spec: dict) -> str:
    """Short stable hash of a model spec (architecture + training + data identity)."""
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()[:16]


def prior_sha256(prior: Any) -> str:
    """The hash that covers a card's symbol prior (it changes what the receiver substitutes)."""
    return hashlib.sha256(canonical_json(prior).encode()).hexdigest()


def _is_hex(value: Any, n: int) -> bool:
    return isinstance(value, str) and len(value) == n and all(c in "0123456789abcdef" for c in value)


def card_problem(card: Any) -> str | None:
    """What is wrong with a model card, or None: the schema every loader relies on."""
    if not isinstance(card, dict):
        return f"model card is a JSON {type(card).__name__}, expected an object"
    expected = {"key": str, "spec": dict, "weights_sha256": str}
    for name, tp in expected.items():
        if name not in card:
            return f"model card lacks '{name}'"
        if not isinstance(card[name], tp):
            return f"model card field '{name}' is {type(card[name]).__name__}, expected {tp.__name__}"
    if not _is_hex(card["weights_sha256"], 64):
        return "model card field 'weights_sha256' is not a SHA-256 hex digest"
    if "weights_file" in card and not isinstance(card["weights_file"], str):
        return "model card field 'weights_file' is not a file name"
    if card.get("weights_dtype", "float32") not in ("float32", "float16"):
        return f"model card field 'weights_dtype' is {card.get('weights_dtype')!r}, expected float32 or float16"
    if "symbol_prior" in card:
        prior = card["symbol_prior"]
        if not (isinstance(prior, list) and prior and all(isinstance(row, list) and row and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in row)
                for row in prior)) or len({len(row) for row in prior}) != 1:
            return "model card field 'symbol_prior' is not a table of level frequencies (one row per coordinate)"
        if "symbol_prior_sha256" in card and card["symbol_prior_sha256"] != prior_sha256(prior):
            return "model card's symbol_prior does not match its symbol_prior_sha256 (edited or corrupted)"
    return None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_store_root() -> Path:
    if os.environ.get("SEMCOM_STORE"):
        return Path(os.environ["SEMCOM_STORE"]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "semcom" / "models"


def shipped_root() -> Path:
    return Path(str(resources.files("semcom") / "weights"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp's 0600 would hide results from other users
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


@dataclass(frozen=True)
class StoredModel:
    key: str
    weights: Path
    card: dict

    @property
    def shipped(self) -> bool:
        return self.weights.parent == shipped_root()


def _serialize(state_dict: dict, dtype: torch.dtype | None = None) -> bytes:
    tensors = {}
    for k, v in state_dict.items():
        t = v.detach().cpu().contiguous()
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        tensors[k] = t
    return safetensors_save(dict(sorted(tensors.items())))


class ModelStore:
    def __init__(self, root: Path | None = None, *, use_shipped: bool = True,
                 also: list[Path] | tuple[Path, ...] = ()) -> None:
        self.root = Path(root) if root is not None else default_store_root()
        self.use_shipped = use_shipped
        self.also = [Path(p) for p in also]

    # -- lookup -----------------------------------------------------------------------
    def _locations(self) -> list[Path]:
        return [self.root, *self.also] + ([shipped_root()] if self.use_shipped else [])

    def find(self, spec: dict) -> StoredModel | None:
        key = spec_key(spec)
        for folder in self._locations():
            card_path = folder / f"{key}.json"
            if card_path.exists():
                card = self._read_card(card_path)
                name = Path(str(card.get("weights_file", f"{key}.pt"))).name  # never a path outside the store
                return StoredModel(key, folder / name, card)
        return None

    def _read_card(self, card_path: Path) -> dict:
        try:
            card = json.loads(card_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelStoreError(f"{card_path}: unreadable model card ({exc}); delete it to retrain") from exc
        problem = card_problem(card)
        if problem:
            raise ModelStoreError(f"{card_path}: {problem}; delete it to retrain")
        return card

    def load_state(self, spec: dict) -> tuple[dict, dict] | None:
        """The verified state dict and card for ``spec``, or None when not stored."""
        found = self.find(spec)
        if found is None:
            return None
        card = found.card
        if canonical_json(card["spec"]) != canonical_json(spec):
            raise ModelStoreError(
                f"{found.weights.parent / (found.key + '.json')}: card was made for another model "
                f"(spec differs from the one requested); refusing to use it"
            )
        if not found.weights.exists():
            raise ModelStoreError(f"{found.weights}: weights file missing (card exists); delete the card to retrain")
        digest = file_sha256(found.weights)
        if digest != card["weights_sha256"]:
            raise ModelStoreError(
                f"{found.weights}: SHA-256 {digest[:12]}… does not match its card "
                f"({card['weights_sha256'][:12]}…): file corrupted or tampered with; refusing to load"
            )
        try:
            if found.weights.suffix == ".safetensors":
                state = safetensors_load(found.weights.read_bytes())
            else:
                state = torch.load(found.weights, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
            raise ModelStoreError(f"{found.weights}: cannot be loaded safely ({first_line(exc)}); "
                                  f"delete {found.key}.json to retrain") from exc
        if card.get("weights_dtype", "float32") != "float32":
            state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        return state, card

    # -- save -------------------------------------------------------------------------
    def save(self, spec: dict, state_dict: dict, card_extra: dict) -> StoredModel:
        """Write weights under a content-named file, then the card: the card is the commit.

        A crash before the card is replaced leaves the previous entry intact (its card
        still names its own weights file); the old weights file is removed afterwards.
        Weights are serialized to memory first, so equal tensors give equal bytes.
        """
        return self._write(spec, _serialize(state_dict), card_extra, "float32")

    def save_half_precision(self, stored: StoredModel, state_dict: dict, extra: dict | None = None) -> StoredModel:
        """A float16 copy of ``stored`` (same spec and key) in this store: half the bytes."""
        card = {k: v for k, v in stored.card.items() if k not in _WRITTEN_FIELDS}
        card["half_precision_of"] = {"weights_sha256": stored.card["weights_sha256"], **(extra or {})}
        return self._write(stored.card["spec"], _serialize(state_dict, torch.float16), card, "float16",
                           keep_made_with=stored.card.get("made_with"), keep_created=stored.card.get("created"))

    def _write(self, spec: dict, data: bytes, card_extra: dict, dtype: str, *, keep_made_with: dict | None = None,
               keep_created: str | None = None) -> StoredModel:
        key = spec_key(spec)
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(data).hexdigest()
        weights = self.root / f"{key}.{digest[:12]}.safetensors"
        atomic_write_bytes(weights, data)
        card_path = self.root / f"{key}.json"
        previous = None
        if card_path.exists():
            with contextlib.suppress(ModelStoreError):
                previous = self.root / Path(str(self._read_card(card_path).get("weights_file", f"{key}.pt"))).name
        card = {
            "format": CARD_FORMAT,
            "key": key,
            "spec": spec,
            "weights_file": weights.name,
            "weights_sha256": digest,
            "weights_dtype": dtype,
            "created": keep_created or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "made_with": keep_made_with or {
                "semcom": __version__,
                "torch": torch.__version__,
                "python": platform.python_version(),
                "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:]),
            },
            **card_extra,
        }
        if "symbol_prior" in card:
            card["symbol_prior_sha256"] = prior_sha256(card["symbol_prior"])
        try:
            atomic_write_text(card_path, json.dumps(card, indent=2, default=str) + "\n")
        except BaseException:
            if previous != weights:  # no card names the new file: do not leave it behind
                weights.unlink(missing_ok=True)
            raise
        if previous is not None and previous != weights and previous.suffix in (".pt", ".safetensors"):
            previous.unlink(missing_ok=True)
        return StoredModel(key, weights, card)

    def checkpoint_path(self, spec: dict) -> Path:
        return self.root / "checkpoints" / f"{spec_key(spec)}.ckpt"

    def _lock_path(self, spec: dict) -> Path:
        return self.root / "locks" / f"{spec_key(spec)}.lock"

    def is_training(self, spec: dict) -> bool:
        """Whether a process holds this model's training lock (see :meth:`lock`) right now.

        Opened for reading: asking creates no lock file and works in a read-only store."""
        try:
            with open(self._lock_path(spec), "rb") as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(f, fcntl.LOCK_UN)
                return False
        except OSError:  # no lock file: never trained in this store
            return False

    @contextlib.contextmanager
    def lock(self, spec: dict) -> Iterator[None]:
        """Serialize training of the same model across processes (the loser then reuses it).

        Only taken to train: a store that already holds a model is read without it."""
        path = self._lock_path(spec)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            f = open(path, "w")
        except OSError as exc:
            raise ModelStoreError(f"model store {self.root}: cannot train model {spec_key(spec)} here: "
                                  f"{exc.strerror or exc} (the store is not writable; give a writable "
                                  f"--store or $SEMCOM_STORE)") from None
        with f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
