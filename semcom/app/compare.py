"""``semcom compare``: codecs side by side at equal rate and channel.

For each codec: accuracy, MSE, PSNR (from the scenario's run, mean over seeds), a
perception proxy (sliced Wasserstein distance between the distributions of original
and reconstructed test images, clean channel), the rate actually needed (fixed-length
bits per digit against the entropy-coded rate of the same symbols, at the same
distortion), and encode/decode time per 1,000 images (direct, untabulated; timed as a
benchmark is: a warm-up call, then the median of repeats). Written as compare.md /
compare.csv beside the run's other results; the run's accuracy_vs_mse figure holds every codec.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from semcom.metrics import psnr
from semcom.app.plots import accuracy_vs_mse
from semcom.app.results import write_csv
from semcom.app.runner import RunContext, RunResult
from semcom.models.store import atomic_write_text
from semcom.progress import log


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, n_projections: int = 256, seed: int = 0) -> float:
    """Sliced 1-Wasserstein distance between two equal-size samples of vectors.

    Each random unit direction reduces both samples to 1-D, where W1 is the mean gap
    between sorted values; the result averages over directions. 0 when the two empirical
    distributions coincide, whatever the pairing of samples.
    """
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    if a.shape != b.shape:
        raise ValueError(f"samples must have equal shapes, got {a.shape} and {b.shape}")
    rng = np.random.default_rng(seed)
    dirs = rng.standard_normal((a.shape[1], n_projections))
    dirs /= np.linalg.norm(dirs, axis=0, keepdims=True)
    pa = np.sort(a @ dirs, axis=0)
    pb = np.sort(b @ dirs, axis=0)
    return float(np.abs(pa - pb).mean())


def _timed(fn, *args, repeats: int = 5, warmup: int = 1) -> tuple[float, object]:
    """Median wall time of ``repeats`` calls after ``warmup`` untimed ones, and the last result."""
    out = None
    for _ in range(warmup):
        out = fn(*args)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def entropy_coded_rate(cut, images: torch.Tensor) -> tuple[float, float]:
    """(factorized, joint) entropy-coded payload bits per digit of the clean test symbols, one group each."""
    from semcom.entropy import EntropyModel, GroupedEntropyTransport

    if cut.prior is None or not hasattr(cut.codec, "encode"):
        return math.nan, math.nan
    with torch.no_grad():
        sent = torch.cat([cut.codec.encode(images[i : i + 4096], torch.arange(i, min(i + 4096, len(images))))
                          for i in range(0, len(images), 4096)]).numpy()
    levels = cut.codec.levels
    out = []
    for model in (EntropyModel.factorized(cut.prior, cut.n_train),
                  EntropyModel.joint(cut.train_symbols, levels) if cut.train_symbols is not None else None):
        if model is None:
            out.append(math.nan)
            continue
        _, payload = GroupedEntropyTransport(model, group=len(sent), length_bits=32).pack(sent)
        out.append(payload / len(sent))
    return out[0], out[1]


@torch.no_grad()
def codec_profile(codec, images: torch.Tensor, batch_size: int = 2048) -> dict:
    """Encode/decode wall time per 1,000 images and the clean-channel reconstructions."""
    codec.eval()

    def encode(x):
        return torch.cat([codec.encode(x[i : i + batch_size], torch.arange(i, min(i + batch_size, len(x))))
                          for i in range(0, len(x), batch_size)])

    def decode(idx):
        return torch.cat([codec.decode(idx[i : i + batch_size], torch.arange(i, min(i + batch_size, len(idx))))
                          for i in range(0, len(idx), batch_size)])

    t_enc, idx = _timed(encode, images)
    t_dec, x_hat = _timed(decode, idx)
    per_k = 1000.0 / len(images)
    return {"encode_ms_per_1k": 1e3 * t_enc * per_k, "decode_ms_per_1k": 1e3 * t_dec * per_k, "x_hat": x_hat}


def compare_rows(result: RunResult, ctx: RunContext, channel: str | None = None) -> list[dict]:
    rows = [r for r in result.rows if r["codec"] != "original"]
    channel = channel or next((r["channel"] for r in rows if r["channel_kind"] == "clean"), rows[0]["channel"])
    originals = ctx.test_images.reshape(len(ctx.test_images), -1).numpy()
    out = []
    for i, cut in enumerate(ctx.codecs):
        sel = [r for r in rows if r["codec"] == cut.name and r["channel"] == channel]
        if not sel:
            continue
        log(f"compare: timing {cut.name} ({i + 1} of {len(ctx.codecs)}): encode and decode "
            f"{len(ctx.test_images)} images, 1 warm-up + 5 timed runs each")
        prof = codec_profile(cut.codec, ctx.test_images)
        factorized, joint = entropy_coded_rate(cut, ctx.test_images)
        mse = float(np.mean([float(r["mse"]) for r in sel]))
        out.append({
            "codec": cut.name, "kind": cut.objective, "bits_per_digit": sel[0]["bits_per_digit"],
            "channel": channel, "accuracy": float(np.mean([float(r["accuracy"]) for r in sel])),
            "accuracy_std": float(np.std([float(r["accuracy"]) for r in sel])),
            "mse": mse, "psnr_db": psnr(mse),
            "sliced_wasserstein": sliced_wasserstein(originals, prof["x_hat"].reshape(len(originals), -1).numpy()),
            "encode_ms_per_1k": prof["encode_ms_per_1k"], "decode_ms_per_1k": prof["decode_ms_per_1k"],
            "entropy_coded_bits": factorized, "entropy_coded_joint_bits": joint,
            "entropy_joint_bits": float(sel[0].get("entropy_joint_bits", math.nan)),
            "seeds": len(sel),
        })
    return out


def _bits(v) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def compare_markdown(table: list[dict], original_accuracy: float) -> str:
    lines = [f"Classifier on original images: {100 * original_accuracy:.2f}%. Rates in bits per digit: fixed = "
             "what the fixed-length bitstream sends; entropy-coded = the same symbols range-coded with the codec's "
             "factorized prior / with a joint codeword model (one stream, payload only), at the same distortion.", "",
             "| codec | kind | bits/digit (fixed) | entropy-coded | entropy-coded, joint | channel | accuracy | MSE | "
             "PSNR (dB) | sliced W1 | encode ms/1k | decode ms/1k |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(table, key=lambda r: (r["bits_per_digit"], -r["accuracy"])):
        lines.append(f"| {r['codec']} | {r['kind']} | {r['bits_per_digit']:g} | {_bits(r['entropy_coded_bits'])} | "
                     f"{_bits(r['entropy_coded_joint_bits'])} | {r['channel']} | "
                     f"{100 * r['accuracy']:.2f}% | {r['mse']:.4f} | {r['psnr_db']:.2f} | "
                     f"{r['sliced_wasserstein']:.4f} | {r['encode_ms_per_1k']:.1f} | {r['decode_ms_per_1k']:.1f} |")
    return "\n".join(lines) + "\n"


def write_comparison(result: RunResult, ctx: RunContext, channel: str | None = None,
                     formats: tuple[str, ...] = ("png",)) -> tuple[list[dict], str]:
    table = compare_rows(result, ctx, channel)
    original = next(float(r["accuracy"]) for r in result.rows if r["codec"] == "original")
    text = compare_markdown(table, original)
    write_csv(result.run_dir / "compare.csv", table)
    atomic_write_text(result.run_dir / "compare.md", "# Codec comparison\n\n" + text)
    if table and table[0]["channel"] != "clean":  # the run's own accuracy_vs_mse figure is the clean one
        accuracy_vs_mse(result.rows, result.run_dir / "plots", list(formats), stem="compare_accuracy_vs_mse",
                        setting=table[0]["channel"])
    return table, text
