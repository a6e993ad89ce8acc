"""(b) Channel throughput in bits/s against scikit-commpy (or a plain-numpy reference), and single-core BSC."""

from __future__ import annotations

import contextlib
import importlib.metadata
import math
import os
import time
from typing import Callable

import _bootstrap  # noqa: E402,F401  (first: puts the repository on sys.path)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import channels  # noqa: E402

from timing import fmt_rate, log, timed  # noqa: E402


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
