"""Train every missing model of some scenarios on one GPU, many processes at once, and pack them.

    python scripts/gpu_train.py SCENARIO [SCENARIO ...] --data DIR --out DIR
                                [--jobs 12] [--budget 480] [--only NAME,NAME] [--smoke]

For the sessions that are lent a GPU for a few minutes (device tool). The models are small, so
one process per model, ``--jobs`` of them on the one GPU at a time, longest first (Haar
critics before plain MSE). Each process is ``semcom train SCENARIO --only NAME`` into a
scratch store under ``--out``; when it ends, the model is converted to the half precision
every shipped model is kept in (``scripts/ship_models.py``'s rule: float32 and float16 test
metrics both in the card) and everything finished is packed into ``models-NN.tar`` files of
at most 15 MiB (the device tool brings back 8 files of 16 MiB). At ``--budget`` seconds the
unfinished trainings are stopped and their last per-epoch checkpoints are packed too
(``checkpoints-NN.tar``), so a later session, CPU or GPU, resumes them instead of starting over;
only those that fit what comes back, though: an MSE checkpoint (11 MB) does, an NA one (60 MB,
over the 16 MiB a file may have) never does.

Back on the development machine:  scripts/unpack_models.sh FILES_AT  (untars into models/,
commits). Test the whole path on CPU first with ``--smoke`` (2 epochs on 256 images, own store
keys, so nothing real is touched):

    python scripts/gpu_train.py scenarios/paper_table3.toml --data ../shared/data/mnist \
        --out /tmp/gpu-smoke --smoke --jobs 2 --only NA2-8b-s1,only_compression-12b-s1

On the device (data carried in an ignored folder of the checkout, see the device README; the
checkout travels whole, so move results/ out of the working tree for the call if the tree
passes the tool's 64 MiB):

    set -o pipefail; export PYTHONUNBUFFERED=1 PYTHONPATH=.; timeout 580 python3 scripts/gpu_train.py \
        scenarios/paper_table3.toml --data .mnist --out $OUT --work /tmp/w --jobs 11 --adaptive \
        --budget 495 --only NAME,NAME,... 2>&1 | tee $OUT/console.log

(run with timeout_s 590 and carry [".mnist"]). Measured on an H200 (2026-12-04), NA models:
11 at once, 38 s per epoch each; 4 at once, 15-18 s; 2, 13-14 s; 1, 12 s. The GPU is shared by
time slices, so throughput peaks near 4 processes at about 4 s per model-epoch: one such call
trains 4 NA models (25 epochs) and --adaptive stops the rest after their first epoch or two.
--only gives the priority order (the first are kept when some must stop).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

PART_BYTES = 15 * 2**20
#: what the device tool brings back: 8 files, 64 MiB together (a little kept free for summary.json)
ROOM_FILES, ROOM_BYTES = 7, 62 * 2**20
#: a worker's per-epoch line, as semcom.models.training.codec prints it
EPOCH_LINE = re.compile(r" epoch (\d+)/(\d+): .*\(([\d.]+) s\)$", re.M)
#: relative cost of one model's training, to start the longest first
COST = {"adversarial": 3.0, "deep_feature": 1.3, "task_aware": 1.3, "mse": 1.0}


def _scenario(path: str, smoke: bool):
    from semcom.app.scenario import load_scenario

    sc = load_scenario(path)
    if not smoke:
        return sc
    body = sc.body
    codecs = [dataclasses.replace(c, train=dataclasses.replace(c.train, epochs=2)) for c in body.codecs]
    body = dataclasses.replace(body, dataset=dataclasses.replace(body.dataset, train_limit=256, test_limit=256),
                               classifier=dataclasses.replace(body.classifier, epochs=1), codecs=codecs)
    return dataclasses.replace(sc, body=body)


def worker(args) -> int:
    """One model: train it into the scratch store (runs as its own process)."""
    from semcom.app.runner import train_models
    from semcom.models.store import ModelStore

    sc = _scenario(args.scenario[0], args.smoke)
    store = ModelStore(Path(args.work) / "store", also=_also(sc))
    rows = train_models(sc, data_path=args.data, store=store, only=[args.worker], progress=True)
    print(json.dumps({"name": rows[-1]["name"], "key": rows[-1]["key"], "seconds": rows[-1]["seconds"],
                      "metrics": rows[-1]["card"].get("metrics", {})}))
    return 0


def _also(sc) -> list[Path]:
    return [sc.resolve(p) for p in sc.store.also] + ([sc.resolve(sc.store.path)] if sc.store.path else []) \
        + [REPO / "models"]


def missing(sc, data_path: str, only: set[str] | None) -> list[tuple[str, float]]:
    """(name, cost) of the scenario's trained codecs that no store here holds (`semcom train --status`)."""
    from semcom.app.runner import prepare_data
    from semcom.app.status import STORED, model_status
    from semcom.models.store import ModelStore

    store = ModelStore(_also(sc)[0], also=_also(sc)[1:])
    _, data, _, _ = prepare_data(sc, data_path)
    sections = {c.name: c for c in sc.codec_list}
    return [(r.name, COST.get(sections[r.name].objective, 1.0) * r.epochs)
            for r in model_status(sc, data, store, sorted(only) if only else None)
            if r.name in sections and r.epochs is not None and r.state != STORED]


