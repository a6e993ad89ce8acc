"""(e) The coded PHY's shared error-pattern fast path against running Sionna once per codec.

The workload has the shape of scenarios/mnist_phy_awgn.toml's digital side: N codecs (random 8-bit
digits standing for the scenario's three digital codecs; no models) x its coded settings (5G LDPC
k = 256, n = 512, QPSK, CRC-16, Es/N0 -5..20 dB, AWGN and Rayleigh block fading) x one seed.

- Baseline: the direct path. Every codec's codewords are encoded, sent and decoded by Sionna, with
  fresh noise per codec (the link with its shortcut switched off, called as the sweep calls it).
- Measured: the fast path as CodecBench.run uses it. Every codec's rng starts from the same
  (setting, seed) state, so the first codec pays for the all-zero codeword's error pattern (chunks
  of channels.phy._CHUNK codewords, decoded in one call) and the others hit the pattern cache. The
  cache is cleared before every timed repeat, so the first codec's cost is included.

Correctness: (1) bit for bit, at the points where some codewords fail and some pass: the direct path
on each codec's real payload, with the fast path's own noise draw sign-coupled to the codeword,
delivers exactly the fast path's bits and erasures; (2) statistically, with independent noise: at
every point the block error rates of the two sides agree within a binomial band.
"""

from __future__ import annotations

import math
import statistics
import time

from _bootstrap import REPO  # noqa: E402  (first: puts the repository on sys.path)

import numpy as np  # noqa: E402

from channels._base import Received  # noqa: E402
from channels.phy import _CHUNK, CodedLink, _blocks, _chunk_noise, clear_pattern_cache  # noqa: E402
from semcom.sweep import SweepPoint, point_seed  # noqa: E402

from timing import log, ratio  # noqa: E402

SCENARIO = REPO / "scenarios" / "mnist_phy_awgn.toml"
QUICK_SNRS = (-2.5, 1.0, 10.0)  # below the cliff, on the AWGN cliff, in the Rayleigh waterfall
BITS_PER_DIGIT = 8
Z_BAND = 4.0  # half-width of the BLER agreement band, in standard deviations (+ continuity correction)


class DirectLink(CodedLink):
    """The same coded link with the error-pattern shortcut switched off: every call encodes, sends
    and decodes the payload's own codewords with noise drawn from ``rng`` (what 16/64-QAM always do)."""

    @property
    def symmetric(self) -> bool:
        return False


def direct_twin(link: CodedLink) -> DirectLink:
    import dataclasses

    return DirectLink(**{f.name: getattr(link, f.name) for f in dataclasses.fields(link) if f.init})


# ---------------------------------------------------------------------------- codeword layout
def to_codewords(link: CodedLink, bits: np.ndarray) -> np.ndarray:
    """(digits, bits per digit) -> (codewords, payload bits), whole digits per codeword, zero-padded
    (the layout of CodedLink._transmit)."""
    n_digits, n_bits = bits.shape
    d = link.digits_per_codeword(n_bits)
    blocks = math.ceil(n_digits / d) if n_digits else 0
    layout = np.zeros((blocks, d * n_bits), np.uint8)
    layout.reshape(-1)[: bits.size] = bits.reshape(-1)
    payload = np.zeros((blocks, link.payload_bits), np.uint8)
    payload[:, : d * n_bits] = layout
    return payload


def to_digits(link: CodedLink, got: np.ndarray, ok: np.ndarray, shape: tuple[int, int]) -> Received:
    """Received codewords -> the digits' Received (a failed CRC erases its digits, erased bits read 0)."""
    n_digits, n_bits = shape
    d = link.digits_per_codeword(n_bits)
    bits = got[:, : d * n_bits].reshape(-1)[: n_digits * n_bits].reshape(n_digits, n_bits)
    erased = np.repeat(~ok, d)[:n_digits, None].repeat(n_bits, axis=1)
    return Received(bits=np.where(erased, 0, bits).astype(np.uint8), erased=erased)


def block_errors(received: Received, digits_per_codeword: int) -> tuple[int, int]:
    """(codewords whose CRC failed, codewords) from a Received of whole-codeword erasures."""
    lost = received.erased.any(axis=1)
    blocks = math.ceil(len(lost) / digits_per_codeword)
    return int(lost[::digits_per_codeword][:blocks].sum()), blocks


