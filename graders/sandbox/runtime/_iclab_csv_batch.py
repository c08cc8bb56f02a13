"""Trusted helpers the csv-batch grader calls inside the sandbox.

``read_outputs`` hands back the files the learner's ``process_file`` wrote,
as capped bytes; ``measure`` runs ``process_file`` and reports how much the
process's peak memory grew during the call. The grader judges both answers
in the parent and treats them as untrusted: the learner's code ran in this
process. Standard library only.
"""
from __future__ import annotations

import importlib
import os
import resource
import sys

OUTPUTS = ("accepted.jsonl", "rejects.jsonl")
CAP = 256 * 1024  # the hidden files are small; more than this is itself a finding


def read_outputs(out_dir: str) -> dict:
    """The output folder's listing and the first CAP+1 bytes of each output file (None when absent)."""
    listing = sorted(os.listdir(out_dir))[:50] if os.path.isdir(out_dir) else None
    files = {}
    for name in OUTPUTS:
        path = os.path.join(out_dir, name)
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                files[name] = handle.read(CAP + 1)
        else:
            files[name] = None
    return {"listing": listing, "files": files, "cap": CAP}


def _status_kb(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in KiB."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def _peak_probe():
    """(current KiB, function returning the peak KiB since now) for this platform.

    ru_maxrss is not enough on Linux: a process started with vfork+exec inherits
    its parent's high-water mark, which can hide the growth entirely. VmHWM
    belongs to this process's own memory map; writing 5 to clear_refs resets it
    to the current size where the kernel allows.
    """
    try:
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
                handle.write("5")
        except OSError:
            pass  # without a reset, VmHWM still starts at this process's exec
        return _status_kb("VmRSS"), lambda: _status_kb("VmHWM")
    except OSError:
        scale = 1024 if sys.platform == "darwin" else 1  # ru_maxrss is bytes on macOS, KiB on Linux
        return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // scale,
                lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // scale)


def measure(path: str, out_dir: str) -> dict:
    """Call nightly.process_file(path, out_dir); return its summary and the peak-memory growth in KiB."""
    module = importlib.import_module("nightly")
    before, peak = _peak_probe()
    summary = module.process_file(path, out_dir)
    return {"summary": summary, "growth_kb": max(0, peak() - before)}
