"""One trainer per workdir: a lock file naming its holder's host and process.

The chief process of a run (process 0; the other processes of a multi-host run share
its lock) creates ``<workdir>/trainer.lock`` atomically and removes it when the run
ends. A lock left by a process that no longer exists on this host (killed, crashed
machine rebooted) is stale and taken over; a lock held from another host cannot be
checked from here, so the message says how to remove it.
"""

import contextlib
import json
import logging
import os
import socket
import time

import jax
import numpy as np
from jax.experimental import multihost_utils

LOCK_NAME = 'trainer.lock'
_UNREADABLE_GRACE_S = 30  # A lock being written is briefly empty.


class WorkdirInUseError(RuntimeError):
    """Another trainer holds the workdir."""


def _process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux), to tell a reused pid from its
    first owner; None where /proc is not available."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _holder() -> dict:
    pid = os.getpid()
    return {
        'host': socket.gethostname(),
        'pid': pid,
        'process_start': _process_start(pid),
        'since': time.strftime('%Y-%m-%d %H:%M:%S %Z'),
    }


def _alive_here(holder: dict) -> bool:
    """Whether ``holder`` (on this host) is still running."""
    try:
        os.kill(int(holder['pid']), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # Another user's live process.
    start = holder.get('process_start')
    return start is None or _process_start(int(holder['pid'])) in (start, None)


class WorkdirLock:
    """``with WorkdirLock(workdir):`` holds ``<workdir>/trainer.lock`` for the block."""

    def __init__(self, workdir: str):
        self.path = os.path.join(os.path.abspath(workdir), LOCK_NAME)
        self._held = None

    def _read(self) -> dict | None:
        try:
            with open(self.path) as f:
                holder = json.load(f)
            return holder if isinstance(holder, dict) and 'pid' in holder else None
        except (OSError, ValueError):
            return None

    def _stale(self, holder: dict | None) -> bool:
        if holder is None:
            try:
                return time.time() - os.path.getmtime(self.path) > _UNREADABLE_GRACE_S
            except OSError:
                return True  # Gone meanwhile.
        return holder.get('host') == socket.gethostname() and not _alive_here(holder)

    def acquire(self) -> None:
        """Takes the lock, or raises ``WorkdirInUseError`` naming the holder."""
        for _ in range(3):
            mine = _holder()
            if self._create(mine):
                self._held = mine
                return
            holder = self._read()
            if not self._stale(holder):
                raise self._in_use(holder)
            logging.warning(
                'Removing the stale lock %s (its trainer %s is gone).', self.path, holder
            )
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass
        raise self._in_use(self._read())

    def _create(self, holder: dict) -> bool:
        """Creates the lock holding ``holder``, whole or not at all (a trainer starting at
        the same moment reads a complete holder); False if it exists."""
        temp = f'{self.path}.{socket.gethostname()}.{os.getpid()}.tmp'
        with open(temp, 'w') as f:
            json.dump(holder, f)
        try:
            os.link(temp, self.path)
            return True
        except FileExistsError:
            return False
        except OSError:  # A filesystem without hard links: exclusive create, then write.
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, 'w') as f:
                json.dump(holder, f)
            return True
        finally:
            os.remove(temp)

    def _in_use(self, holder: dict | None) -> WorkdirInUseError:
        workdir = os.path.dirname(self.path)
        who = (
            f'host {holder.get("host")}, pid {holder.get("pid")}, since {holder.get("since")}'
            if holder
            else 'a trainer that is starting'
        )
        return WorkdirInUseError(
            f'{workdir} is in use by another trainer ({who}). Wait for it to finish or stop '
            f'it, or use another --workdir; if no trainer is running there (one on another '
            f'host was killed), delete {self.path}.'
        )

    def release(self) -> None:
        """Removes the lock if this process still holds it."""
        if self._held is not None and self._read() == self._held:
            os.remove(self.path)
        self._held = None

    def __enter__(self) -> 'WorkdirLock':
        if self._held is None:
            self.acquire()
        return self

    def __exit__(self, *exc_info):
        self.release()


def lock_run(workdir: str) -> contextlib.AbstractContextManager:
    """The run's lock on ``workdir``, taken by process 0 for all of the run's
    processes (the others get a context that holds nothing); every process raises
    ``WorkdirInUseError`` if it is held elsewhere."""
    lock = WorkdirLock(workdir)
    error = None
    if jax.process_index() == 0:
        try:
            lock.acquire()
        except WorkdirInUseError as e:
            error = e
    if jax.process_count() > 1:
        held = bool(multihost_utils.broadcast_one_to_all(np.int32(error is None)))
        if not held and error is None:
            error = WorkdirInUseError(
                f'{workdir} is in use by another trainer (process 0 says which).'
            )
    if error is not None:
        raise error
    return lock if jax.process_index() == 0 else contextlib.nullcontext()
