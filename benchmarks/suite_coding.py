"""(d) Bitstream coding throughput in digits/s: entropy coding (constriction range coder, grouped
packets with length header and CRC) against the fixed-length packer, timed in the same run, and
the measured rate of each."""

from __future__ import annotations

import numpy as np

from timing import log, timed

from semcom.bitstream import BitPacker
from semcom.entropy import EntropyModel, GroupedEntropyTransport


def section_coding(args) -> dict:
    n = 100_000 if not args.quick else 20_000
    rng = np.random.default_rng(7)
    probs = np.array([[0.55, 0.25, 0.15, 0.05], [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1], [0.7, 0.1, 0.1, 0.1]])
    idx = np.stack([rng.choice(4, size=n, p=p) for p in probs], axis=1)  # 8-bit digits, L = 4, dim = 4
    prior = np.stack([np.bincount(idx[:, j], minlength=4) / n for j in range(4)])
    entropy = float(-(probs * np.log2(probs)).sum())
    reps, warm = (3, 1) if args.quick else (5, 1)
    packer = BitPacker(4, 4)
    fixed_pack = timed(lambda: packer.pack(idx), repeats=reps, warmup=warm)
    bits = packer.pack(idx)
    fixed_unpack = timed(lambda: packer.unpack(bits), repeats=reps, warmup=warm)
    out = {"n_digits": n, "source_entropy_bits": entropy, "fixed": {
        "encode": {**fixed_pack, "digits_per_s": n / fixed_pack["median_s"]},
        "decode": {**fixed_unpack, "digits_per_s": n / fixed_unpack["median_s"]}, "bits_per_digit": 8.0},
        "entropy": {}}
    for kind, model in (("factorized", EntropyModel.factorized(prior, n)), ("joint", EntropyModel.joint(idx, 4))):
        for group in (32, 256):
            tr = GroupedEntropyTransport(model, group=group, length_bits=16)
            enc = timed(lambda tr=tr: tr.pack(idx), repeats=reps, warmup=warm)
            packets, payload = tr.pack(idx)
            clean = np.zeros(packets.bits.shape, bool)
            dec = timed(lambda tr=tr, p=packets, c=clean: tr.receive(p, p.bits, c, n), repeats=reps, warmup=warm)
            assert (tr.receive(packets, packets.bits, clean, n).indices == idx).all()
            key = f"{kind}/{group}"
            out["entropy"][key] = {
                "encode": {**enc, "digits_per_s": n / enc["median_s"],
                           "ratio_vs_fixed": fixed_pack["median_s"] / enc["median_s"]},
                "decode": {**dec, "digits_per_s": n / dec["median_s"],
                           "ratio_vs_fixed": fixed_unpack["median_s"] / dec["median_s"]},
                "payload_bits_per_digit": payload / n, "bits_per_digit_with_headers": float(packets.lengths.sum()) / n}
            log(f"(d) {key}: encode {n / enc['median_s']:,.0f} digits/s, decode {n / dec['median_s']:,.0f} digits/s, "
                f"{payload / n:.3f} bits/digit payload")
    return out
