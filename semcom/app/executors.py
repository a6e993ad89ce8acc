"""Where sweep points run: in this process (default) or on a Dask cluster.

Either way the main process journals each finished point, so results, resumption and
their order are the same; each point draws its randomness from its own seed, so a
point computes the same numbers wherever it runs.
"""

from __future__ import annotations

from typing import Callable, Iterator

from semcom.errors import SemcomError
from semcom.evaluation import CodecBench, PointResult, SweepPoint

BenchFactory = Callable[[str], CodecBench]


class LocalExecutor:
    """Points one after another, each codec's bench built once, on first use."""

    def run(self, points: list[SweepPoint], make_bench: BenchFactory,
            n_examples: Callable[[SweepPoint], int]) -> Iterator[tuple[SweepPoint, PointResult]]:
        benches: dict[str, CodecBench] = {}
        for point in points:
            if point.codec not in benches:
                benches[point.codec] = make_bench(point.codec)
            yield point, benches[point.codec].run(point, n_examples(point))


def _run_on_worker(bench: CodecBench, point: SweepPoint, n_examples: int) -> PointResult:
    return bench.run(point, n_examples)


class DaskExecutor:
    """Points as Dask tasks. ``address`` names a running scheduler; without one a local
    cluster is started (and closed afterwards). Each codec's bench (models, encoded test
    set) is sent to the workers once with ``scatter``; results stream back as they finish.
    """

    def __init__(self, address: str | None = None, n_workers: int | None = None) -> None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise SemcomError("--executor dask needs the dask extra: pip install 'semcom[dask]'") from None
        self.address = address
        self.n_workers = n_workers

    def run(self, points: list[SweepPoint], make_bench: BenchFactory,
            n_examples: Callable[[SweepPoint], int]) -> Iterator[tuple[SweepPoint, PointResult]]:
        from distributed import Client, LocalCluster, as_completed

        cluster = None
        if self.address is None:
            cluster = LocalCluster(n_workers=self.n_workers or 1, threads_per_worker=1, processes=False,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            try:
                client = Client(self.address, timeout="20s")
            except OSError as exc:
                raise SemcomError(f"cannot reach the Dask scheduler at {self.address}: {exc}") from None
        try:
            scattered = {}
            futures = {}
            for point in points:
                if point.codec not in scattered:
                    scattered[point.codec] = client.scatter(make_bench(point.codec), broadcast=True)
                fut = client.submit(_run_on_worker, scattered[point.codec], point, n_examples(point),
                                    pure=False)
                futures[fut] = point
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def make_executor(name: str, address: str | None = None) -> LocalExecutor | DaskExecutor:
    if name == "local":
        return LocalExecutor()
    if name == "dask":
        return DaskExecutor(address)
    raise SemcomError(f"unknown executor {name!r}; expected 'local' or 'dask'")
