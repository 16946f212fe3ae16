"""What a run prints: libraries' INFO lines hidden, their warnings kept without their
tracebacks, the stray tracebacks of an Orbax read that already failed dropped."""

import logging
import os
import sys

from nssgan import console


def _record(pathname, level, exc_info=None):
    return logging.LogRecord('x', level, pathname, 1, 'message', None, exc_info)


def test_library_records_lose_info_lines_and_tracebacks_ours_keep_them():
    quiet = console.LibraryInfoFilter()
    try:
        raise ValueError('RESOURCE_EXHAUSTED')
    except ValueError:
        error = sys.exc_info()
    orbax = _record('/site-packages/orbax/checkpoint/x.py', logging.ERROR, error)
    assert quiet.filter(orbax) and orbax.exc_info is None and orbax.getMessage() == 'message'
    assert not quiet.filter(_record('/site-packages/orbax/checkpoint/x.py', logging.INFO))
    clu = _record('/site-packages/clu/asynclib.py', logging.ERROR, error)
    assert quiet.filter(clu) and clu.exc_info is None
    abandoned = _record('/lib/python3.11/asyncio/base_events.py', logging.ERROR, error)
    abandoned.msg = 'Task exception was never retrieved'
    assert not quiet.filter(abandoned)
    ours = _record('/work/nssgan/train.py', logging.ERROR, error)
    assert quiet.filter(ours) and ours.exc_info is error
    assert quiet.filter(_record('/work/nssgan/train.py', logging.INFO))


def _coroutine_defined_in(filename):
    namespace = {}
    exec(compile('async def read():\n    pass\n', filename, 'exec'), namespace)
    return namespace['read']()


def test_only_leftovers_of_failed_orbax_reads_are_dropped(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, '__unraisablehook__', seen.append)

    class Unraisable:
        def __init__(self, error, obj=None):
            self.exc_value, self.object = error, obj

    read = _coroutine_defined_in(
        os.path.join(os.sep, 'site-packages', 'orbax', 'checkpoint', 'serialization.py')
    )
    ours = _coroutine_defined_in(os.path.join(os.sep, 'work', 'nssgan', 'train.py'))
    try:
        console._drop_failed_read_leftovers(Unraisable(RuntimeError('Event loop is closed')))
        console._drop_failed_read_leftovers(Unraisable(Exception('Encountered error'), read))
        assert seen == []
        other = Unraisable(RuntimeError('something else'))
        not_orbax = Unraisable(Exception('Encountered error'), ours)
        console._drop_failed_read_leftovers(other)
        console._drop_failed_read_leftovers(not_orbax)
        assert seen == [other, not_orbax]
    finally:
        read.close()
        ours.close()
