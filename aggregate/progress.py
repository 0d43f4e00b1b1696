"""Progress of long commands, on stderr: a tqdm bar on a terminal, plain lines anywhere else.

A bar redrawn with carriage returns turns a log file (nohup, CI, ``2> log``) into one
unreadable line, and no output at all looks like a hang; so where stderr is not a
terminal, a line such as ``rendering: 1200/18875 clips (6%), 98 clips/s, eta 3 min``
is printed when ``INTERVAL_S`` have passed since the last one, or when another
tenth of the work is done (but not more than one a second), and once at the end.
A job done within ``QUIET_S`` prints nothing: a progress line there is only noise
(and would come before a command's one-line error).
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager

INTERVAL_S = 10.0
STEPS = 10  # a line at each tenth of the work
MIN_INTERVAL_S = 1.0  # a fast job's steps would otherwise flood the log
QUIET_S = 2.0


@contextmanager
def show_progress(total: int, what: str, unit: str, enabled: bool = True, initial: int = 0):
    """Yield an object whose ``update(n)`` counts ``n`` more units done; ``enabled=False`` (``-q``) shows nothing.
    ``unit`` "B" counts bytes (shown in MB)."""
    if not enabled:
        yield _Silent()
    elif sys.stderr.isatty():
        from tqdm import tqdm

        with tqdm(total=total, initial=initial, desc=what, unit=unit, unit_scale=unit == "B", leave=False,
                  smoothing=0.1) as bar:
            yield bar
    else:
        lines = _Lines(total, what, unit, initial)
        yield lines
        lines.finish()


class _Silent:
    def update(self, n: int = 1) -> None:
        pass


class _Lines:
    def __init__(self, total: int, what: str, unit: str, initial: int):
        self.total, self.what, self.unit = total, what, unit
        self.done = self.initial = initial
        self.start = self.last = time.monotonic()
        self.last_step = self._step()
        self.printed = False

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.done >= self.total:
            return  # the final line says it
        now = time.monotonic()
        since = now - self.last
        if now - self.start < QUIET_S:
            return
        if since >= INTERVAL_S or (self._step() > self.last_step and since >= MIN_INTERVAL_S):
            self._print(now)

    def finish(self) -> None:
        now = time.monotonic()
        if self.printed or now - self.start >= QUIET_S:
            self._print(now, final=True)

    def _step(self) -> int:
        return self.done * STEPS // self.total if self.total else 0  # integers: 3/10 is exactly a tenth

    def _print(self, now: float, final: bool = False) -> None:
        self.last, self.last_step, self.printed = now, self._step(), True
        elapsed = now - self.start
        rate = (self.done - self.initial) / elapsed if elapsed > 0 else 0.0
        percent = f" ({100 * self.done // self.total}%)" if self.total else ""
        line = f"{self.what}: {self._amount(self.done)}/{self._amount(self.total)} {self._units()}{percent}"
        if rate:
            line += f", {self._amount(rate)} {self._units()}/s"
        if final:
            line += f", {duration(elapsed)}"
        elif rate:
            line += f", eta {duration((self.total - self.done) / rate)}"
        print(line, file=sys.stderr, flush=True)

    def _amount(self, n: float) -> str:
        return f"{n / 1e6:.0f}" if self.unit == "B" else f"{n:.0f}"

    def _units(self) -> str:
        return "MB" if self.unit == "B" else f"{self.unit}s"


def duration(seconds: float) -> str:
    """A rough duration for people: ``40 s``, ``3 min``, ``2.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