# ---------------------------------------------------------------------------- the coupled direct path
def fast_path_noise(link: CodedLink, blocks: int, key: int) -> tuple[np.ndarray, np.ndarray]:
    """The noise (after equalization) and fading the fast path drew for ``blocks`` codewords of ``key``
    (channels.phy._pattern_chunks: one generator per chunk of _CHUNK codewords, cut to ``blocks``)."""
    draws = [_chunk_noise(link, key, c) for c in range(math.ceil(blocks / _CHUNK))]
    return (np.concatenate([e for e, _ in draws])[:blocks], np.concatenate([h for _, h in draws])[:blocks])


def coupled_direct(link: CodedLink, payload: np.ndarray, key: int) -> tuple[np.ndarray, np.ndarray]:
    """Sionna's direct path on ``payload`` with the fast path's noise for ``key``, sign-coupled:
    on each real axis the noise is flipped where the codeword's symbol is flipped against the
    all-zero codeword's, so the decoder sees the all-zero run's observation up to the codeword's signs."""
    torch, crc_enc, _, enc, _, mapper, _ = _blocks(link)
    e, h = fast_path_noise(link, len(payload), key)

    def symbols(u: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            t = torch.from_numpy(u.astype(np.float32))
            t = crc_enc(t) if crc_enc is not None else t
            t = enc(t) if enc is not None else t
            return mapper(t).numpy()

    x, x0 = symbols(payload), symbols(np.zeros_like(payload))
    sr, si = np.sign(x.real) * np.sign(x0.real), np.sign(x.imag) * np.sign(x0.imag)
    coupled = sr * e.real + 1j * si * e.imag
    return link.transmit_direct(payload, np.random.default_rng(0), noise=(coupled, h))


def bit_exact_check(link: CodedLink, payloads: list[np.ndarray], seed: np.random.SeedSequence) -> dict:
    """The fast path (``link(bits, rng)``, as the sweep calls it) against the coupled direct path, per codec.

    ``identical``: equal received bits and erasures for every codec. ``pattern_reproduced``: the noise
    rebuilt here is the fast path's (the all-zero codeword on it gives the cached pattern exactly).
    ``failed_codewords_raw_differ``: failed codewords whose raw decoder output differs between the two
    (belief propagation that did not converge may round differently; they are erased either way)."""
    key = int(np.random.default_rng(seed).integers(2**63))  # what _send_codewords draws first
    blocks = len(to_codewords(link, payloads[0]))
    flips, ok_fast = link.error_pattern(blocks, key)
    zero, zero_ok = link.transmit_direct(np.zeros((blocks, link.payload_bits), np.uint8), np.random.default_rng(0),
                                         noise=fast_path_noise(link, blocks, key))
    reproduced = bool(np.array_equal(zero, flips) and np.array_equal(zero_ok, ok_fast))
    out = {"setting": None, "codewords": blocks, "failed": int((~ok_fast).sum()), "pattern_reproduced": reproduced,
           "codecs": len(payloads), "identical_codecs": 0, "failed_codewords_raw_differ": 0}
    for bits in payloads:
        fast = link(bits, np.random.default_rng(seed))
        payload = to_codewords(link, bits)
        got, ok = coupled_direct(link, payload, key)
        direct = to_digits(link, got, ok, bits.shape)
        same = (np.array_equal(fast.bits, direct.bits) and np.array_equal(fast.erased, direct.erased)
                and np.array_equal(ok, ok_fast))
        out["identical_codecs"] += int(same)
        out["failed_codewords_raw_differ"] += int(((got != (payload ^ flips)).any(axis=1) & ~ok).sum())
    out["identical"] = reproduced and out["identical_codecs"] == len(payloads)
    return out


def bler_band(fail_a: int, n_a: int, fail_b: int, n_b: int, z: float = Z_BAND) -> tuple[bool, float, float]:
    """Two block error rates agree: |p_a - p_b| within z pooled binomial standard deviations plus the
    continuity correction. Returns (agree, |difference|, band)."""
    p = (fail_a + fail_b) / (n_a + n_b)
    band = z * math.sqrt(p * (1 - p) * (1 / n_a + 1 / n_b)) + 0.5 * (1 / n_a + 1 / n_b)
    diff = abs(fail_a / n_a - fail_b / n_b)
    return diff <= band, diff, band


# ---------------------------------------------------------------------------- the section
def workload(args):
    from semcom.app.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    settings = [c for c in scenario.channels if c.kind == "coded"]
    if args.quick:
        settings = [c for c in settings if c.params["snr_db"] in QUICK_SNRS]
    if args.points:
        settings = settings[: args.points]
    n_codecs = getattr(args, "codecs", 0) or 3
    n_digits = args.images or int(scenario.dataset.test_limit or 2000)
    payloads = [np.random.default_rng(100 + i).integers(0, 2, (n_digits, BITS_PER_DIGIT)).astype(np.uint8)
                for i in range(n_codecs)]
    names = [f"codec{i}" for i in range(n_codecs)]
    seed = scenario.seeds[0]
    points = []
    for ch in settings:
        setting = SweepPoint(names[0], ch, seed).setting
        link = ch.make()
        points.append({"setting": setting, "snr_db": ch.params["snr_db"], "fading": ch.params["fading"],
                       "link": link, "direct": direct_twin(link),
                       "fast_seed": point_seed(seed, setting),  # shared by every codec (CodecBench.run)
                       "direct_seeds": [point_seed(seed, name, setting) for name in names]})  # fresh per codec
    return scenario, points, payloads, names, seed


def section_phy(args) -> dict:
    scenario, points, payloads, names, seed = workload(args)
    link0 = points[0]["link"]
    n_digits = len(payloads[0])
    d = link0.digits_per_codeword(BITS_PER_DIGIT)
    blocks = math.ceil(n_digits / d)
    simulated_fast = math.ceil(blocks / _CHUNK) * _CHUNK
    reps = 1 if args.quick else 3
    log(f"(e) {len(payloads)} codecs x {len(points)} coded points x {n_digits} digits ({blocks} codewords of "
        f"{d} digits); fast path simulates {simulated_fast} codewords per point, direct {len(payloads) * blocks}")

    # warm-up: every link's Sionna blocks (both classes), then one call each way on the first point
    for p in points:
        _blocks(p["link"])
        _blocks(p["direct"])
    points[0]["link"](payloads[0], np.random.default_rng(points[0]["fast_seed"]))
    points[0]["direct"](payloads[0], np.random.default_rng(points[0]["direct_seeds"][0]))

    def fast_sweep() -> tuple[float, list[dict]]:
        clear_pattern_cache()
        t0 = time.perf_counter()
        per = []
        for p in points:
            times, errs = [], []
            for bits in payloads:
                t = time.perf_counter()
                got = p["link"](bits, np.random.default_rng(p["fast_seed"]))
                times.append(time.perf_counter() - t)
                errs.append(block_errors(got, d))
            per.append({"s": sum(times), "first_codec_s": times[0], "other_codecs_s": sum(times[1:]),
                        "block_errors": errs})
        return time.perf_counter() - t0, per

    def direct_sweep() -> tuple[float, list[dict]]:
        t0 = time.perf_counter()
        per = []
        for p in points:
            times, errs = [], []
            for bits, s in zip(payloads, p["direct_seeds"]):
                t = time.perf_counter()
                got = p["direct"](bits, np.random.default_rng(s))
                times.append(time.perf_counter() - t)
                errs.append(block_errors(got, d))
            per.append({"s": sum(times), "block_errors": errs})
        return time.perf_counter() - t0, per

    def measure(label: str, sweep) -> dict:
        totals, runs = [], []
        for _ in range(reps):
            total, per = sweep()
            totals.append(total)
            runs.append(per)
            log(f"(e) {label}: {total:.2f} s")
        return {"median_s": statistics.median(totals), "min_s": min(totals), "times_s": totals,
                "repeats": reps, "warmup": 1, "runs": runs}

    direct = measure("direct (Sionna once per codec)", direct_sweep)
    fast = measure("fast path (shared error pattern)", fast_sweep)

    rows, bler_bad = [], []
    for i, p in enumerate(points):
        f_runs = [r[i] for r in fast["runs"]]
        d_runs = [r[i] for r in direct["runs"]]
        f_fail, f_n = f_runs[-1]["block_errors"][0]  # one pattern, shared: count it once
        same_pattern = all(e == f_runs[-1]["block_errors"][0] for e in f_runs[-1]["block_errors"])
        d_fail = sum(e[0] for e in d_runs[-1]["block_errors"])
        d_n = sum(e[1] for e in d_runs[-1]["block_errors"])
        agree, diff, band = bler_band(f_fail, f_n, d_fail, d_n)
        fast_s = statistics.median(r["s"] for r in f_runs)
        direct_s = statistics.median(r["s"] for r in d_runs)
        row = {"setting": p["setting"], "snr_db": p["snr_db"], "fading": p["fading"],
               "direct_s": direct_s, "fast_s": fast_s, "ratio": ratio(direct_s, fast_s),
               "fast_first_codec_s": statistics.median(r["first_codec_s"] for r in f_runs),
               "fast_other_codecs_s": statistics.median(r["other_codecs_s"] for r in f_runs),
               "bler_fast": f_fail / f_n, "codewords_fast": f_n, "bler_direct": d_fail / d_n, "codewords_direct": d_n,
               "bler_abs_diff": diff, "bler_band": band, "bler_agree": agree,
               "fast_pattern_shared_by_all_codecs": same_pattern}
        rows.append(row)
        if not agree or not same_pattern:
            bler_bad.append(row)
        log(f"(e) {p['setting']}: direct {direct_s:.3f} s, fast {fast_s:.3f} s "
            f"(first codec {row['fast_first_codec_s']:.3f} s, others {row['fast_other_codecs_s']:.4f} s); "
            f"BLER fast {row['bler_fast']:.3f} ({f_n} cw) direct {row['bler_direct']:.3f} ({d_n} cw)"
            f"{'' if agree else '  OUTSIDE THE BAND'}")

    # bit-exact check at the informative points: some codewords fail and some pass; per fading, the two
    # whose block error rate is nearest 1/2 (or the first point, if every codeword passes or fails)
    chosen = []
    for fading in dict.fromkeys(p["fading"] for p in points):
        idx = [i for i, p in enumerate(points) if p["fading"] == fading]
        mixed = sorted((i for i in idx if 0 < rows[i]["bler_fast"] < 1), key=lambda i: abs(rows[i]["bler_fast"] - 0.5))
        chosen += sorted((mixed or idx[:1])[:2])
    checks = []
    for i in chosen:
        p = points[i]
        c = bit_exact_check(p["link"], payloads, p["fast_seed"])
        c["setting"] = p["setting"]
        checks.append(c)
        log(f"(e) bit-exact {p['setting']}: {c['failed']}/{c['codewords']} codewords fail; "
            f"{c['identical_codecs']}/{c['codecs']} codecs identical; pattern reproduced: {c['pattern_reproduced']}; "
            f"failed codewords whose raw BP output differs (erased anyway): {c['failed_codewords_raw_differ']}")
    bit_check = {"identical": all(c["identical"] for c in checks), "n_points": len(checks), "points": checks,
                 "mismatches": [c for c in checks if not c["identical"]]}
    bler_check = {"agree": not bler_bad, "n_points": len(rows), "z": Z_BAND,
                  "band": "z * sqrt(p(1-p)(1/n_fast + 1/n_direct)) + (1/n_fast + 1/n_direct)/2, p pooled",
                  "mismatches": [{k: r[k] for k in ("setting", "bler_fast", "codewords_fast", "bler_direct",
                                                    "codewords_direct", "bler_band",
                                                    "fast_pattern_shared_by_all_codecs")} for r in bler_bad]}
    for label, bad in (("bit-exact agreement", bit_check["mismatches"]), ("BLER agreement", bler_check["mismatches"])):
        if bad:
            log("!" * 78)
            log(f"!!! (e) {label} FAILED at {len(bad)} points")
            for m in bad[:10]:
                log(f"!!!   {m}")
            log("!" * 78)

    for m in (fast, direct):
        m.pop("runs")
    return {
        "scenario": str(SCENARIO.relative_to(REPO)), "seed": seed, "n_codecs": len(payloads), "codecs": names,
        "payloads": f"random {BITS_PER_DIGIT}-bit digits (seeds 100..{99 + len(payloads)}), standing for the "
                    "scenario's digital codecs; no models",
        "n_digits": n_digits, "bits_per_digit": BITS_PER_DIGIT, "n_points": len(points),
        "link": {k: getattr(link0, k) for k in ("snr", "code", "k", "n", "modulation", "crc", "iterations")},
        "snr_db": sorted({p["snr_db"] for p in points}), "fadings": list(dict.fromkeys(p["fading"] for p in points)),
        "digits_per_codeword": d, "codewords_per_point": blocks, "pattern_chunk": _CHUNK,
        "codewords_simulated": {"direct": len(payloads) * blocks * len(points), "fast": simulated_fast * len(points)},
        "timing_scope": "every codec's link(bits, rng) call at every point: codeword layout, noise, Sionna "
                        "(CRC, LDPC, QPSK, APP demapping, BP decoding, CRC check) or the cached pattern's XOR, "
                        "erasures; Sionna blocks built before timing",
        "baseline": {"name": "direct: Sionna once per codec, fresh noise per codec (the link with its "
                             "shortcut switched off)", **direct},
        "measurement": {"name": "fast path: all-zero codeword's error pattern per (setting, seed), computed "
                                "by the first codec and reused from the cache by the others "
                                "(cache cleared before each repeat)", **fast},
        "speedup": ratio(direct["median_s"], fast["median_s"]),
        "points": rows, "bit_exact_check": bit_check, "bler_check": bler_check,
    }
