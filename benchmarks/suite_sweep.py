"""(a) The channel sweep of scenarios/mnist_8bit.toml: tabulated vs direct decoding, distortion table vs per-image MSE."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from _bootstrap import REPO  # noqa: E402  (first: puts the repository on sys.path)


from semcom.evaluation import CodecBench, CodecUnderTest, sweep_points  # noqa: E402
from semcom.transceiver import Reconstructor  # noqa: E402

from timing import log, random_models, ratio, stored_models  # noqa: E402


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
