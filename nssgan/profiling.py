"""A profiler trace of chosen training steps (``config.profile_steps``), for TensorBoard's
profile tab or Perfetto, and the persistent compilation cache."""

import logging
import os

import jax


def use_compilation_cache(directory: str) -> None:
    """Keeps compiled programs in ``directory`` so that a restart (resuming, a second
    run of the same config) skips compilation. A run compiles a handful of programs:
    all are kept, however quickly they compiled."""
    os.makedirs(directory, exist_ok=True)
    jax.config.update('jax_compilation_cache_dir', directory)
    jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.0)


class StepTrace:
    """Traces steps ``first`` to ``last`` (as logged, 1-based; (0, 0): off) into
    ``<workdir>/profile`` on process 0: ``before(step)`` and ``after(step, state)``
    around each step, ``close()`` at the end (it stops a trace still running)."""

    def __init__(self, steps, workdir: str):
        first, last = steps
        self._first, self._last = int(first), int(last)
        self._on = self._first > 0 and jax.process_index() == 0
        self.directory = os.path.join(workdir, 'profile')
        self._running = False

    def before(self, step: int) -> None:
        if self._on and step == self._first:
            jax.profiler.start_trace(self.directory)
            self._running = True

    def after(self, step: int, state) -> None:
        if self._running and step >= self._last:
            jax.block_until_ready(state)
            self.close()
            logging.info(
                'Profile of steps %d-%d written to %s (open it with TensorBoard).',
                self._first,
                self._last,
                self.directory,
            )

    def close(self) -> None:
        if self._running:
            self._running = False
            jax.profiler.stop_trace()
