"""What the grader measures about a child from outside it: memory from the kernel, fresh interpreters."""
from __future__ import annotations

import textwrap

from graders.sandbox import Limits, Sandbox

MODULE = textwrap.dedent('''\
    import sys

    KEEP = []

    def grow(mb):
        KEEP.append(bytearray(mb * 1024 * 1024))  # touched: bytearray zero-fills its pages
        return len(KEEP)

    def small():
        return 1

    def seed():
        return hash("iclab")

    def lie_about_memory():
        # A child cannot reach the grader's reading: patching what it could see changes nothing.
        import builtins
        builtins.open = None
        KEEP.append(bytearray(40 * 1024 * 1024))
        return 0
''')


def _sub(tmp_path):
    (tmp_path / "m.py").write_text(MODULE)
    return tmp_path


def test_peak_memory_of_a_call_is_read_by_the_grader_from_the_kernel(tmp_path, mode):
    with Sandbox(_sub(tmp_path), Limits(memory_mb=512)) as box:
        small = box.call("m:small", measure_memory=True)
        big = box.call("m:grow", 60, measure_memory=True)
        lying = box.call("m:lie_about_memory", measure_memory=True)
        plain = box.call("m:small")
    assert small.ok and big.ok and lying.ok
    assert small.peak_growth_kb is not None and small.peak_growth_kb < 10 * 1024
    assert big.peak_growth_kb >= 55 * 1024
    assert lying.peak_growth_kb >= 35 * 1024
    assert plain.peak_growth_kb is None  # only measured when asked


def test_a_new_interpreter_shares_no_hash_seed_with_the_last(tmp_path, mode):
    seeds = set()
    for _ in range(3):
        with Sandbox(_sub(tmp_path), Limits(), new_interpreter=True) as box:
            record = box.call("m:seed")
            assert record.ok
            seeds.add(record.value)
    assert len(seeds) == 3  # three processes, three hash seeds: "a rerun" that is one
