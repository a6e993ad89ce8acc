"""(c) Training throughput of the Table 1 models (MSE, WGAN-GP, Haar WGAN-GP; channels_last, bf16, torch.compile) and evaluation decoding."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from _bootstrap import REPO  # noqa: E402  (first: puts the repository on sys.path)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from semcom.codecs.haar import BANDS  # noqa: E402
from semcom.codecs.learned import LearnedCodec, LearnedCodecConfig  # noqa: E402
from semcom.models.training.adversarial import PRESETS, CriticSet, adversarial_step, make_optimizers  # noqa: E402
from semcom.models.training.common import TrainConfig  # noqa: E402

from timing import log, timed  # noqa: E402


BATCH = 64


COMPILE_LIMIT_S = 120.0


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

    # the Reconstructor's batch (32 since 2026-12-03; 256 before): the 25x25x128 activations of a
    # small batch stay in cache. bit_identical says whether a batch size changes any output bit.
    cases = [(256, "no_grad"), (16, "no_grad"), (32, "no_grad"), (64, "no_grad"), (4096, "no_grad"),
             (256, "inference_mode"), (4096, "inference_mode")]
    res = {"n_images": n, "baseline": "batch 256 under torch.no_grad()", "cases": {}}
    reference = decode_all(256, "no_grad")
    for bs, mode in cases:
        t = timed(lambda bs=bs, mode=mode: decode_all(bs, mode), repeats=reps, warmup=warm, sync=sync)
        res["cases"][f"{bs}/{mode}"] = {**t, "batch": bs, "mode": mode, "images_per_s": n / t["median_s"],
                                        "bit_identical": bool(torch.equal(decode_all(bs, mode), reference))}
    base = res["cases"]["256/no_grad"]["median_s"]
    for c in res["cases"].values():
        c["ratio"] = base / c["median_s"]
    log(f"(c) {device.type} decode: " + ", ".join(f"{k} {v['ratio']:.2f}x" for k, v in res["cases"].items()))
    return res
