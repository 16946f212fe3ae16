"""SIGINT (Ctrl-C) and SIGTERM (schedulers, preemption) stop a run at a step boundary.

The first signal sets a flag; the loop finishes the step it is in, saves the state it
holds (the live one: a step's input is donated to it), waits for the save to be
written, and raises ``TrainingInterrupted``. Signals that arrive meanwhile are noted
and change nothing, so a second Ctrl-C cannot interrupt the save.
"""

import logging
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(KeyboardInterrupt):
    """The run stopped on a signal after saving its state; rerun to resume.

    ``exit_code`` is 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), what
    a shell and a scheduler expect of a process that a signal stopped.
    """

    def __init__(self, signum: int, step: int | None, directory: str):
        name = signal.Signals(signum).name
        if step is None:
            message = f'{name}: stopped before any step; nothing new to save'
        else:
            message = f'{name}: saved step {step} in {directory}'
        super().__init__(f'{message}. Run the same command to resume.')
        self.exit_code = 128 + signum


class StopOnSignal:
    """While active (in the main thread), SIGINT and SIGTERM set ``received`` instead of
    raising; the previous handlers are restored on exit."""

    def __init__(self):
        self.received: int | None = None
        self._previous = {}

    def _handle(self, signum, frame):
        del frame
        if self.received is None:
            logging.warning(
                '%s received: finishing the current step, then saving.',
                signal.Signals(signum).name,
            )
            self.received = signum
        else:
            logging.warning('%s received again: still saving.', signal.Signals(signum).name)

    def __enter__(self) -> 'StopOnSignal':
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
