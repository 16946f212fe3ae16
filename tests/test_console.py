"""What a run prints: libraries' INFO lines hidden, their warnings kept without their
tracebacks, TensorStore's stray "Event loop is closed" tracebacks dropped."""

import logging
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


def test_only_closed_event_loop_errors_are_dropped(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, '__unraisablehook__', seen.append)

    class Unraisable:
        def __init__(self, error):
            self.exc_value = error

    console._ignore_closed_event_loops(Unraisable(RuntimeError('Event loop is closed')))
    assert seen == []
    other = Unraisable(RuntimeError('something else'))
    console._ignore_closed_event_loops(other)
    assert seen == [other]