def epoch_progress(log: Path) -> tuple[int, int, float] | None:
    """(epochs done, epochs in all, seconds of the last epoch) from a worker's log; None before its first epoch."""
    found = EPOCH_LINE.findall(log.read_text(errors="replace")) if log.exists() else []
    if not found:
        return None
    done, total, seconds = found[-1]
    return int(done), int(total), float(seconds)


def to_stop(progress: dict[str, tuple[int, int, float, float]], priority: list[str], time_left: float) -> list[str]:
    """The trainings to stop now so that the others end within ``time_left`` seconds.

    ``progress`` maps a running training to (epochs done, epochs in all, seconds of its last epoch,
    seconds since that epoch ended). Models share one GPU, so an epoch's time is taken to scale with
    the number of trainings running: stopping one speeds up the rest. Its checkpoint (60 MB with the
    critics' Adam moments) is too large to bring back, so a training that cannot end is better stopped
    early. The least advanced go first, then the lowest priority (latest in ``priority``)."""
    running = len(progress)
    keep = sorted(progress, key=lambda n: (-progress[n][0], priority.index(n) if n in priority else len(priority)))
    while keep:
        scale = len(keep) / running
        need = max((progress[n][1] - progress[n][0]) * progress[n][2] * scale - progress[n][3] for n in keep)
        if need <= time_left:
            break
        keep.pop()
    return [n for n in progress if n not in keep]


def pack(paths: list[Path], root: Path, out: Path, stem: str) -> list[Path]:
    """tar files of at most PART_BYTES each (a file larger than that gets a part of its own)."""
    parts, size, tar = [], 0, None
    for p in sorted(paths):
        n = p.stat().st_size
        if tar is None or size + n > PART_BYTES:
            if tar is not None:
                tar.close()
            parts.append(out / f"{stem}-{len(parts):02d}.tar")
            tar, size = tarfile.open(parts[-1], "w"), 0
        tar.add(p, arcname=str(p.relative_to(root)))
        size += n
    if tar is not None:
        tar.close()
    return parts


def ship(work: Path, data_path: str, scenarios, names_done: dict[str, str]) -> list[Path]:
    """Half-precision copies of the finished models (float32 and float16 test metrics in each card)."""
    import torch

    from semcom.app.runner import prepare_data
    from semcom.models.families import family_of
    from semcom.models.store import ModelStore
    from semcom.models.zoo import classifier_spec, codec_spec, stored_classifier
    from ship_models import half_precision_copy

    source = ModelStore(work / "store", use_shipped=False)
    dest = ModelStore(work / "models", use_shipped=False)
    shipped = []
    for sc in scenarios:
        _, data, test_x, test_y = prepare_data(sc, data_path)
        test_y = torch.from_numpy(test_y)
        found = stored_classifier(sc.classifier, data, ModelStore(work / "store", also=_also(sc)))
        if found is None:
            continue
        classifier, clf_card = found
        specs = [("classifier", classifier_spec(sc.classifier, data), None)]  # trained here only in smoke runs
        specs += [(c.name, codec_spec(c, data, clf_card["key"]), family_of(c.family)) for c in sc.codec_list
                  if c.name in names_done]
        for name, spec, family in specs:
            stored = source.find(spec)
            if stored is None or (family is not None and names_done[name] != stored.key):
                continue
            state, card = source.load_state(spec)
            copy = half_precision_copy(name, stored, state, card, family, dest, classifier, test_x, test_y)
            shipped += [copy.weights, copy.weights.parent / f"{copy.key}.json"]
    return sorted(set(shipped))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="+")
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True, help="where the packed parts and summary.json go ($OUT on the device)")
    ap.add_argument("--work", default="/tmp/semcom-gpu-train", help="scratch store and logs")
    ap.add_argument("--jobs", type=int, default=12)
    ap.add_argument("--budget", type=float, default=480.0, help="seconds before unfinished trainings are stopped")
    ap.add_argument("--only", default=None, help="comma-separated codec names (default: every missing one)")
    ap.add_argument("--adaptive", action="store_true",
                    help="all at once (--jobs at least the number of models); stop the least advanced when the "
                         "rest could not end within --budget")
    ap.add_argument("--smoke", action="store_true", help="2 epochs on 256 images: tests this script on CPU")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    t0 = time.monotonic()
    out, work = Path(args.out), Path(args.work)
    out.mkdir(parents=True, exist_ok=True)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    only = {n.strip() for n in args.only.split(",")} if args.only else None
    scenarios = [_scenario(p, args.smoke) for p in args.scenario]
    queue = sorted(((cost, path, name) for path, sc in zip(args.scenario, scenarios)
                    for name, cost in missing(sc, args.data, only)), reverse=True)
    priority = [n.strip() for n in args.only.split(",")] if args.only else [n for _, _, n in queue]
    queue.sort(key=lambda item: priority.index(item[2]))
    print(f"{len(queue)} models to train, {args.jobs} at a time: " + ", ".join(n for _, _, n in queue), flush=True)
    pool = Pool(args, work, out, t0)
    while queue or pool.running:
        while queue and len(pool.running) < args.jobs and pool.elapsed() < args.budget:
            _, path, name = queue.pop(0)
            pool.launch(path, name)
        pool.reap()
        if args.adaptive and pool.running and not queue:
            pool.adapt(priority)
        if queue and pool.elapsed() >= args.budget:
            pool.failed += [n for _, _, n in queue]
            queue.clear()
        time.sleep(1.0)
    parts = pack_outputs(ship(work, args.data, scenarios, pool.done), work, out)
    summary = {"trained": pool.done, "unfinished": pool.failed, "parts": [p.name for p in parts],
               "seconds": time.monotonic() - t0}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1), flush=True)
    return 0 if not pool.failed else 1


