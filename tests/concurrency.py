"""Racing requests or actions against each other as concurrent workers do: one thread each,
released together, each on its own database connection."""

import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.db import connections

T = TypeVar("T")
R = TypeVar("R")


def race(work: Callable[[T], R], inputs: Iterable[T]) -> list[R]:
    """``work(item)`` for every item at once, one thread each, released together by a barrier;
    the answers in the order of ``inputs``. Each thread closes its database connections; the
    first exception a thread raised is raised here once every thread has finished."""
    items = list(inputs)
    barrier = threading.Barrier(len(items))
    answers: list = [None] * len(items)
    errors: list[BaseException] = []

    def run(index: int, item: T) -> None:
        try:
            barrier.wait()
            answers[index] = work(item)
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, item)) for i, item in enumerate(items)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return answers
