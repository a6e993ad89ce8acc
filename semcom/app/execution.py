"""Computing a run's sweep points: what is missing from the journal, evaluated and journaled one by one."""

from __future__ import annotations

import hashlib
from pathlib import Path

from semcom.app.executors import LocalExecutor
from semcom.app.journal import Journal
from semcom.app.results import save_array
from semcom.errors import SemcomError
from semcom.codecs.analog import AnalogCodec
from semcom.evaluation import AnalogBench, CodecBench, CodecUnderTest
from semcom.progress import Progress, log
from semcom.sweep import SweepPoint


def example_path(run_dir: Path, point_id: str, kind: str = "examples") -> Path:
    return run_dir / kind / (hashlib.sha1(point_id.encode()).hexdigest()[:16] + ".npy")


def pending_points(journal: Journal, points: list[SweepPoint], codecs: list[CodecUnderTest],
                   run_dir: Path) -> list[SweepPoint]:
    """The points not yet journaled; refuses a journal written with other models."""
    keys = {c.name: c.model_key for c in codecs}
    done = journal.completed()
    stale = [pid for pid, e in done.items() if e.get("model_key") != keys.get(e["row"]["codec"])]
    if stale:
        raise SemcomError(f"{run_dir}: {len(stale)} journaled points were computed with other models "
                          f"(e.g. {stale[0]}); pass --fresh to start a separate run")
    todo = [p for p in points if p.point_id not in done]
    if done:
        log(f"resuming {run_dir}: {len(points) - len(todo)} of {len(points)} points already computed")
    return todo


def compute_points(todo: list[SweepPoint], journal: Journal, run_dir: Path, make_bench, codecs: list[CodecUnderTest],
                   *, examples_for, executor=None, progress: bool = True, n_images: int = 0) -> None:
    """Evaluate ``todo`` (in any order, on any executor) and journal each point as it finishes."""
    if not todo:
        return
    log(f"evaluating {len(todo)} points on {n_images} test images")
    by_name = {c.name: c for c in codecs}
    bar = Progress(len(todo), "sweep", enabled=progress)
    for point, result in (executor or LocalExecutor()).run(todo, make_bench, examples_for):
        if len(result.examples):
            save_array(example_path(run_dir, point.point_id), result.examples)
            save_array(example_path(run_dir, point.point_id, "predictions"), result.example_predictions)
        if result.latency is not None:
            save_array(example_path(run_dir, point.point_id, "latency"), result.latency)
        journal.append({"point_id": point.point_id, "model_key": by_name[point.codec].model_key,
                        "row": result.row, "class_rows": result.class_rows})
        bar.update(postfix=f"{point.codec} {point.setting} seed {point.seed}: "
                           f"acc {100 * result.row['accuracy']:.1f}%")
    bar.close()


def bench_factory(codecs: list[CodecUnderTest], classifier, images, labels, *, erasure_policy: str, mapping: str):
    by_name = {c.name: c for c in codecs}

    def make_bench(name: str) -> CodecBench | AnalogBench:
        bench = AnalogBench if isinstance(by_name[name].codec, AnalogCodec) else CodecBench
        return bench(by_name[name], classifier, images, labels, erasure_policy=erasure_policy, mapping=mapping)

    return make_bench
