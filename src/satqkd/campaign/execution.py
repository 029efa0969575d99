"""Where a campaign's tasks run: in this process, or on a Dask cluster.

An executor maps a function over task arguments and reports each finished task to a
callback (for a progress bar); results come back in task order. :class:`SerialExecutor`
runs in the calling process (tests, debugging, tiny campaigns). :class:`DaskExecutor` runs
on ``dask.distributed``: a :class:`~distributed.LocalCluster` of worker processes on this
machine (one thread each: the numeric kernels hold the GIL in places, and processes
scale on any number of cores), or an existing scheduler given by its address
(``tcp://host:8786``), e.g. a cluster started with ``dask scheduler`` / ``dask worker``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from satqkd.errors import InputError

__all__ = ["DaskExecutor", "Executor", "SerialExecutor", "dask_executor"]

T = TypeVar("T")
Done = Callable[[int], None]
"""Called with the number of tasks finished so far."""


class Executor(Protocol):
    """Runs ``fn(*args)`` for each args tuple; returns the results in order."""

    workers: int

    def map(self, fn: Callable[..., T], tasks: Sequence[tuple[Any, ...]],
            done: Done | None = None) -> list[T]: ...


class SerialExecutor:
    """Runs the tasks one after the other in this process."""

    workers = 1

    def map(self, fn: Callable[..., T], tasks: Sequence[tuple[Any, ...]],
            done: Done | None = None) -> list[T]:
        out = []
        for k, args in enumerate(tasks):
            out.append(fn(*args))
            if done is not None:
                done(k + 1)
        return out


class DaskExecutor:
    """Runs the tasks on a ``dask.distributed`` client."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.workers = max(1, len(client.scheduler_info().get("workers", {})))

    def map(self, fn: Callable[..., T], tasks: Sequence[tuple[Any, ...]],
            done: Done | None = None) -> list[T]:
        from dask.distributed import as_completed

        if not tasks:
            return []
        futures = [self.client.submit(fn, *args, pure=False) for args in tasks]
        index = {f.key: k for k, f in enumerate(futures)}
        out: list[Any] = [None] * len(futures)
        for n, future in enumerate(as_completed(futures), start=1):
            out[index[future.key]] = future.result()
            if done is not None:
                done(n)
        return out


@contextmanager
def dask_executor(
    workers: int | None = None, scheduler: str | None = None, *, processes: bool = True,
) -> Iterator[DaskExecutor]:
    """A :class:`DaskExecutor` on a new LocalCluster (``workers`` processes, default: the
    number of cores) or on the scheduler at ``scheduler``; closed on exit."""
    import logging

    from dask.distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler: {exc}", source="--scheduler",
                             value=scheduler) from None
        try:
            yield DaskExecutor(client)
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    if n < 1:
        raise InputError("need at least one worker", source="--workers", value=workers)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes,
                           dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        yield DaskExecutor(client)
    finally:
        client.close()
        cluster.close()
