"""The model-shipping scripts: packing for the device tool's transfer limits, and the
half-precision copy every shipped model goes through."""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import gpu_train  # noqa: E402
import ship_models  # noqa: E402


def test_pack_splits_into_parts_under_the_limit_and_keeps_every_file(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_train, "PART_BYTES", 1000)
    root = tmp_path / "models"
    root.mkdir()
    files = []
    for i, size in enumerate([400, 400, 400, 1500, 10]):
        p = root / f"m{i}.bin"
        p.write_bytes(bytes([i]) * size)
        files.append(p)
    out = tmp_path / "out"
    out.mkdir()
    parts = gpu_train.pack(files, root, out, "models")
    names = []
    for part in parts:
        with tarfile.open(part) as tar:
            members = tar.getmembers()
            names += [m.name for m in members]
            # a part holds at most the limit, unless one file alone is larger
            assert sum(m.size for m in members) <= 1000 or len(members) == 1
    assert sorted(names) == sorted(p.name for p in files)
    assert [p.name for p in parts] == [f"models-{i:02d}.tar" for i in range(len(parts))]
    # in name order: m0 + m1 (800) | m2 (400; +1500 would pass 1000) | m3 (1500, alone) | m4
    assert len(parts) == 4


def test_pack_outputs_brings_back_only_the_checkpoints_that_fit_the_transfer(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(gpu_train, "PART_BYTES", 1000)
    work, out = tmp_path / "work", tmp_path / "out"
    (work / "models").mkdir(parents=True)
    (work / "logs").mkdir()
    (work / "store" / "checkpoints").mkdir(parents=True)
    out.mkdir()
    model = work / "models" / "m.safetensors"
    model.write_bytes(b"m" * 500)
    (work / "logs" / "a.log").write_text("log")
    for name, size in [("big.ckpt", 5000), ("c1.ckpt", 900), ("c2.ckpt", 900), ("c3.ckpt", 900)]:
        (work / "store" / "checkpoints" / name).write_bytes(b"c" * size)
    # room for 4 files: models + logs + two checkpoint parts; the 5000-byte one would pass a part's limit
    monkeypatch.setattr(gpu_train, "ROOM_FILES", 4)
    monkeypatch.setattr(gpu_train, "ROOM_BYTES", 10**6)
    parts = gpu_train.pack_outputs([model], work, out)
    assert [p.name for p in parts] == ["models-00.tar", "logs-00.tar", "checkpoints-00.tar", "checkpoints-01.tar"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in parts)  # the dropped part is deleted
    with tarfile.open(out / "checkpoints-00.tar") as tar:
        assert tar.getnames() == ["checkpoints/c1.ckpt"]
    assert "2 of 4 checkpoint files do not fit" in capsys.readouterr().out


def test_epoch_progress_reads_the_last_epoch_line_of_a_worker_log(tmp_path):
    log = tmp_path / "w.log"
    assert gpu_train.epoch_progress(log) is None
    log.write_text("codec NA3-8b-s0: no stored model for this configuration; training (25 epochs)\n")
    assert gpu_train.epoch_progress(log) is None
    log.write_text(log.read_text()
                   + "codec NA3-8b-s0 epoch 1/25: loss 0.38, critic 37.4, val MSE 0.15, val accuracy 15.69% (42.5 s)\n"
                   + "codec NA3-8b-s0 epoch 2/25: loss 0.30, critic 30.1, val MSE 0.10, val accuracy 30.00% (40.0 s)\n")
    assert gpu_train.epoch_progress(log) == (2, 25, 40.0)


def test_to_stop_keeps_what_can_end_stopping_the_least_advanced_then_lowest_priority():
    # 4 trainings, 10 s per epoch while 4 share the GPU: 2.5 s per epoch each for one alone
    progress = {"a": (5, 10, 10.0, 0.0), "b": (5, 10, 10.0, 0.0), "c": (4, 10, 10.0, 0.0), "d": (5, 10, 10.0, 0.0)}
    priority = ["a", "b", "c", "d"]
    assert gpu_train.to_stop(progress, priority, 60.0) == []  # 6 epochs x 10 s fits
    # 50 s left: all four need 60 s; three (7.5 s per epoch) need 45 s for c's 6 epochs -> c goes
    assert gpu_train.to_stop(progress, priority, 50.0) == ["c"]
    # 30 s left: without c, 3 x 5 epochs x 7.5 = 37.5 > 30; two need 5 x 5 = 25 s -> d (lowest priority) goes too
    assert sorted(gpu_train.to_stop(progress, priority, 30.0)) == ["c", "d"]
    # time already spent in the current epoch counts
    assert gpu_train.to_stop({"a": (5, 10, 10.0, 9.0)}, ["a"], 41.0) == []
    assert gpu_train.to_stop({"a": (5, 10, 10.0, 0.0)}, ["a"], 41.0) == ["a"]


def test_pool_adapt_stops_the_training_that_cannot_end_and_waits_for_a_new_epoch(tmp_path, capsys):
    import subprocess
    import time
    from types import SimpleNamespace

    args = SimpleNamespace(budget=100.0, data="", smoke=True)
    pool = gpu_train.Pool(args, tmp_path, tmp_path, time.monotonic())
    logs = {}
    for name, done in [("a", 20), ("b", 20), ("c", 2)]:
        logs[name] = tmp_path / f"{name}.log"
        logs[name].write_text(f"codec {name} epoch {done}/25: loss 0.1, val MSE 0.04 (10.0 s)\n")
        pool.running[name] = (subprocess.Popen(["sleep", "30"]), time.monotonic(), logs[name])
    try:
        # 100 s left, 10 s per epoch among three: a and b need 5 epochs x 10 x 2/3 = 33 s, c 23 x 10 x 1/3 > 100 s
        pool.adapt(["a", "b", "c"])
        assert sorted(pool.running) == ["a", "b"] and pool.failed == ["c"]
        assert "stopped c" in capsys.readouterr().out
        # no new epoch since that decision: nothing more is decided, even with less time left
        pool.args.budget = 1.0
        pool.adapt(["a", "b", "c"])
        assert sorted(pool.running) == ["a", "b"]
    finally:
        for proc, _, _ in list(pool.running.values()):
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("family_name", ["learned", "analog", None])
def test_half_precision_copy_records_both_evaluations_and_stores_float16(tmp_path, family_name):
    from semcom.codecs.networks import DigitClassifier
    from semcom.models.families import family_of
    from semcom.models.specs import CodecConfig
    from semcom.models.store import ModelStore

    torch.manual_seed(0)
    classifier = DigitClassifier().eval()
    x, y = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    if family_name is None:
        family, spec, model = None, {"kind": "classifier", "test": 1}, classifier
    else:
        config = CodecConfig(name="x", family=family_name, objective="mse", dim=4)
        family = family_of(config.family)
        spec = family.spec(config, {"train": "test"}, "clf")
        model = family.empty(spec).eval()
    source, dest = ModelStore(tmp_path / "f32", use_shipped=False), ModelStore(tmp_path / "f16", use_shipped=False)
    stored = source.save(spec, model.state_dict(), {})
    state, card = source.load_state(spec)
    copy = ship_models.half_precision_copy("x", stored, state, card, family, dest, classifier, x, y)
    assert copy.key == stored.key and copy.card["weights_dtype"] == "float16"
    check = copy.card["half_precision_of"]
    assert check["weights_sha256"] == stored.card["weights_sha256"]
    metrics = ("accuracy",) if family is None else ("accuracy", "mse")
    for m in metrics:
        assert 0 <= check[f"test_{m}_float32"] and 0 <= check[f"test_{m}_float16"]
    loaded, _ = dest.load_state(spec)
    for k, v in state.items():
        if v.is_floating_point():  # what is stored is the float16 rounding of the float32 weights
            assert torch.equal(loaded[k], v.half().float()), k


def test_codec_diagnostics_bounds_hold_by_construction():
    """The nearest-codeword encoder and the centroid decoder can only lower the MSE of the
    network's own encoder and decoder; a wrong search or a wrong centroid would break this."""
    import codec_diagnostics
    from semcom.codecs.learned import LearnedCodec, LearnedCodecConfig
    from semcom.codecs.networks import DigitClassifier

    torch.manual_seed(1)
    codec = LearnedCodec(LearnedCodecConfig(dim=2, levels=4, width=16)).eval()
    images, labels = torch.rand(200, 1, 28, 28), torch.randint(0, 10, (200,))
    out = codec_diagnostics.diagnose(codec, DigitClassifier().eval(), images, labels)
    assert set(out) == {"network encoder", "nearest codeword", "unquantized latent", "centroid oracle (test set)",
                        "cell-purity bound (test set)"}
    assert out["nearest codeword"][0] <= out["network encoder"][0] + 1e-7
    assert out["centroid oracle (test set)"][0] <= out["network encoder"][0] + 1e-7
    # no reconstruction of the encoder's cells classifies better than the cells' majority labels
    assert out["network encoder"][1] <= out["cell-purity bound (test set)"][1]
    assert out["centroid oracle (test set)"][1] <= out["cell-purity bound (test set)"][1]
    assert all(0.0 <= acc <= 1.0 for _, acc in out.values())
    # labels fitted on the scored images themselves: the majority map reaches the bound exactly
    fitted = codec_diagnostics.diagnose(codec, DigitClassifier().eval(), images, labels, train=(images, labels))
    row = fitted["cell majority, labels from the training split"][1]
    assert row == pytest.approx(fitted["cell-purity bound (test set)"][1], abs=1e-6)


def test_purity_bound_counts_each_cells_majority_label():
    import codec_diagnostics

    cell = torch.tensor([0, 0, 0, 1, 1, 2])
    labels = torch.tensor([3, 3, 5, 7, 2, 9])
    # cell 0: two of three share label 3; cell 1: one of two (a tie); cell 2: its one image
    assert codec_diagnostics.purity_bound(cell, labels, n_cells=4) == 4 / 6
    assert codec_diagnostics.purity_bound(torch.arange(6), labels, n_cells=6) == 1.0  # one image per cell
    assert codec_diagnostics.purity_bound(torch.zeros(6, dtype=torch.long), labels, n_cells=1) == 2 / 6
    # a cell no image reaches (3) keeps the fallback label; the others their majority
    got = codec_diagnostics.majority_labels(cell, labels, 4, fallback=torch.tensor([0, 0, 0, 4]))
    assert got[0] == 3 and got[2] == 9 and got[3] == 4 and got[1] in (2, 7)


def test_nearest_codeword_search_matches_a_direct_argmin():
    """The diagnostics' bound and the refinement pilot's targets: the expanded-square search,
    chunked, must pick what a direct per-image MSE argmin picks (a sign or chunking slip would
    pick other codewords)."""
    import codec_diagnostics
    import encoder_refinement  # noqa: F401  (it must still import: it reuses this search)

    torch.manual_seed(2)
    images, book = torch.rand(37, 1, 28, 28), torch.rand(16, 1, 28, 28)
    direct = ((images[:, None] - book[None]) ** 2).flatten(2).mean(2).argmin(1)
    assert torch.equal(codec_diagnostics.nearest_codewords(images, book, chunk=10), direct)
    assert torch.equal(codec_diagnostics.nearest_codewords(book, book), torch.arange(16))
