"""Loading ahead: a background thread builds the next batches (on the host, then on the
devices) while the current step runs, so that a step does not wait for its data when
loading is faster than a step.

The batches come in step order and are those of ``Dataset.iterate``: loading ahead
changes when a batch is built, never which one it is.
"""

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

_DONE = object()


class Prefetch:
    """Iterates ``convert(batch)`` for the batches of ``batches``, ``size`` of them built
    ahead in a daemon thread; an error there is raised here, at the batch it stopped at.
    ``close()`` (or the end of a ``with`` block) stops the thread."""

    def __init__(self, batches: Iterator, convert: Callable[[Any], Any], size: int = 2):
        if size < 1:
            raise ValueError(f'size={size} must be ≥ 1 (the batches built ahead).')
        self._queue = queue.Queue(maxsize=size)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._fill, args=(batches, convert), name='nssgan-prefetch', daemon=True
        )
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _fill(self, batches: Iterator, convert) -> None:
        try:
            for batch in batches:
                if not self._put(convert(batch)):
                    return
        except BaseException as e:  # Raised in the consumer's thread instead.
            self._put(_Raised(e))
            return
        self._put(_DONE)

    def __iter__(self) -> 'Prefetch':
        return self

    def __next__(self):
        item = self._queue.get()
        if item is _DONE:
            self._queue.put(_DONE)
            raise StopIteration
        if isinstance(item, _Raised):
            self._queue.put(item)
            raise item.error
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def __enter__(self) -> 'Prefetch':
        return self

    def __exit__(self, *exc_info):
        self.close()


class _Raised:
    def __init__(self, error: BaseException):
        self.error = error
