"""The datasets semcom knows: their official files, checksums, mirrors and documented subsets."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import SemcomError

#: the four files of every dataset, in canonical order
ROLES: tuple[str, ...] = ("train_images", "train_labels", "test_images", "test_labels")


STATUS_OFFICIAL = "official"


STATUS_SUBSET = "subset"


STATUS_UNVERIFIED = "unverified"


class DatasetError(SemcomError):
    """A dataset is unknown, inconsistent or malformed (the message names the file)."""


class DatasetNotFoundError(DatasetError):
    """The files of a dataset could not be found (nor downloaded)."""


@dataclass(frozen=True)
class KnownSubset:
    """A file known to be a documented subset of an official file.

    ``sha256`` is that of the file as stored (a gzip file and its
    uncompressed form are listed as two entries).
    """

    role: str
    sha256: str
    n_items: int
    note: str


def _frozen_map(m: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(m))


@dataclass(frozen=True)
class DatasetSpec:
    """Static description of a dataset and its official release."""

    name: str
    #: role -> official (gzip) file name
    files: Mapping[str, str] = field(hash=False)
    #: role -> official MD5 of that gzip file
    md5: Mapping[str, str] = field(hash=False)
    #: base URLs; a file's URL is base + official file name
    mirrors: tuple[str, ...] = ()
    image_shape: tuple[int, int] = (28, 28)
    num_classes: int = 10
    class_names: tuple[str, ...] = ()
    #: expected item counts of the full release: {"train": ..., "test": ...}
    full_counts: Mapping[str, int] = field(default_factory=dict, hash=False)
    #: role -> MD5 of the official *decompressed* IDX file, where known
    raw_md5: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: folders where an OS package may have installed the files
    system_dirs: tuple[str, ...] = ()
    known_subsets: tuple[KnownSubset, ...] = ()
    #: one line shown in "not found" errors (e.g. an apt-get command)
    install_hint: str = ""
    homepage: str = ""
    license: str = ""

    def __post_init__(self) -> None:
        for attr in ("files", "md5", "full_counts", "raw_md5"):
            object.__setattr__(self, attr, _frozen_map(getattr(self, attr)))
        for attr in ("mirrors", "class_names", "system_dirs", "known_subsets"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        object.__setattr__(self, "image_shape", tuple(self.image_shape))
        missing = [r for r in ROLES if r not in self.files or r not in self.md5]
        if missing:
            raise ValueError(f"DatasetSpec {self.name!r}: no file name / md5 for {missing}")
        if self.class_names and len(self.class_names) != self.num_classes:
            raise ValueError(
                f"DatasetSpec {self.name!r}: {len(self.class_names)} class names "
                f"for {self.num_classes} classes"
            )

    def candidate_names(self, role: str) -> tuple[str, ...]:
        """File names accepted for ``role``: the official gzip name first,
        then the uncompressed name (and its ``name.idxN-ubyte`` spelling)."""
        official = self.files[role]
        raw = official[:-3] if official.endswith(".gz") else official
        names = [official, raw]
        dotted = raw.replace("-idx", ".idx", 1)
        if dotted != raw:
            names.append(dotted)
        return tuple(dict.fromkeys(names))

    def urls(self, role: str) -> list[str]:
        return [m.rstrip("/") + "/" + self.files[role] for m in self.mirrors]

    def split_of(self, role: str) -> str:
        return role.split("_", 1)[0]


_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


_MNIST_SUBSET_NOTE_IMAGES = "first 19,690 of the 60,000 official MNIST training images"


_MNIST_SUBSET_NOTE_LABELS = "first 19,690 of the 60,000 official MNIST training labels"


MNIST = DatasetSpec(
    name="mnist",
    files=_MNIST_FILES,
    md5={
        "train_images": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train_labels": "d53e105ee54ea40749a09fcbcd1e9432",
        "test_images": "9fb629c4189551a2d022fa330f9573f3",
        "test_labels": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    image_shape=(28, 28),
    num_classes=10,
    class_names=tuple(str(d) for d in range(10)),
    full_counts={"train": 60000, "test": 10000},
    # MD5 of the decompressed official files: a recompressed gzip (other header,
    # other compression level) is still the official release by content.
    raw_md5={
        "train_images": "6bbc9ace898e44ae57da46a324031adb",
        "train_labels": "a25bea736e30d166cdddb491f175f624",
        "test_images": "2646ac647ad5339dbf082846283269ea",
        "test_labels": "27ae3e4e09519cfbb04c329615203637",
    },
    known_subsets=(
        KnownSubset(
            "train_images",
            "af7b408284bb4e013e50d6b8366d1a860764683916c78dd3cf7adf0e91672373",
            19690,
            _MNIST_SUBSET_NOTE_IMAGES,
        ),
        KnownSubset(
            "train_labels",
            "02eae816f7601595b25ce09124c8c0e610359cc8bf80674bc1e0d13986d8f313",
            19690,
            _MNIST_SUBSET_NOTE_LABELS,
        ),
        # the same two subsets, uncompressed
        KnownSubset(
            "train_images",
            "8aaa4d3cb30af79cbf6d27457b4496157003df14b08d7c423799b933e0b4a8aa",
            19690,
            _MNIST_SUBSET_NOTE_IMAGES,
        ),
        KnownSubset(
            "train_labels",
            "f75aa630074fb1d8a84e8b943ce744defe33b2269c60d6085ab424f61938d060",
            19690,
            _MNIST_SUBSET_NOTE_LABELS,
        ),
    ),
    homepage="http://yann.lecun.com/exdb/mnist/",
    license="CC BY-SA 3.0 (Y. LeCun, C. Cortes, C. J. C. Burges)",
)


FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    files=dict(_MNIST_FILES),
    md5={
        "train_images": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train_labels": "25c81989df183df01b3e8a0aad5dffbe",
        "test_images": "bef4ecab320f06d8554ea6380940ec79",
        "test_labels": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    image_shape=(28, 28),
    num_classes=10,
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    full_counts={"train": 60000, "test": 10000},
    # MD5 of the decompressed official files.  The Debian package's gzip files
    # differ from the official ones only in the gzip header (file name and
    # mtime stripped by strip-nondeterminism): restoring the original header
    # reproduces the official MD5 of all four files, so these are the
    # official contents.
    raw_md5={
        "train_images": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train_labels": "9018921c3c673c538a1fc5bad174d6f9",
        "test_images": "8181f5470baa50b63fa0f6fddb340f0a",
        "test_labels": "15d484375f8d13e6eb1aabb0c3f46965",
    },
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    install_hint=(
        "on Debian/Ubuntu: apt-get install dataset-fashion-mnist "
        "(installs to /usr/share/datasets/fashion-mnist)"
    ),
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    license="MIT (Zalando SE)",
)


#: known datasets by name
DATASETS: dict[str, DatasetSpec] = {MNIST.name: MNIST, FASHION_MNIST.name: FASHION_MNIST}


def get_spec(name: str) -> DatasetSpec:
    """The spec of a known dataset (``fashion_mnist`` and case variants accepted)."""
    key = str(name).strip().lower().replace("_", "-")
    try:
        return DATASETS[key]
    except KeyError:
        raise DatasetError(
            f"unknown dataset {name!r}: known datasets are {', '.join(sorted(DATASETS))}"
        ) from None
