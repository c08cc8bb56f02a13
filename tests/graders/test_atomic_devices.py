"""An output path that is a device or a pipe is written through, never replaced by a rename."""
from __future__ import annotations

import os
import stat
import threading

from graders.atomic import write_text


def test_writing_to_dev_null_keeps_it_a_device():
    write_text("/dev/null", "a result nobody keeps\n")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)  # renaming over it would make it a regular file


def test_writing_to_a_named_pipe_reaches_its_reader(tmp_path):
    fifo = tmp_path / "out.pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    write_text(fifo, "streamed\n")
    reader.join(timeout=10)
    assert got == ["streamed\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
