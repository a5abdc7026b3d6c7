"""The progress bar on the terminal: tqdm or rich when installed, a plain line otherwise."""
from __future__ import annotations

import sys
import time

__all__ = ["progress_bar"]


def progress_bar(total: int, done: int, title: str, enabled: bool = True):
    """A bar for ``total`` points of which ``done`` are already finished; call
    ``update(failed: bool)`` per finished point and ``close()`` at the end."""
    if not enabled:
        return _Silent()
    try:
        from tqdm import tqdm
        return _Tqdm(tqdm(total=total, initial=done, desc=title, unit="point", file=sys.stderr))
    except ImportError:
        pass
    try:
        import rich.progress
        return _Rich(rich.progress, total, done, title)
    except ImportError:
        return _Plain(total, done, title)


class _Silent:
    def update(self, failed: bool) -> None:
        pass

    def close(self) -> None:
        pass


class _Tqdm:
    def __init__(self, bar):
        self.bar, self.errors = bar, 0

    def update(self, failed: bool) -> None:
        self.errors += failed
        if self.errors:
            self.bar.set_postfix(errors=self.errors, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


class _Rich:
    def __init__(self, rp, total: int, done: int, title: str):
        self.view = rp.Progress(rp.TextColumn("{task.description}"), rp.BarColumn(),
                                rp.MofNCompleteColumn(), rp.TimeElapsedColumn(),
                                rp.TextColumn("eta"), rp.TimeRemainingColumn(), transient=False)
        self.view.start()
        self.task = self.view.add_task(title, total=total, completed=done)

    def update(self, failed: bool) -> None:
        self.view.advance(self.task)

    def close(self) -> None:
        self.view.stop()


class _Plain:
    """One status line on stderr, rewritten in place on a terminal, otherwise printed
    at most every 10 s (and at the end) so that logs stay short."""

    def __init__(self, total: int, done: int, title: str):
        self.total, self.done, self.title, self.errors = total, done, title, 0
        self.start, self.first, self.shown = time.monotonic(), done, 0.0
        self.tty = sys.stderr.isatty()

    def update(self, failed: bool) -> None:
        self.done += 1
        self.errors += failed
        now = time.monotonic()
        if self.tty or now - self.shown >= 10 or self.done == self.total:
            self.shown = now
            self._show(now)

    def _show(self, now: float) -> None:
        ran = self.done - self.first
        left = (now - self.start) / ran * (self.total - self.done) if ran else 0.0
        line = (f"{self.title}: {self.done}/{self.total} points, {self.errors} errors, "
                f"eta {int(left) // 60}m{int(left) % 60:02d}s")
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n",
              file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty:
            print(file=sys.stderr)
