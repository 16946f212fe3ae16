"""What a run prints: its progress, metrics and real warnings, without the INFO chatter
of the libraries under it (Orbax's per-save lines, JAX's backend probing, TensorFlow's
banners, the stray tracebacks of TensorStore's callbacks after a failed read)."""

import contextlib
import logging
import os
import sys

from absl import logging as absl_logging

# Sources whose INFO lines a user does not need; their warnings and errors still show.
QUIET_SOURCES = (
    f'{os.sep}orbax{os.sep}',
    f'{os.sep}jax{os.sep}',
    f'{os.sep}matplotlib{os.sep}',
    f'{os.sep}tensorflow{os.sep}',
)
# clu logs each image summary it writes; the PNGs' paths say the same.
QUIET_MESSAGES = ('Got images:',)
# Sources whose warnings and errors show without their tracebacks.
TRACEBACK_SOURCES = (*QUIET_SOURCES, f'{os.sep}asyncio{os.sep}', f'{os.sep}clu{os.sep}')
# asyncio's note, at exit, on the tasks of an Orbax save that failed (already reported).
DROPPED_MESSAGES = ('Task exception was never retrieved',)


class LibraryInfoFilter(logging.Filter):
    """Drops records below WARNING that come from ``QUIET_SOURCES``, and the traceback of
    their warnings and errors (the message stays; nssgan's own one-line error says what
    it means and what to do, e.g. a checkpoint that could not be written)."""

    def filter(self, record: logging.LogRecord) -> bool:
        quiet_source = any(source in record.pathname for source in QUIET_SOURCES)
        if any(message in str(record.msg) for message in DROPPED_MESSAGES):
            return False
        if record.levelno >= logging.WARNING:
            if any(source in record.pathname for source in TRACEBACK_SOURCES):
                record.exc_info, record.exc_text = None, None
            return True
        if quiet_source:
            return False
        return not any(message in str(record.msg) for message in QUIET_MESSAGES)


def _from_orbax_read(unraisable) -> bool:
    """Whether ``unraisable`` is the error of one of the array reads of an Orbax restore
    that already failed: Orbax abandons the others, and Python reports each at exit."""
    code = getattr(unraisable.object, 'cr_code', None)
    return code is not None and f'{os.sep}orbax{os.sep}' in code.co_filename


def _drop_failed_read_leftovers(unraisable) -> None:
    """``sys.unraisablehook`` that drops the leftovers of an Orbax read that already failed
    (and was reported once, by nssgan): "Event loop is closed" from TensorStore's callbacks
    and the errors of the array reads Orbax abandoned."""
    error = unraisable.exc_value
    if isinstance(error, RuntimeError) and str(error) == 'Event loop is closed':
        return
    if _from_orbax_read(unraisable):
        return
    sys.__unraisablehook__(unraisable)


def quiet_library_logs() -> None:
    """Hides the libraries' INFO lines on absl's handler (where all logs end up), and the
    tracebacks TensorStore's callbacks print after a failed checkpoint read."""
    handler = absl_logging.get_absl_handler()
    if not any(isinstance(f, LibraryInfoFilter) for f in handler.filters):
        handler.addFilter(LibraryInfoFilter())
    sys.unraisablehook = _drop_failed_read_leftovers


@contextlib.contextmanager
def _stderr_to_devnull():
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, 'w') as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow without the INFO banners its C++ side writes to stderr at
    import (whatever ``TF_CPP_MIN_LOG_LEVEL`` says); an import error still surfaces."""
    with _stderr_to_devnull():
        import tensorflow  # noqa: F401  (imported here only to silence its banners)
