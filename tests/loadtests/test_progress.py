"""The benchmarks' progress bar: drawn in place on a terminal, a line per quarter otherwise."""

from __future__ import annotations

import io

from loadtests.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_text_shows_the_fraction_done() -> None:
    bar = ProgressBar("setup", 200)
    assert bar.render(50, "12 streams") == "setup [########......................] 50/200  12 streams"
    assert bar.render(500).startswith("setup [" + "#" * 30 + "]")  # clamped
    assert bar.render(-3) == "setup [" + "." * 30 + "] -3/200"


def test_a_pipe_gets_one_line_per_quarter_and_one_at_the_end() -> None:
    log = io.StringIO()
    bar = ProgressBar("window", 100, log)
    for done in range(101):
        bar.update(done)
    bar.finish("done")
    lines = log.getvalue().splitlines()
    assert len(lines) == 5 and all("[progress " in line for line in lines)  # 0, 25, 50, 75, 100 %
    bar.update(50)  # after finish: nothing more
    assert len(log.getvalue().splitlines()) == 5


def test_a_terminal_redraws_one_line() -> None:
    screen = Terminal()
    bar = ProgressBar("window", 10, screen)
    for done in range(11):
        bar.update(done)
    bar.finish()
    text = screen.getvalue()
    assert text.count("\n") == 1 and text.count("\r") == 12
