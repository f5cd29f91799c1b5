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
