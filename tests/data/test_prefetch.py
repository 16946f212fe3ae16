"""Loading ahead yields the same batches in the same order, builds them while the
consumer is busy, raises a loading error at the batch it stopped at, and stops."""

import itertools
import threading
import time

import numpy as np
import pytest

from nssgan import data
from nssgan.data.prefetch import Prefetch


def test_the_batches_and_their_order_are_the_datasets():
    dataset = data.make_dataset('digits', batch_size=8, image_size=8, seed=3)
    with Prefetch(dataset.iterate(5), lambda b: b['image'] * 2) as ahead:
        got = list(itertools.islice(ahead, 6))
    for step, images in zip(range(5, 11), got):
        np.testing.assert_array_equal(images, dataset.batch(step)['image'] * 2)


def test_batches_are_built_ahead_while_the_consumer_works_and_no_further():
    built = []

    def record(i):
        built.append(i)
        return i

    with Prefetch(iter(range(100)), record, size=3) as ahead:
        assert next(ahead) == 0
        # While the consumer does not ask: taken (1), queued (3), one waiting to queue.
        deadline = time.monotonic() + 30
        while len(built) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        assert built == [0, 1, 2, 3, 4]
        assert [next(ahead) for _ in range(3)] == [1, 2, 3]


def test_an_error_in_loading_is_raised_at_its_batch():
    def batches():
        yield 1
        yield 2
        raise OSError('disk gone')

    with Prefetch(batches(), lambda b: b) as ahead:
        assert [next(ahead), next(ahead)] == [1, 2]
        with pytest.raises(OSError, match='disk gone'):
            next(ahead)
        with pytest.raises(OSError, match='disk gone'):
            next(ahead)


def test_a_finite_stream_ends_and_close_stops_an_endless_one():
    assert list(Prefetch(iter(range(4)), lambda b: b)) == [0, 1, 2, 3]
    ahead = Prefetch(itertools.count(), lambda b: b)
    next(ahead)
    ahead.close()
    assert not any(t.name == 'nssgan-prefetch' and t.is_alive() for t in threading.enumerate())
