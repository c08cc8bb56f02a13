"""Trusted helper the csv-batch grader calls inside the sandbox.

``read_outputs`` hands back the files the learner's ``process_file`` wrote,
as capped bytes. The grader parses and judges them in the parent and treats
them as untrusted: the learner's code ran in this process and could have
replaced this function. Memory is not measured here: the grader reads the
peak of the child's processes from the kernel (``measure_memory``), so
nothing the child says about its own memory is believed. Standard library
only.
"""
from __future__ import annotations

import os

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
