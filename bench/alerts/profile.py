"""Summarise py-spy's collapsed stacks (`--format raw`): python -m bench.alerts.profile FILE [TOP].

Prints the share of samples per thread, and the functions with the most samples of their own (self) and in total
(inclusive), so that "where the remaining time goes" reads in a few lines.
"""

from __future__ import annotations

import sys
from collections import Counter


def _name(frame: str) -> str:
    """`function (path/to/file.py:LINE)` → `function (path/to/file.py)`: lines of one function counted together."""
    function, _, where = frame.partition(" (")
    return f"{function} ({where.split(':')[0]})" if where else function


def summary(path: str, top: int = 15) -> str:
    own, inclusive, threads, total = Counter(), Counter(), Counter(), 0
    with open(path, encoding="utf-8", errors="replace") as lines_in:
        text = lines_in.read().splitlines()
    for line in text:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        threads[frames[0]] += n
        names = [_name(f) for f in frames[1:]]
        if names:
            own[names[-1]] += n
        for name in set(names):
            inclusive[name] += n
    if not total:
        return f"{path}: no samples"
    lines = [f"{path}: {total} samples"]
    lines += [f"  thread {t[:60]}: {100 * n / total:.0f}%" for t, n in threads.most_common(6)]
    lines.append("  self:")
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines.append("  inclusive:")
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 15))
