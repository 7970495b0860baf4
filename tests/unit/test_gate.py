"""The analytics store's gate: readers together, a writer alone."""

from __future__ import annotations

import threading
import time

from leadfunnel.adapters.warehouse.gate import ReadWriteGate


def test_a_writer_waits_for_the_readers_and_readers_wait_for_the_writer() -> None:
    gate, events = ReadWriteGate(), []
    reading, writer_waiting = threading.Event(), threading.Event()

    def write() -> None:
        writer_waiting.set()
        with gate.writing():
            events.append("write")
            time.sleep(0.1)
        events.append("written")

    with gate.reading(), gate.reading():  # two readers at once
        reading.set()
        writer = threading.Thread(target=write)
        writer.start()
        assert writer_waiting.wait(5)
        time.sleep(0.1)
        events.append("readers leave")
    writer.join(5)
    with gate.reading():  # after the writer: readers enter again
        events.append("read")
    assert events == ["readers leave", "write", "written", "read"]
