"""Summarize a py-spy ``--format raw`` profile (collapsed stacks): top frames, inclusive and self.

    python -m loadtests.profile_summary prof.txt [--top 20]

With ``--subprocesses`` the stacks start with ``process PID:"cmdline"`` frames; only the
busiest process (most samples not in a waiting leaf frame) is summarized. Percentages are of that process's samples
(py-spy records non-idle samples only, so 100 % is the time the process was on CPU).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Profile", "load", "markdown"]

_LOCATION = re.compile(r" \((.*?):\d+\)$")


@dataclass(frozen=True, slots=True)
class Profile:
    process: str
    samples: int
    inclusive: Counter[str]
    leaf: Counter[str]


def _name(frame: str) -> str:
    """'Cls.method (path/file.py:12)' → 'Cls.method (path/file.py)': lines merged."""
    return _LOCATION.sub(lambda m: f" ({m.group(1)})", frame)


# Leaf frames of threads that py-spy may count as active while they only wait.
IDLE_LEAVES = ("EpollSelector.select", "ThreadedChildWatcher._do_waitpid", "SqliteRoomStore._serve",
               "Condition.wait", "Thread.join", "Event.wait", "Queue.get")


def load(path: Path, process_filter: str | None = None) -> Profile:
    """Load a raw profile; summarize the process whose name contains `process_filter` (if given)
    with the most non-idle samples."""
    by_process: dict[str, list[tuple[list[str], int]]] = {}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        process = ""
        while frames and frames[0].startswith("process "):
            process = frames.pop(0)
        by_process.setdefault(process, []).append((frames, int(count)))
    def busy(item: tuple[str, list[tuple[list[str], int]]]) -> int:
        return sum(c for frames, c in item[1] if frames and not frames[-1].startswith(IDLE_LEAVES))

    candidates = [i for i in by_process.items() if process_filter is None or process_filter in i[0]]
    process, stacks = max(candidates or by_process.items(), key=busy)
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    for frame_list, samples in stacks:
        names = [_name(f) for f in frame_list]
        for name in set(names):
            inclusive[name] += samples
        if names:
            leaf[names[-1]] += samples
    return Profile(process, sum(c for _, c in stacks), inclusive, leaf)


def markdown(profile: Profile, top: int = 20) -> str:
    lines = [f"process: {profile.process or '(single)'}; {profile.samples} samples", "",
             "| inclusive % | frame |", "| ---: | --- |"]
    for name, count in profile.inclusive.most_common(top):
        lines.append(f"| {100 * count / profile.samples:.1f} | `{name}` |")
    lines += ["", "| self % | frame |", "| ---: | --- |"]
    for name, count in profile.leaf.most_common(top):
        lines.append(f"| {100 * count / profile.samples:.1f} | `{name}` |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--process", help="only processes whose command line contains this")
    args = parser.parse_args()
    print(markdown(load(args.path, args.process), args.top))


if __name__ == "__main__":
    main()
