"""What a benchmark is doing while it runs: step lines and a progress bar, on stderr.

On a terminal the bar redraws one line in place; otherwise (CI logs, pipes) it prints
a plain line at each quarter, so logs stay short. The results table goes to stdout.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar", "step"]


def step(tool: str, message: str, stream: TextIO | None = None) -> None:
    """One timestamped line: `[tool HH:MM:SS] message`."""
    print(f"[{tool} {time.strftime('%H:%M:%S')}] {message}", file=stream or sys.stderr, flush=True)


class ProgressBar:
    """`label [#########.........]  42/100  note` for one step of known size."""

    WIDTH = 30

    def __init__(self, label: str, total: float, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = max(total, 1e-9)
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._quarter = -1
        self._finished = False

    def render(self, done: float, note: str = "") -> str:
        """The bar's text for `done` of `total` (also used by the tests)."""
        fraction = min(max(done / self.total, 0.0), 1.0)
        filled = round(fraction * self.WIDTH)
        amount = f"{done:,.0f}/{self.total:,.0f}" if self.total >= 1 else f"{100 * fraction:.0f} %"
        text = f"{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {amount}"
        return f"{text}  {note}" if note else text

    def update(self, done: float, note: str = "") -> None:
        if self._finished:
            return
        if self._tty:
            self._stream.write("\r\x1b[2K" + self.render(done, note))
            self._stream.flush()
            return
        quarter = int(4 * min(max(done / self.total, 0.0), 1.0))
        if quarter > self._quarter:
            self._quarter = quarter
            step("progress", self.render(done, note), self._stream)

    def finish(self, note: str = "") -> None:
        """Draw the full bar once more and end its line."""
        if self._finished:
            return
        if self._tty:
            self._stream.write("\r\x1b[2K" + self.render(self.total, note) + "\n")
            self._stream.flush()
        elif self._quarter < 4:
            step("progress", self.render(self.total, note), self._stream)
        self._finished = True
