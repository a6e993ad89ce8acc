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
    step; and evaluation decoding at batch 256 vs 4096 under no_grad vs inference_mode;
(d) bitstream coding in digits/s: entropy coding (range coder, grouped packets) vs the fixed-length packer;
(e) the coded PHY (5G LDPC + QPSK, scenarios/mnist_phy_awgn.toml's SNR sweep, AWGN and Rayleigh): the
    shared error-pattern fast path vs running Sionna once per codec, checked bit for bit and by BLER.

Timing: time.perf_counter, warm-up runs first, median of the repeats. No timing is
asserted anywhere; the numbers are reported, not checked.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from _bootstrap import REPO  # noqa: E402  (first: puts the repository on sys.path)


from semcom.app.scenario import load_scenario  # noqa: E402

from timing import default_data_dir, fmt_rate, host_kind, load_test_images, log, machine_info  # noqa: E402
from suite_channels import section_channels  # noqa: E402
from suite_coding import section_coding  # noqa: E402
from suite_phy import section_phy  # noqa: E402
from suite_sweep import section_sweep  # noqa: E402
from suite_training import MODELS, compile_worker, section_training  # noqa: E402


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
                         + "   ".join(f"{k} {v['ratio']:.2f}x" + ("" if v.get("bit_identical", True) else " (bits differ)")
                                    for k, v in d["cases"].items() if k != "256/no_grad"))
    d = result.get("coding")
    if d:
        f = d["fixed"]
        lines.append(f"(d) fixed-length packer: {f['encode']['digits_per_s']:,.0f} digits/s packed, "
                     f"{f['decode']['digits_per_s']:,.0f} unpacked, 8 bits/digit (source entropy "
                     f"{d['source_entropy_bits']:.3f})")
        for key, e in d["entropy"].items():
            lines.append(f"(d) entropy {key} digits/packet: {e['encode']['digits_per_s']:,.0f} digits/s encoded "
                         f"({e['encode']['ratio_vs_fixed']:.3f}x the packer), {e['decode']['digits_per_s']:,.0f} "
                         f"decoded ({e['decode']['ratio_vs_fixed']:.3f}x); {e['payload_bits_per_digit']:.3f} "
                         f"bits/digit payload, {e['bits_per_digit_with_headers']:.3f} with headers")
    e = result.get("phy")
    if e:
        bx, bl = e["bit_exact_check"], e["bler_check"]
        exact = "yes" if bx["identical"] else f"NO ({len(bx['mismatches'])} of {bx['n_points']} points differ)"
        agree = "yes" if bl["agree"] else f"NO ({len(bl['mismatches'])} of {bl['n_points']} points outside)"
        cw = e["codewords_simulated"]
        lines.append(f"(e) coded PHY, {e['n_codecs']} codecs x {e['n_points']} points x {e['n_digits']:,} digits "
                     f"({e['codewords_per_point']} codewords/point):   "
                     f"Sionna per codec {e['baseline']['median_s']:.2f} s   "
                     f"shared pattern {e['measurement']['median_s']:.2f} s   {e['speedup']:.2f}x   "
                     f"(codewords simulated {cw['direct']:,} vs {cw['fast']:,})")
        first = sum(r["fast_first_codec_s"] for r in e["points"])
        others = sum(r["fast_other_codecs_s"] for r in e["points"])
        lines.append(f"(e) fast path: first codec {first:.2f} s, the other {e['n_codecs'] - 1} {others:.3f} s;   "
                     f"bit-exact vs coupled direct: {exact} ({bx['n_points']} points x {e['n_codecs']} codecs);   "
                     f"BLER within {bl['z']:g} sd at every point: {agree}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: 2,000 images, 5 sweep points, 10^6 bits, "
                                                         "3 timed steps, no torch.compile")
    ap.add_argument("--out", help="JSON file (default benchmarks/results/<host kind>-<date>[-quick].json)")
    ap.add_argument("--data", help="MNIST folder (default $SEMCOM_TEST_DATA or <repo>/../shared/data/mnist)")
    ap.add_argument("--store", help="model store: use the scenario's stored codec and classifier if found")
    ap.add_argument("--scenario", default=str(REPO / "scenarios" / "mnist_8bit.toml"))
    ap.add_argument("--sections", default="abcde", help="which sections to run, e.g. 'ab' (default abcde)")
    ap.add_argument("--images", type=int, default=0, help="override the number of test images (a, c decode) "
                                                          "and of digits per codec (e)")
    ap.add_argument("--points", type=int, default=0, help="keep only the first N sweep points of each codec "
                                                          "(a) or coded settings (e)")
    ap.add_argument("--codecs", type=int, default=0, help="codecs sharing each coded point in (e) (default 3)")
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
    if "d" in args.sections:
        result["coding"] = section_coding(args)
    if "e" in args.sections:
        result["phy"] = section_phy(args)
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
    raise SystemExit(main())
