#!/usr/bin/env python
"""semcom benchmarks: every speed number is a ratio against a baseline timed in the same run.

    python benchmarks/run.py [--quick] [--out benchmarks/results/NAME.json] [--data FOLDER] [--store DIR]

Sections (see benchmarks/README.md):

(a) the default channel sweep of scenarios/mnist_8bit.toml, with the Reconstructor's codebook
    table (tabulated) vs batched direct decoding of every received digit;
(b) channel throughput in bits/s: our BSC and BPSK/AWGN hard decisions vs scikit-commpy
    (or, when commpy cannot be imported, a plain-numpy reference), plus single-core BSC;
(c) training throughput (images/s) of the Table 1 models at batch 64: MSE step, WGAN-GP step
    with the image critic and with the four Haar critics; variants channels_last, bfloat16
    autocast (the training option precision = "bf16") and torch.compile vs the plain float32
    step; and evaluation decoding at batch 256 vs 4096 under no_grad vs inference_mode.

Timing: time.perf_counter, warm-up runs first, median of the repeats. No timing is
asserted anywhere; the numbers are reported, not checked.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import importlib.metadata
import json
import math
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import channels  # noqa: E402
from semcom.codecs.haar import BANDS  # noqa: E402
from semcom.codecs.learned import LearnedCodec, LearnedCodecConfig  # noqa: E402
from semcom.codecs.networks import DigitClassifier  # noqa: E402
from semcom.data import load_dataset  # noqa: E402
from semcom.evaluation import CodecBench, CodecUnderTest, sweep_points  # noqa: E402
from semcom.transceiver import Reconstructor  # noqa: E402
from semcom.app.scenario import load_scenario  # noqa: E402
from semcom.models.training.adversarial import PRESETS, CriticSet, adversarial_step, make_optimizers  # noqa: E402
from semcom.models.training.common import TrainConfig  # noqa: E402

BATCH = 64
COMPILE_LIMIT_S = 120.0
TRAINING_PATTERN = "semcom.app.cli run scenarios/mnist_8bit"


# ----------------------------------------------------------------------------- helpers


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


# ----------------------------------------------------------------------------- data and models


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


# ----------------------------------------------------------------------------- (a) sweep


def _rows_compare(tab_rows: list[dict], dir_rows: list[dict]) -> dict:
    exact = ("codec", "channel", "seed", "n_images", "accuracy", "macro_f1", "bit_error_rate",
             "bit_erasure_rate", "symbol_erasure_rate", "entropy_joint_bits", "entropy_marginal_bits",
             "payload_bits")
    mismatches = []
    max_dmse = 0.0
    max_dacc = 0.0
    for t, d in zip(tab_rows, dir_rows):
        dmse = abs(t["mse"] - d["mse"])
        max_dmse = max(max_dmse, dmse)
        max_dacc = max(max_dacc, abs(t["accuracy"] - d["accuracy"]))
        bad = [k for k in exact if t.get(k) != d.get(k)]
        if dmse > 1e-6:
            bad.append("mse")
        if bad:
            mismatches.append({"point": f"{t['channel']} seed {t['seed']}", "fields": bad,
                               "tabulated": {k: t.get(k) for k in bad if k != "mse"} | {"mse": t["mse"]},
                               "direct": {k: d.get(k) for k in bad if k != "mse"} | {"mse": d["mse"]}})
    return {"identical": not mismatches and len(tab_rows) == len(dir_rows), "n_rows": len(tab_rows),
            "max_abs_mse_diff": max_dmse, "max_abs_accuracy_diff": max_dacc, "mismatches": mismatches}


def section_sweep(args, scenario, images, labels) -> dict:
    models, note = stored_models(scenario, Path(args.store) if args.store else None, Path(args.data))
    if models is None:
        log(f"(a) {note}; using random weights")
        note = f"random weights ({note}); timing only, the accuracies are meaningless"
        classifier, cuts = random_models(images, scenario)
    else:
        classifier, cuts = models
    seeds = list(scenario.seeds)
    all_points = sweep_points([c.name for c in cuts], scenario.channels, seeds, scenario.links)
    if args.quick:  # one seed, every other channel point
        all_points = [p for p in all_points if p.seed == seeds[0]][::2]
    if args.points:
        all_points = [p for c in cuts for p in [q for q in all_points if q.codec == c.name][: args.points]]
    policy, mapping = scenario.receiver.erasure_policy, scenario.receiver.mapping
    n_examples = scenario.output.examples

    def sweep(chosen: list[CodecUnderTest], **bench_options) -> tuple[float, list[dict], list[float], float]:
        """Time one whole sweep as semcom run does it: each codec's bench, then its points."""
        t0 = time.perf_counter()
        rows, per_point, setup = [], [], 0.0
        for cut in chosen:
            t_bench = time.perf_counter()
            bench = CodecBench(cut, classifier, images, labels, erasure_policy=policy, mapping=mapping,
                               **bench_options)
            setup += time.perf_counter() - t_bench
            for p in all_points:
                if p.codec == cut.name:
                    r = bench.run(p, n_examples if p.seed == seeds[0] else 0).row
                    rows.append(r)
                    per_point.append(r["seconds"])
        return time.perf_counter() - t0, rows, per_point, setup

    def measure(label: str, chosen: list[CodecUnderTest], reps: int, **bench_options) -> dict:
        totals, setups, rows, per_point = [], [], [], []
        for _ in range(reps):
            total, rows, per_point, setup = sweep(chosen, **bench_options)
            totals.append(total)
            setups.append(setup)
            log(f"(a) {label}: {total:.2f} s")
        return {"median_s": statistics.median(totals), "times_s": totals, "repeats": reps,
                "setup_median_s": statistics.median(setups), "per_point_median_s": statistics.median(per_point),
                "rows": rows}

    # warm-up: one point each way (thread pools, allocator, first-call costs)
    for options in ({"tabulate": True}, {"tabulate": True, "distortion_limit": 0}, {"tabulate": False}):
        CodecBench(cuts[0], classifier, images[:512], labels[:512], erasure_policy=policy, mapping=mapping,
                   **options).run(all_points[0])

    first = cuts[0]
    fmt = first.codec.symbol_format
    n_first = sum(p.codec == first.name for p in all_points)
    log(f"(a) {len(all_points)} sweep points ({len(cuts)} codecs) x {len(labels)} images; {note}")
    out: dict = {"scenario": str(scenario.source.relative_to(REPO)) if scenario.source.is_relative_to(REPO)
                 else str(scenario.source), "n_images": len(labels), "n_points": n_first,
                 "seeds": sorted({p.seed for p in all_points}),
                 "channels": list(dict.fromkeys(p.setting for p in all_points)),
                 "codec": {"name": first.name, "dim": fmt.dim, "levels": fmt.levels,
                           "codebook_size": fmt.codebook_size, "weights": note},
                 "erasure_policy": policy, "mapping": mapping,
                 "timing_scope": "whole sweep: CodecBench construction (encoding the test set, building the "
                                 "tables) + every point (channel draw, receive, reconstruct, classify, metrics)"}

    # (a1) one codec: codebook table vs decoding every received digit
    tab = measure(f"{first.name} tabulated", [first], args.sweep_repeats_tab, tabulate=True)
    direct = measure(f"{first.name} direct", [first], args.sweep_repeats, tabulate=False)
    rec = Reconstructor(first.codec, classifier, tabulate=True)
    t0 = time.perf_counter()
    rec.codebook()
    out["table_build_s"] = time.perf_counter() - t0  # the one-off table build, on its own
    cmp = _rows_compare(tab["rows"], direct["rows"])
    out["rows_check"] = cmp
    out["rows"] = [{k: v for k, v in r.items() if k in ("channel", "seed", "accuracy", "mse", "bit_error_rate")}
                   for r in tab.pop("rows")]
    direct.pop("rows")
    out["baseline"] = {"name": "direct (CodecBench(tabulate=False))", **direct}
    out["measurement"] = {"name": "tabulated (CodecBench(tabulate=True))", **tab}
    out["speedup"] = ratio(direct["median_s"], tab["median_s"])

    # (a2) every codec of the scenario: distortion table vs codebook images + per-image MSE
    full = measure("whole scenario, distortion table", cuts, args.sweep_repeats_tab, tabulate=True)
    lookup = measure("whole scenario, codebook images + per-image MSE", cuts, args.sweep_repeats_tab,
                     tabulate=True, distortion_limit=0)
    whole_cmp = _rows_compare(full.pop("rows"), lookup.pop("rows"))
    out["whole_scenario"] = {
        "codecs": [c.name for c in cuts], "n_points": len(all_points),
        "baseline": {"name": "codebook table, reconstructions gathered and per-image MSE computed per point "
                             "(CodecBench(distortion_limit=0); semcom 0.x before the distortion table)", **lookup},
        "measurement": {"name": "codebook table + (image x codeword) distortion table (CodecBench default)",
                        **full},
        "speedup": ratio(lookup["median_s"], full["median_s"]), "rows_check": whole_cmp,
        "target_s": 10.0}
    for label, c in (("(a1) tabulated vs direct", cmp), ("(a2) distortion table vs per-image MSE", whole_cmp)):
        if not c["identical"]:
            log("!" * 78)
            log(f"!!! {label} MISMATCH: metric rows differ at {len(c['mismatches'])} points")
            for m in c["mismatches"][:10]:
                log(f"!!!   {m}")
            log("!" * 78)
    return out


