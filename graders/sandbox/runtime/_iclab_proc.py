"""A process tree's members and CPU time, read from /proc (Linux). Standard library only.

Used by the grader (the CPU an importing child has used) and by the fork server
(the same, for the children it forked, whose PIDs only it knows).
"""
from __future__ import annotations

import os

__all__ = ["process_tree", "tree_cpu_seconds", "tree_memory_kb"]


def process_tree(pid: int) -> list[int]:
    """``pid`` and every live descendant, from /proc (just ``[pid]`` where /proc cannot tell)."""
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p in tree:
            continue
        tree.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children", "rb") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    return tree


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) used so far by ``pid`` and every live descendant; None without /proc."""
    ticks = os.sysconf("SC_CLK_TCK") or 100
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        except (OSError, ValueError, IndexError):
            if p == pid:
                return None
    return total / ticks


def _status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status", "rb") as fh:
        for line in fh:
            if line.startswith(field.encode() + b":"):
                return int(line.split()[1])
    raise OSError(f"no {field} for {pid}")


def tree_memory_kb(pid: int, reset: bool = False) -> int | None:
    """Resident memory of ``pid`` and its live descendants, in KiB; None without /proc.

    ``reset`` first sets each process's peak (VmHWM) back to its current size
    (``clear_refs`` 5) and returns the current total (VmRSS); otherwise it
    returns the total of the peaks since the last reset.
    """
    total = 0
    for p in process_tree(pid):
        try:
            if reset:
                with open(f"/proc/{p}/clear_refs", "w", encoding="ascii") as fh:
                    fh.write("5")
            total += _status_kb(p, "VmRSS" if reset else "VmHWM")
        except (OSError, ValueError):
            if p == pid:
                return None
    return total
