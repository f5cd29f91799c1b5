"""The served process writes its log lines on a thread of its own: a stream that blocks holds that thread,
not the caller; lines keep their order; flush and close return once every queued line is written."""

from __future__ import annotations

import io
import logging
import threading
import time

from ucs_graphql.web.logging import BackgroundStreamHandler


class BlockingStream(io.StringIO):
    """A stream whose writes wait until `open` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.open = threading.Event()

    def write(self, text: str) -> int:
        self.open.wait(10)
        return super().write(text)


def test_a_blocked_stream_does_not_hold_the_caller_and_loses_nothing():
    stream = BlockingStream()
    handler = BackgroundStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.Logger("test.writer")
    logger.addHandler(handler)
    started = time.perf_counter()
    for n in range(200):
        logger.info("line %d", n)
    assert time.perf_counter() - started < 1.0  # the writes wait; the caller does not
    assert stream.getvalue() == ""
    stream.open.set()
    handler.flush()
    assert stream.getvalue().splitlines() == [f"line {n}" for n in range(200)]
    logger.info("last")
    handler.close()
    assert stream.getvalue().splitlines()[-1] == "last"
    logger.info("after close")  # written at once, by the caller
    assert stream.getvalue().splitlines()[-1] == "after close"


class CountingStream(io.StringIO):
    """A stream that counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_lines_that_keep_coming_are_written_in_rounds_and_flush_does_not_wait_for_the_round():
    stream = CountingStream()
    handler = BackgroundStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.Logger("test.rounds")
    logger.addHandler(handler)
    started = time.perf_counter()
    n = 0
    while time.perf_counter() - started < 0.3:  # a line every millisecond for 0.3 s
        logger.info("line %d", n)
        n += 1
        time.sleep(0.001)
    flushing = time.perf_counter()
    handler.flush()
    assert time.perf_counter() - flushing < 0.04  # not the end of the round
    assert stream.getvalue().splitlines() == [f"line {i}" for i in range(n)]
    # one write per round of 50 ms (and the one of the flush), not one per line or per 5 ms
    assert stream.writes <= 0.3 / 0.05 + 3
    time.sleep(2 * handler.GATHER_SECONDS)  # the thread goes back to waiting; a new line wakes it
    logger.info("later")
    deadline = time.perf_counter() + 2
    while "later" not in stream.getvalue() and time.perf_counter() < deadline:
        time.sleep(0.005)
    assert stream.getvalue().splitlines()[-1] == "later"
    handler.close()
