"""VirtualClock: virtual time moves only when told to, thread-safely, and stalls are bounded."""

from __future__ import annotations

import threading
import time

import pytest

from mock_services import MAX_REAL_STALL, VirtualClock


def test_sleep_advances_virtual_time_without_real_waiting() -> None:
    clock = VirtualClock()
    start_now, start_mono, real = clock.now(), clock.monotonic(), time.monotonic()
    clock.sleep(3600)
    assert clock.now() - start_now == 3600
    assert clock.monotonic() - start_mono == 3600
    assert time.monotonic() - real < 1.0  # an hour of virtual sleep is (nearly) free


def test_time_stands_still_unless_moved() -> None:
    clock = VirtualClock(start=1_000_000.0)
    assert clock.now() == clock.now() == 1_000_000.0
    assert clock.monotonic() > 0  # never 0: code that treats 0 as "unset" stays honest


def test_negative_sleep_is_refused_like_time_sleep() -> None:
    clock = VirtualClock()
    with pytest.raises(ValueError):
        clock.sleep(-1)
    with pytest.raises(ValueError):
        clock.advance(-0.5)


def test_advance_to_never_goes_backwards() -> None:
    clock = VirtualClock(start=100.0)
    assert clock.advance_to(150.0) == 150.0
    assert clock.advance_to(120.0) == 150.0


def test_real_stall_is_dilated_and_capped() -> None:
    clock = VirtualClock(dilation=100)
    assert clock.real_stall(30) == pytest.approx(0.3)
    assert clock.real_stall(10_000) == MAX_REAL_STALL == 2.0
    assert clock.real_stall(0) == 0.0
    with pytest.raises(ValueError):
        VirtualClock(dilation=0)


def test_concurrent_advances_are_not_lost() -> None:
    clock = VirtualClock()
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        for _ in range(1000):
            clock.advance(1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.elapsed() == 8000


def test_isoformat_renders_virtual_now() -> None:
    assert VirtualClock(start=0).isoformat() == "1970-01-01T00:00:00Z"
