"""A rich progress bar for long runs, shown on stderr only when it is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def pass_progress(description: str) -> Iterator[Callable[[float, float, int], None] | None]:
    """Yield a ``progress(t_s, total_s, detections)`` callback, or None off a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(),
        TextColumn("{task.completed:>5.0f}/{task.total:.0f} s"),
        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=console,
    ) as bar:
        task = bar.add_task(description, total=1.0, info="")

        def update(t_s: float, total_s: float, detections: int) -> None:
            bar.update(task, completed=t_s, total=total_s, info=f"{detections:,} clicks")

        yield update


@contextmanager
def session_progress(total_s: float) -> Iterator[Callable[[float, int, int], None] | None]:
    """Yield a ``progress(t_s, packets, key_bits)`` callback for the live protocol."""
    if not sys.stderr.isatty():
        yield None
        return
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]distill"), BarColumn(),
        TextColumn("{task.completed:>5.0f} s"), TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(), console=console,
    ) as bar:
        task = bar.add_task("distill", total=total_s, info="")

        def update(t_s: float, packets: int, key_bits: int) -> None:
            bar.update(task, completed=min(t_s, total_s),
                       info=f"{packets} packets, {key_bits:,} bits of final key")

        yield update
