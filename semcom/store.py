"""Model store: trained weights keyed by a hash of everything that determines them.

Each model is two files, ``<key>.<hash>.pt`` (a state dict, loaded with ``weights_only=True`` so
a model file can never run code) and ``<key>.json`` (its card: the spec it was trained
for, the weights' SHA-256, the training curve, final metrics, how it was made). Writes
are atomic (temporary file + rename, weights before card), so a crash leaves either a
complete model or none. Lookups try the user's store first, then the weights shipped
inside the package.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
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

from semcom import __version__
from semcom.errors import ModelStoreError

CARD_FORMAT = 1


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def spec_key(spec: dict) -> str:
    """Short stable hash of a model spec (architecture + training + data identity)."""
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()[:16]


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


class ModelStore:
    def __init__(self, root: Path | None = None, *, use_shipped: bool = True) -> None:
        self.root = Path(root) if root is not None else default_store_root()
        self.use_shipped = use_shipped

    # -- lookup -----------------------------------------------------------------------
    def _locations(self) -> list[Path]:
        return [self.root] + ([shipped_root()] if self.use_shipped else [])

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
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelStoreError(f"{card_path}: unreadable model card ({exc}); delete it to retrain") from exc
        for field in ("key", "spec", "weights_sha256"):
            if field not in card:
                raise ModelStoreError(f"{card_path}: model card lacks '{field}'; delete it to retrain")
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
            state = torch.load(found.weights, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
            raise ModelStoreError(f"{found.weights}: cannot be loaded safely ({exc})") from exc
        return state, card

    # -- save -------------------------------------------------------------------------
    def save(self, spec: dict, state_dict: dict, card_extra: dict) -> StoredModel:
        """Write weights under a content-named file, then the card: the card is the commit.

        A crash before the card is replaced leaves the previous entry intact (its card
        still names its own weights file); the old weights file is removed afterwards.
        Weights are serialized to memory first, so equal tensors give equal bytes.
        """
        key = spec_key(spec)
        self.root.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, buf)
        data = buf.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        weights = self.root / f"{key}.{digest[:12]}.pt"
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
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "made_with": {
                "semcom": __version__,
                "torch": torch.__version__,
                "python": platform.python_version(),
                "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:]),
            },
            **card_extra,
        }
        try:
            atomic_write_text(card_path, json.dumps(card, indent=2, default=str) + "\n")
        except BaseException:
            if previous != weights:  # no card names the new file: do not leave it behind
                weights.unlink(missing_ok=True)
            raise
        if previous is not None and previous != weights and previous.suffix == ".pt":
            previous.unlink(missing_ok=True)
        return StoredModel(key, weights, card)

    def checkpoint_path(self, spec: dict) -> Path:
        return self.root / "checkpoints" / f"{spec_key(spec)}.ckpt"

    @contextlib.contextmanager
    def lock(self, spec: dict) -> Iterator[None]:
        """Serialize training of the same model across processes (the loser then reuses it)."""
        lock_dir = self.root / "locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with open(lock_dir / f"{spec_key(spec)}.lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
