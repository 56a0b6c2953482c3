"""Reading a gRPC call's request messages without blocking its worker thread for as long as
the client likes: ``PolledRequests`` (a stream, with a tick while nothing comes or when woken) and
``one_request`` (the one message of a call ``add_service`` hands its stream)."""

import contextlib
import queue
import threading
from collections.abc import Iterator

import grpc
from django.conf import settings

from edgeplug.grpc_server import abort

_END = object()
_WAKE = object()


class PolledRequests:
    """The messages of ``requests`` (a call's request stream), iterated, and None each
    ``every_s`` seconds that the next one does not come, or at once when another thread calls
    ``wake``: the call's thread can check its caller again, or stop waiting, while the client
    sends nothing, where reading the stream blocks until a message, its end or the call's. The
    stream is read on a thread of its own, one message when the next is wanted (a client
    cannot make the server hold more of its messages than before); ``close`` lets that thread
    end with the call."""

    def __init__(self, requests: Iterator, every_s: float) -> None:
        self._every_s = every_s
        self._wanted, self._answers = queue.SimpleQueue(), queue.SimpleQueue()

        def read() -> None:
            while self._wanted.get():
                try:
                    self._answers.put((next(requests, _END), None))
                except Exception as error:  # noqa: BLE001 - raised again on the call's thread
                    self._answers.put((None, error))
                    return

        threading.Thread(target=read, name="grpc-requests", daemon=True).start()

    def __iter__(self) -> Iterator:
        asked = False
        while True:
            if not asked:
                self._wanted.put(True)
                asked = True
            try:
                answer = self._answers.get(timeout=self._every_s)
            except queue.Empty:
                answer = _WAKE
            if answer is _WAKE:
                yield None
                continue
            asked = False
            request, error = answer
            if error is not None:
                raise error
            if request is _END:
                return
            yield request

    def wake(self) -> None:
        """From any thread: the iteration yields None now, as when ``every_s`` passes."""
        self._answers.put(_WAKE)

    def close(self) -> None:
        self._wanted.put(False)


def one_request(requests: Iterator, context: grpc.ServicerContext):
    """The one request message of a call of ``add_service``'s, read once the method has
    checked its caller: waited for at most ``GRPC_REQUEST_WAIT_S`` seconds, else the call is
    ended ``DEADLINE_EXCEEDED`` ``request_timeout``, and the worker thread is free again."""
    with contextlib.closing(PolledRequests(requests, settings.GRPC_REQUEST_WAIT_S)) as polled:
        request = next(iter(polled), _END)
    if request is None:
        abort(
            context,
            grpc.StatusCode.DEADLINE_EXCEEDED,
            "request_timeout",
            f"the request message did not arrive within {settings.GRPC_REQUEST_WAIT_S:g} s",
        )
    if request is _END:
        abort(
            context,
            grpc.StatusCode.INVALID_ARGUMENT,
            "malformed_message",
            "the call ended without its request message",
        )
    return request
