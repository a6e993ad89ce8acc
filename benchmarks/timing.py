"""Shared by every benchmark suite: timing (warm-up, repeats, median), ratios, machine facts, data and models."""

from __future__ import annotations

import importlib.metadata
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from _bootstrap import REPO  # noqa: E402  (first: puts the repository on sys.path)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from semcom.codecs.learned import LearnedCodec, LearnedCodecConfig  # noqa: E402
from semcom.codecs.networks import DigitClassifier  # noqa: E402
from semcom.data import load_dataset  # noqa: E402
from semcom.evaluation import CodecUnderTest  # noqa: E402



# `semcom run|train scenarios/...` (or `python -m semcom[.app.cli] ...`): a training or sweep on the same cores
TRAINING_PATTERN = r"semcom(\.app\.cli)? (run|train) scenarios/"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def timed(fn: Callable[[], object], *, repeats: int, warmup: int, sync: Callable[[], None] | None = None) -> dict:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times; median and all times (s)."""
    for _ in range(warmup):
        fn()
        if sync:
            sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "times_s": times,
            "repeats": repeats, "warmup": warmup}


def ratio(baseline_s: float, value_s: float) -> float:
    """Speedup of ``value`` over ``baseline`` (> 1: faster than the baseline)."""
    return baseline_s / value_s if value_s > 0 else math.inf


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def training_running() -> bool:
    try:
        out = subprocess.run(["pgrep", "-f", TRAINING_PATTERN], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return False
    own = {str(os.getpid())}
    return any(pid.strip() and pid.strip() not in own for pid in out.stdout.splitlines())


def machine_info() -> dict:
    gpu = None
    if torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(0)
    try:
        commpy_version = importlib.metadata.version("scikit-commpy")
    except Exception:  # noqa: BLE001
        commpy_version = None
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable_cores(),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scikit_commpy": commpy_version,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "gpu": gpu,
        "niceness": os.nice(0),
        "loadavg_at_start": list(os.getloadavg()),
        "competing_training_run": training_running(),
    }


def host_kind(info: dict) -> str:
    if info["gpu"]:
        return "cuda-" + "".join(c if c.isalnum() else "-" for c in info["gpu"].lower()).strip("-")
    return f"cpu{info['usable_cores']}"


def fmt_rate(bits_per_s: float) -> str:
    return f"{bits_per_s / 1e6:,.0f} Mbit/s" if bits_per_s >= 1e7 else f"{bits_per_s / 1e6:,.2f} Mbit/s"


def default_data_dir() -> Path:
    env = os.environ.get("SEMCOM_TEST_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data" / "mnist"


def load_test_images(data_dir: Path, limit: int) -> tuple[torch.Tensor, np.ndarray, str]:
    ds = load_dataset("mnist", path=data_dir)
    x, y = ds.test_images, ds.test_labels
    if limit:
        x, y = x[:limit], y[:limit]
    images = torch.from_numpy(np.ascontiguousarray(x)).float().div_(255.0).unsqueeze(1)
    return images, np.asarray(y, dtype=np.int64), str(ds.source)


def stored_models(scenario, store_dir: Path | None, data_dir: Path):
    """The scenario's classifier and every codec, from the store or the shipped weights; or None.

    Nothing is trained here: a missing model returns (None, why).
    """
    from semcom.app.runner import prepare_data
    from semcom.models.store import ModelStore
    from semcom.models.zoo import stored_classifier, stored_codec

    store = ModelStore(store_dir)  # None: the default store, as semcom run uses; then the shipped weights
    where = f"{store.root} or the shipped weights"
    _, data, _, _ = prepare_data(scenario, data_dir)
    found = stored_classifier(scenario.classifier, data, store)
    if found is None:
        return None, f"no stored classifier for this scenario in {where}"
    classifier, clf_card = found
    cuts = []
    for section in scenario.codec_list:
        found = stored_codec(section, data, clf_card["key"], store)
        if found is None:
            return None, f"no stored codec {section.name!r} for this scenario in {where}"
        codec, card = found
        prior = np.asarray(card["symbol_prior"]) if "symbol_prior" in card else None
        cuts.append(CodecUnderTest(section.name, codec, section.objective, prior, card["key"]))
    keys = ", ".join(c.model_key for c in cuts)
    return (classifier, cuts), f"trained models from {where} ({keys})"


def random_models(images: torch.Tensor, scenario):
    """Table 2 classifier and, per codec of the scenario, a Table 1 codec of its symbol format,
    all randomly initialised (seed 0): the cost of a sweep does not depend on the weights."""
    from semcom.models.zoo import symbol_prior

    torch.manual_seed(0)
    classifier = DigitClassifier().eval()
    cuts = []
    for section in scenario.codec_list:
        fmt = section.symbol_format
        codec = LearnedCodec(LearnedCodecConfig(dim=fmt.dim, levels=fmt.levels)).eval()
        prior = symbol_prior(codec, images)  # the erasure policy "mode" needs one
        cuts.append(CodecUnderTest(section.name, codec, section.objective, prior, "random-init"))
    return classifier, cuts