class Pool:
    """The worker processes training at once, one model each, and what became of them."""

    def __init__(self, args, work: Path, out: Path, t0: float) -> None:
        self.args, self.work, self.out, self.t0 = args, work, out, t0
        self.env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1",
                        PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.running: dict[str, tuple[subprocess.Popen, float, Path]] = {}
        self.done: dict[str, str] = {}
        self.failed: list[str] = []
        self.decided_at: dict[str, int] = {}  # epochs done by each training when the last stop decision was taken

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def launch(self, scenario_path: str, name: str) -> None:
        a = self.args
        log = self.work / "logs" / f"{name}.log"
        cmd = [sys.executable, __file__, scenario_path, "--data", a.data, "--out", str(self.out),
               "--work", str(self.work), "--worker", name] + (["--smoke"] if a.smoke else [])
        proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=self.env)
        self.running[name] = (proc, time.monotonic(), log)

    def stop(self, name: str, why: str) -> None:
        proc, started, _ = self.running.pop(name)
        proc.terminate()
        proc.wait()
        self.failed.append(name)
        print(f"stopped {name} {why} after {time.monotonic() - started:.0f} s", flush=True)

    def reap(self) -> None:
        """Collect the workers that ended (the last line of a worker's log is its JSON result);
        stop every one still running once the budget is spent."""
        for name, (proc, started, log) in list(self.running.items()):
            if proc.poll() is None:
                if self.elapsed() > self.args.budget:
                    self.stop(name, "at the budget")
                continue
            del self.running[name]
            last = log.read_text().strip().splitlines()[-1:] or [""]
            try:
                row = json.loads(last[0])
                self.done[name] = row["key"]
                print(f"done {name} in {time.monotonic() - started:.0f} s: {row['metrics']}", flush=True)
            except (json.JSONDecodeError, KeyError):
                self.failed.append(name)
                print(f"FAILED {name} (rc {proc.returncode}); see {log}", flush=True)

    def adapt(self, priority: list[str]) -> None:
        """Once every running training has finished an epoch since the last decision, stop those
        that keep the rest from ending within the budget (:func:`to_stop`)."""
        seen = {n: epoch_progress(log) for n, (_, _, log) in self.running.items()}
        if not all(p is not None and p[0] > self.decided_at.get(n, 0) for n, p in seen.items()):
            return
        progress = {n: (*p, time.time() - self.running[n][2].stat().st_mtime) for n, p in seen.items()}
        self.decided_at = {n: p[0] for n, p in seen.items()}
        for name in to_stop(progress, priority, self.args.budget - self.elapsed()):
            self.stop(name, f"at epoch {progress[name][0]} (it could not end within the budget)")
        print(f"{self.elapsed():.0f} s: " + ", ".join(f"{n} {p[0]}/{p[1]} ({p[2]:.1f} s/epoch)"
                                                      for n, p in progress.items() if n in self.running), flush=True)


def pack_outputs(shipped: list[Path], work: Path, out: Path) -> list[Path]:
    """The finished models, the logs, and the checkpoints of the unfinished trainings where they
    fit what the device tool brings back: no file over 16 MiB (an NA checkpoint alone is 60 MB),
    ROOM_FILES files and ROOM_BYTES in all. Checkpoint parts that would pass those are dropped."""
    parts = pack(shipped, work / "models", out, "models")
    parts += pack(sorted((work / "logs").glob("*.log")), work, out, "logs")
    root = work / "store" / "checkpoints"
    checkpoints = sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
    fitting = [p for p in checkpoints if p.stat().st_size <= PART_BYTES]
    extra = pack(fitting, work / "store", out, "checkpoints")
    while extra and (len(parts) + len(extra) > ROOM_FILES
                     or sum(p.stat().st_size for p in parts + extra) > ROOM_BYTES):
        extra.pop().unlink()
    kept = 0
    for part in extra:
        with tarfile.open(part) as tar:
            kept += len(tar.getnames())
    if kept < len(checkpoints):
        print(f"{len(checkpoints) - kept} of {len(checkpoints)} checkpoint files do not fit what comes back; "
              "they stay on this machine", flush=True)
    return parts + extra


if __name__ == "__main__":
    raise SystemExit(main())