# ----------------------------------------------------------------------------- (b) channels


@contextlib.contextmanager
def single_core():
    """Pin this process to one core (and torch to one thread) for the duration."""
    old_aff = os.sched_getaffinity(0)
    old_threads = torch.get_num_threads()
    os.sched_setaffinity(0, {min(old_aff)})
    torch.set_num_threads(1)
    try:
        yield min(old_aff)
    finally:
        os.sched_setaffinity(0, old_aff)
        torch.set_num_threads(old_threads)


def section_channels(args) -> dict:
    n = args.bits or (10**6 if args.quick else 10**7)
    p, ebn0_db = 0.01, 4.0
    rng = np.random.default_rng(12345)
    bits = rng.integers(0, 2, n, dtype=np.uint8)
    bsc, awgn = channels.BinarySymmetric(p), channels.AWGN(ebn0_db)
    sigma = awgn.noise_std
    reps, warm = (3, 1) if args.quick else (5, 1)

    try:
        import commpy.channels as cc

        peer_name = "scikit-commpy " + importlib.metadata.version("scikit-commpy")
    except Exception as exc:  # noqa: BLE001
        cc = None
        peer_name = "plain numpy (scikit-commpy unavailable: " + type(exc).__name__ + ")"
        log(f"(b) scikit-commpy cannot be imported ({exc!r}); the peer is the plain-numpy reference")

    # commpy's awgn(signal, snr_dB, rate) gives a REAL signal noise of variance
    # Es / (rate * 10^(snr_dB/10)), i.e. snr_dB is Es/sigma^2 = 2 Es/N0. For BPSK with Es = Eb
    # the same noise as our AWGN(ebn0_db) is snr_dB = ebn0_db + 10 log10(2).
    commpy_snr_db = ebn0_db + 10 * math.log10(2.0)

    def ours_bsc(b=bits):
        return bsc(b, rng).bits

    def ours_awgn(b=bits):
        return awgn(b, rng).bits

    def numpy_bsc(b=bits):
        return b ^ (rng.random(b.size) < p)

    def numpy_awgn(b=bits):
        return ((b * -2.0 + 1.0 + sigma * rng.standard_normal(b.size)) < 0).astype(np.uint8)

    peers: dict[str, Callable] = {}
    if cc is not None:
        peers["bsc"] = lambda b=bits: cc.bsc(b, p)
        peers["awgn"] = lambda b=bits: (cc.awgn(1.0 - 2.0 * b, commpy_snr_db, 1.0) < 0).astype(np.uint8)
    else:
        peers["bsc"], peers["awgn"] = numpy_bsc, numpy_awgn

    def run_case(kind: str, ours: Callable, peer: Callable, ref: Callable, expected_ber: float) -> dict:
        # the peer may be far slower (commpy's awgn sums the signal energy with Python's builtin
        # sum): probe it on 10^5 bits and, if a full call would take > 15 s, time it on fewer bits
        probe = bits[: min(n, 10**5)]
        t0 = time.perf_counter()
        peer(probe)
        est = (time.perf_counter() - t0) * n / probe.size
        n_peer = n if est < 15.0 else max(10**5, int(n * 15.0 / est) // 10**5 * 10**5)
        peer_bits = bits[:n_peer]
        res = {"n_bits": n, "expected_ber": expected_ber}
        for name, fn, arr in (("ours", ours, bits), ("peer", peer, peer_bits), ("numpy_reference", ref, bits)):
            t = timed(lambda fn=fn, arr=arr: fn(arr), repeats=reps, warmup=warm)
            got = fn(arr)
            res[name] = {**t, "n_bits": int(arr.size), "bits_per_s": arr.size / t["median_s"],
                         "measured_ber": float(np.count_nonzero(got != arr)) / arr.size}
        res["peer"]["name"] = peer_name
        res["peer"]["scaled_from_fewer_bits"] = n_peer < n
        res["numpy_reference"]["name"] = "plain numpy one-liner"
        res["baseline"] = "peer"
        res["ratio_vs_peer"] = res["ours"]["bits_per_s"] / res["peer"]["bits_per_s"]
        res["ratio_vs_numpy_reference"] = res["ours"]["bits_per_s"] / res["numpy_reference"]["bits_per_s"]
        log(f"(b) {kind}: ours {fmt_rate(res['ours']['bits_per_s'])}, peer {fmt_rate(res['peer']['bits_per_s'])}"
            + (f" (timed on {n_peer:,} bits)" if n_peer < n else ""))
        return res

    out = {"peer": peer_name,
           "notes": ["ours: channels.BinarySymmetric / channels.AWGN called as channel(bits, rng): includes "
                     "input validation and the defensive uint8 copy; BSC flips positions drawn by geometric "
                     "gaps (O(n p) random numbers), AWGN draws one normal per bit in cache-sized chunks",
                     "commpy bsc: one uniform per bit from numpy's legacy global RandomState, boolean-mask XOR",
                     "commpy awgn: called on BPSK symbols 1-2b with snr_dB = Eb/N0 + 3.01 dB (its real-signal "
                     "convention), then hard decision y < 0; modulation and decision are inside the timing",
                     "numpy reference: bits ^ (rng.random(n) < p) and (1-2b + sigma*N(0,1)) < 0",
                     "these numpy ops are single-threaded; torch threads do not matter here"],
           "bsc": {"p": p, **run_case("BSC", ours_bsc, peers["bsc"], numpy_bsc, p)},
           "awgn": {"ebn0_db": ebn0_db, "commpy_snr_db": commpy_snr_db,
                    **run_case("AWGN", ours_awgn, peers["awgn"], numpy_awgn, awgn.bit_error_rate())}}
    # single core: pin the process to one CPU
    with single_core() as cpu:
        sc = {"cpu": cpu}
        for name, fn in (("ours", ours_bsc), ("peer", peers["bsc"]), ("numpy_reference", numpy_bsc)):
            t = timed(fn, repeats=reps, warmup=warm)
            sc[name] = {**t, "bits_per_s": n / t["median_s"]}
        sc["ratio_vs_peer"] = sc["ours"]["bits_per_s"] / sc["peer"]["bits_per_s"]
        sc["ratio_vs_multi_core_ours"] = sc["ours"]["bits_per_s"] / out["bsc"]["ours"]["bits_per_s"]
    out["bsc_single_core"] = sc
    return out


# ----------------------------------------------------------------------------- (c) training


MODELS = {
    "mse": "MSE step: LearnedCodec + Adam + MSE backward (as train_codec)",
    "wgan": "WGAN-GP step, image critic (PRESETS['wgan']), critic_steps=1, gp_lambda=10",
    "haar": "WGAN-GP step, four Haar critics (PRESETS['NA2']), critic_steps=1, gp_lambda=10",
}


def build_step(model: str, device: torch.device, channels_last: bool = False, compile_: str = "none",
               precision: str = "fp32"):
    """A closure running one training step on a batch; built from the project's own pieces.

    ``precision = "bf16"`` runs it under bfloat16 autocast, as ``TrainConfig(precision="bf16")`` does.
    """
    if precision != "fp32":
        inner = build_step(model, device, channels_last, compile_)
        autocast = TrainConfig(precision=precision).autocast  # the context train_codec runs its steps in

        def autocast_step(x):
            with autocast(device):
                return inner(x)

        return autocast_step
    torch.manual_seed(0)
    codec = LearnedCodec(LearnedCodecConfig(dim=4, levels=4)).to(device).train()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    if model == "mse":
        opt = torch.optim.Adam(codec.parameters(), lr=0.0025)
        codec.decoder.to(memory_format=fmt)
        net = torch.compile(codec) if compile_ != "none" else codec

        def step(x):
            loss = F.mse_loss(net(x), x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss.item()  # train_codec reads the loss every step

        return step
    bands = ["image"] if model == "wgan" else list(BANDS)
    weights = PRESETS["wgan"] if model == "wgan" else PRESETS["NA2"]
    critics = CriticSet(bands).to(device)
    opt_gen, opt_critic = make_optimizers(codec, critics, 0.0025, 0.0002)
    codec.decoder.to(memory_format=fmt)
    critics.to(memory_format=fmt)
    net = codec
    if compile_ in ("all", "codec"):
        net = torch.compile(codec)
    if compile_ == "all":
        # the gradient penalty back-propagates twice through the critics (create_graph=True),
        # which AOTAutograd's donated buffers refuse
        torch._functorch.config.donated_buffer = False
        for b in list(critics.critics):
            critics.critics[b] = torch.compile(critics.critics[b])

    def step(x):
        return adversarial_step(net, critics, opt_gen, opt_critic, x, weights, critic_steps=1, gp_lambda=10.0)

    return step


def time_steps(step, batches: list[torch.Tensor], *, warmup: int, steps: int, device: torch.device) -> dict:
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    it = iter(range(10**9))

    def one():
        step(batches[next(it) % len(batches)])

    t = timed(one, repeats=steps, warmup=warmup, sync=sync)
    t["images_per_s"] = BATCH / t["median_s"]
    return t


def make_batches(images: torch.Tensor, device: torch.device, channels_last: bool) -> list[torch.Tensor]:
    n = max(1, min(8, len(images) // BATCH))
    out = []
    for i in range(n):
        x = images[i * BATCH : (i + 1) * BATCH].to(device)
        out.append(x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous())
    return out


def compile_worker(spec: dict) -> dict:
    """Runs in a child process (so a slow compile can be abandoned): eager and compiled steps."""
    device = torch.device(spec["device"])
    images = torch.rand(8 * BATCH, 1, 28, 28)
    batches = make_batches(images, device, False)
    eager = time_steps(build_step(spec["model"], device), batches, warmup=spec["warmup"], steps=spec["steps"],
                       device=device)
    out = {"eager": eager, "attempts": []}
    modes = ["codec"] if spec["model"] == "mse" else ["all", "codec"]
    for mode in modes:
        what = "codec and critics" if mode == "all" else "codec"
        try:
            step = build_step(spec["model"], device, compile_=mode)
            t0 = time.perf_counter()
            step(batches[0])  # compiles
            if device.type == "cuda":
                torch.cuda.synchronize()
            compile_s = time.perf_counter() - t0
            if compile_s > COMPILE_LIMIT_S:
                out["attempts"].append({"compiled": what, "status": "unavailable",
                                        "error": f"compile took {compile_s:.0f} s > {COMPILE_LIMIT_S:.0f} s"})
                break
            t = time_steps(step, batches, warmup=spec["warmup"], steps=spec["steps"], device=device)
            out["attempts"].append({"compiled": what, "status": "ok", "compile_s": compile_s, **t,
                                    "ratio_vs_eager_same_process": eager["median_s"] / t["median_s"]})
            break
        except Exception as exc:  # noqa: BLE001
            out["attempts"].append({"compiled": what, "status": "unavailable", "error": type(exc).__name__,
                                    "detail": str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""})
    return out


def run_compile(model: str, device: torch.device, warmup: int, steps: int) -> dict:
    spec = {"model": model, "device": str(device), "warmup": warmup, "steps": steps}
    budget = COMPILE_LIMIT_S * (2 if model != "mse" else 1) + 120
    try:
        proc = subprocess.run([sys.executable, __file__, "--compile-worker", json.dumps(spec)],
                              capture_output=True, text=True, timeout=budget, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"status": "unavailable", "error": f"TimeoutExpired (compile + timing > {budget:.0f} s)"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or [""])[-1][:300]
        return {"status": "unavailable", "error": f"worker exit {proc.returncode}", "detail": tail}
    return json.loads(lines[-1])


def section_training(args, images: torch.Tensor) -> dict:
    steps = args.steps or (3 if args.quick else 5)
    warmup = 1 if args.quick else 2
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    out: dict = {"batch": BATCH, "steps": steps, "warmup": warmup, "models": MODELS,
                 "baseline": "float32, contiguous memory format, eager", "devices": {}}
    for device in devices:
        dev: dict = {}
        for model in MODELS:
            base = time_steps(build_step(model, device), make_batches(images, device, False),
                              warmup=warmup, steps=steps, device=device)
            entry = {"baseline": base, "variants": {}}
            cl = time_steps(build_step(model, device, channels_last=True), make_batches(images, device, True),
                            warmup=warmup, steps=steps, device=device)
            entry["variants"]["channels_last"] = {**cl, "ratio": base["median_s"] / cl["median_s"]}
            bf = time_steps(build_step(model, device, precision="bf16"), make_batches(images, device, False),
                            warmup=warmup, steps=steps, device=device)
            entry["variants"]["bf16_autocast"] = {**bf, "ratio": base["median_s"] / bf["median_s"]}
            if args.quick or args.no_compile:
                entry["variants"]["torch.compile"] = {"status": "skipped",
                                                      "why": "--quick" if args.quick else "--no-compile"}
            else:
                log(f"(c) {device.type} {model}: torch.compile (child process, limit {COMPILE_LIMIT_S:.0f} s)")
                res = run_compile(model, device, warmup, steps)
                ok = [a for a in res.get("attempts", []) if a["status"] == "ok"]
                if ok:
                    entry["variants"]["torch.compile"] = {
                        **ok[0], "ratio": base["median_s"] / ok[0]["median_s"],
                        "eager_in_child": res["eager"], "failed_attempts": [a for a in res["attempts"]
                                                                            if a["status"] != "ok"]}
                else:
                    entry["variants"]["torch.compile"] = {"status": "unavailable",
                                                          "attempts": res.get("attempts"), **{
                                                              k: v for k, v in res.items() if k != "attempts"}}
            log(f"(c) {device.type} {model}: {base['images_per_s']:.0f} img/s, channels_last "
                f"{entry['variants']['channels_last']['ratio']:.2f}x, bf16 autocast "
                f"{entry['variants']['bf16_autocast']['ratio']:.2f}x")
            dev[model] = entry
        dev["eval_decode"] = section_decode(args, device)
        out["devices"][device.type] = dev
    return out


def section_decode(args, device: torch.device) -> dict:
    n = args.images or (2000 if args.quick else 10000)
    torch.manual_seed(0)
    codec = LearnedCodec(LearnedCodecConfig(dim=4, levels=4)).to(device).eval()
    idx = torch.from_numpy(np.random.default_rng(0).integers(0, 4, (n, 4))).to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    reps, warm = (2, 1) if args.quick else (3, 1)

    def decode_all(bs: int, mode: str):
        ctx = torch.inference_mode() if mode == "inference_mode" else torch.no_grad()
        with ctx:
            return torch.cat([codec.decode(idx[i : i + bs]) for i in range(0, n, bs)])

    cases = [(256, "no_grad"), (4096, "no_grad"), (256, "inference_mode"), (4096, "inference_mode")]
    res = {"n_images": n, "baseline": "batch 256 under torch.no_grad()", "cases": {}}
    for bs, mode in cases:
        t = timed(lambda bs=bs, mode=mode: decode_all(bs, mode), repeats=reps, warmup=warm, sync=sync)
        res["cases"][f"{bs}/{mode}"] = {**t, "batch": bs, "mode": mode, "images_per_s": n / t["median_s"]}
    base = res["cases"]["256/no_grad"]["median_s"]
    for c in res["cases"].values():
        c["ratio"] = base / c["median_s"]
    log(f"(c) {device.type} decode: " + ", ".join(f"{k} {v['ratio']:.2f}x" for k, v in res["cases"].items()))
    return res


# ----------------------------------------------------------------------------- report


def report_lines(result: dict) -> list[str]:
    m = result["machine"]
    lines = [f"semcom benchmarks — {m['cpu_model']}, {m['usable_cores']} cores, torch {m['torch']} "
             f"({m['torch_threads']} threads)" + (f", GPU {m['gpu']}" if m["gpu"] else "")
             + (" [--quick]" if result["args"]["quick"] else "")]
    if m["competing_training_run"]:
        lines.append(f"  note: a training run was using the CPU (load average {m['loadavg_at_start'][0]:.1f}); "
                     f"this run had niceness {m['niceness']}: absolute numbers are depressed, ratios less so")
    a = result.get("sweep")
    if a:
        same = "yes" if a["rows_check"]["identical"] else f"NO ({len(a['rows_check']['mismatches'])} differ)"
        weights = a["codec"]["weights"].split(" (")[0]
        lines.append(f"(a) {a['codec']['name']} sweep, {a['n_images']} images, {a['n_points']} points:   "
                     f"direct {a['baseline']['median_s']:.2f} s   tabulated {a['measurement']['median_s']:.2f} s   "
                     f"{a['speedup']:.1f}x   (rows identical: {same}; {weights})")
        w = a.get("whole_scenario")
        if w:
            same = "yes" if w["rows_check"]["identical"] else f"NO ({len(w['rows_check']['mismatches'])} differ)"
            lines.append(f"(a) whole scenario, {len(w['codecs'])} codecs x {a['n_images']} images, "
                         f"{w['n_points']} points:   per-image MSE {w['baseline']['median_s']:.2f} s   "
                         f"distortion table {w['measurement']['median_s']:.2f} s   {w['speedup']:.1f}x   "
                         f"(target < {w['target_s']:.0f} s; rows identical: {same})")
    b = result.get("channels")
    if b:
        peer = "commpy" if b["peer"].startswith("scikit-commpy") else "numpy"
        for key, label in (("bsc", f"BSC p={b['bsc']['p']}"), ("awgn", f"AWGN Eb/N0={b['awgn']['ebn0_db']:g} dB")):
            c = b[key]
            scaled = f" (on {c['peer']['n_bits']:,} bits)" if c["peer"]["scaled_from_fewer_bits"] else ""
            lines.append(f"(b) {label}:  ours {fmt_rate(c['ours']['bits_per_s'])}   {peer} "
                         f"{fmt_rate(c['peer']['bits_per_s'])}{scaled}   {c['ratio_vs_peer']:.1f}x   "
                         f"[numpy one-liner {fmt_rate(c['numpy_reference']['bits_per_s'])}, "
                         f"{c['ratio_vs_numpy_reference']:.1f}x]   BER {c['ours']['measured_ber']:.4f}/"
                         f"{c['peer']['measured_ber']:.4f}")
        sc = b["bsc_single_core"]
        lines.append(f"(b) BSC single core:  ours {fmt_rate(sc['ours']['bits_per_s'])}   {peer} "
                     f"{fmt_rate(sc['peer']['bits_per_s'])}   {sc['ratio_vs_peer']:.1f}x   "
                     f"(numpy ops single-threaded anyway)")
    c = result.get("training")
    if c:
        for dname, dev in c["devices"].items():
            for model in MODELS:
                e = dev[model]
                v = e["variants"]
                comp = v["torch.compile"]
                if "ratio" in comp:
                    ctext = f"compile {comp['ratio']:.2f}x ({comp['compiled']}, {comp['compile_s']:.0f} s to compile)"
                elif comp.get("status") == "skipped":
                    ctext = f"compile skipped ({comp['why']})"
                else:
                    errs = [a.get("error", "?") for a in comp.get("attempts") or []] or [comp.get("error", "?")]
                    ctext = "compile unavailable (" + ", ".join(errs) + ")"
                lines.append(f"(c) {dname} {model:4s} batch {c['batch']}: {e['baseline']['images_per_s']:7.0f} img/s   "
                             f"channels_last {v['channels_last']['ratio']:.2f}x   "
                             f"bf16 autocast {v['bf16_autocast']['ratio']:.2f}x   {ctext}")
            d = dev["eval_decode"]
            lines.append(f"(c) {dname} decode {d['n_images']} images vs batch 256/no_grad "
                         f"({d['cases']['256/no_grad']['images_per_s']:.0f} img/s): "
                         + "   ".join(f"{k} {v['ratio']:.2f}x" for k, v in d["cases"].items() if k != "256/no_grad"))
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: 2,000 images, 5 sweep points, 10^6 bits, "
                                                         "3 timed steps, no torch.compile")
    ap.add_argument("--out", help="JSON file (default benchmarks/results/<host kind>-<date>[-quick].json)")
    ap.add_argument("--data", help="MNIST folder (default $SEMCOM_TEST_DATA or <repo>/../shared/data/mnist)")
    ap.add_argument("--store", help="model store: use the scenario's stored codec and classifier if found")
    ap.add_argument("--scenario", default=str(REPO / "scenarios" / "mnist_8bit.toml"))
    ap.add_argument("--sections", default="abc", help="which sections to run, e.g. 'ab' (default abc)")
    ap.add_argument("--images", type=int, default=0, help="override the number of test images (a, c decode)")
    ap.add_argument("--points", type=int, default=0, help="keep only the first N sweep points of each codec")
    ap.add_argument("--bits", type=int, default=0, help="override the number of bits in (b)")
    ap.add_argument("--steps", type=int, default=0, help="override the number of timed training steps")
    ap.add_argument("--sweep-repeats", type=int, default=1, help="timed repeats of the direct sweep (default 1)")
    ap.add_argument("--sweep-repeats-tab", type=int, default=5, help="timed repeats of the tabulated sweep")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile in (c)")
    ap.add_argument("--compile-worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.compile_worker:
        print(json.dumps(compile_worker(json.loads(args.compile_worker))), flush=True)
        return 0

    args.data = args.data or str(default_data_dir())
    info = machine_info()
    started = _dt.datetime.now(_dt.timezone.utc)
    if info["competing_training_run"] and not args.quick:
        log("warning: a training run is using the CPU; timings will be depressed (use --quick while it runs)")
    result: dict = {"tool": "benchmarks/run.py", "date": started.isoformat(timespec="seconds"),
                    "command": shlex.join([Path(sys.executable).name, *sys.argv]),
                    "args": {k: v for k, v in vars(args).items() if k != "compile_worker"}, "machine": info}
    try:
        result["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                              cwd=REPO, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        result["git_commit"] = None

    t_all = time.perf_counter()
    images = labels = None
    if "a" in args.sections or "c" in args.sections:
        n_img = args.images or (2000 if args.quick else 0)
        images, labels, source = load_test_images(Path(args.data), n_img)
        result["data"] = {"source": source, "n_test_images": len(labels)}
    if "a" in args.sections:
        scenario = load_scenario(args.scenario)
        result["sweep"] = section_sweep(args, scenario, images, labels)
    if "b" in args.sections:
        result["channels"] = section_channels(args)
    if "c" in args.sections:
        result["training"] = section_training(args, images)
    result["seconds"] = time.perf_counter() - t_all
    result["machine"]["loadavg_at_end"] = list(os.getloadavg())

    lines = report_lines(result)
    result["table"] = lines
    print("\n".join(lines))
    out = Path(args.out) if args.out else (
        REPO / "benchmarks" / "results" / f"{host_kind(info)}-{started:%Y%m%d}{'-quick' if args.quick else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=float) + "\n")
    os.replace(tmp, out)
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
