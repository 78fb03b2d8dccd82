"""
A total deadline for blocking HTTP calls: connect, send and read the whole answer.

Socket timeouts apply to each read, so a server that sends one byte every quarter second holds a
blocking call forever. One watchdog thread per process shuts down the socket of any call still
running at its deadline; the blocked read then fails at once and the call reports a timeout.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# A call whose connection has no socket yet (still connecting) is looked at again this often.
RECHECK_SECONDS = 0.05


class CallDeadline:
    """
    The deadline of one call, and the sockets it runs on once the HTTP library opens or picks them.

    :param deadline: ``time.monotonic()`` after which the call is cut.
    """

    __slots__ = ("deadline", "done", "expired", "sockets")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        # Every socket the call used: a connection lets go of its socket once an answer says
        # "Connection: close", while the body is still being read from it.
        self.sockets: list[socket.socket] = []
        self.done = False
        self.expired = False

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 0.0)


class Watchdog:
    """Cuts the sockets of calls that outlive their deadline; one thread, started on first use."""

    def __init__(self) -> None:
        self._start_afresh()
        # A forked child (Airflow forks its task processes) has none of the parent's threads, and
        # may hold a lock the parent's thread held: it starts its own watchdog when it needs one.
        os.register_at_fork(after_in_child=self._start_afresh)

    def _start_afresh(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, CallDeadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._current = threading.local()

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[CallDeadline]:
        """The calling thread's HTTP call must be over within ``seconds``."""
        call = CallDeadline(time.monotonic() + seconds)
        self._schedule(call, call.deadline)
        self._current.call = call
        try:
            yield call
        finally:
            call.done = True  # left in the heap: dropped when its moment comes, no wake-up now
            self._current.call = None

    def watch(self, sock: socket.socket | None) -> None:
        """The calling thread's call (if one is watched) uses ``sock``: cut it too at the deadline."""
        call = getattr(self._current, "call", None)
        if call is not None and sock is not None:
            call.sockets.append(sock)
            if call.expired:
                _cut(sock)

    def _schedule(self, call: CallDeadline, moment: float) -> None:
        with self._condition:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="payjobs-deadlines", daemon=True)
                self._thread.start()
            wake_now = not self._heap or moment < self._heap[0][0]
            heapq.heappush(self._heap, (moment, next(self._order), call))
            if wake_now:  # only an earlier deadline changes when the thread must wake
                self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._condition.wait(timeout)
                _, _, call = heapq.heappop(self._heap)
            if call.done:
                continue
            call.expired = True
            for sock in call.sockets:
                _cut(sock)
            if not call.sockets:  # still connecting (its connect timeout bounds that): look again
                self._schedule(call, time.monotonic() + RECHECK_SECONDS)


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed, or detached by a TLS wrap: nothing to cut
        sock.shutdown(socket.SHUT_RDWR)


WATCHDOG = Watchdog()
