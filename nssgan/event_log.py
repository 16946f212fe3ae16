"""A run's TensorBoard events across restarts.

A run that resumes from a checkpoint repeats the steps after it that an earlier
process had already logged (when that process was killed or crashed); those steps
are written to the events once: writes at or before the last step in the workdir's
event files are dropped there (the console still shows them).
"""

import glob
import os
import struct
from collections.abc import Iterator

from clu import metric_writers
from google.protobuf.message import DecodeError
from tensorboard.compat.proto import event_pb2


def _records(path: str) -> Iterator[bytes]:
    """The records of a TFRecord file, up to where a killed writer left it cut short.

    A record is its length (uint64), that length's CRC, the data and the data's CRC.
    """
    with open(path, 'rb') as f:
        while len(header := f.read(12)) == 12:
            (length,) = struct.unpack('<Q', header[:8])
            record = f.read(length)
            if len(record) < length or len(f.read(4)) < 4:
                return
            yield record


def last_written_step(workdir: str) -> int | None:
    """The largest step of any summary in ``<workdir>/events.out.tfevents.*`` (None if
    there is none)."""
    last = None
    for path in glob.glob(os.path.join(workdir, 'events.out.tfevents.*')):
        for record in _records(path):
            try:
                event = event_pb2.Event.FromString(record)
            except DecodeError:  # A damaged record.
                continue
            if event.HasField('summary') and event.summary.value:
                last = event.step if last is None else max(last, event.step)
    return last


class AfterStep:
    """A clu ``MetricWriter`` that drops writes at steps ≤ ``last`` (hyper-parameters,
    which have no step, pass)."""

    def __init__(self, writer: metric_writers.MetricWriter, last: int | None):
        self._writer = writer
        self._last = -1 if last is None else last

    def __getattr__(self, name):
        method = getattr(self._writer, name)
        if not name.startswith('write_') or name == 'write_hparams':
            return method

        def write(step, *args, **kwargs):
            if step > self._last:
                return method(step, *args, **kwargs)
            return None

        return write


def create_writer(workdir: str, *, is_chief: bool, resumed: bool):
    """The run's writer: console lines everywhere and, on the chief, TensorBoard events;
    after a resume the events get only steps they do not hold yet (the console gets
    every step)."""
    if not is_chief:
        return metric_writers.create_default_writer(just_logging=True)
    last = last_written_step(workdir) if resumed else None
    events = AfterStep(metric_writers.SummaryWriter(workdir), last)
    return metric_writers.AsyncMultiWriter([metric_writers.LoggingWriter(), events])
