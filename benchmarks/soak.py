"""Soak: a small GAN trained for 20 minutes under signals and restarts, memory checked.

Checks that the trainer's memory stays flat and that the final state equals an
uninterrupted run's, bitwise.

    python benchmarks/soak.py [--minutes 20] [--seed 0] [--workdir DIR]
        [--out benchmarks/results/soak.json] [--markdown BENCHMARKS.md]

1. Soak: ``main.py`` trains the ring MLP GAN below (checkpoint every 50 steps, keep 3)
   in ``DIR/soak``; after a random 60–240 s (wall time from the start of the process)
   it gets SIGTERM or SIGINT (a third of those twice, 0.1 s apart) or, one time in
   four, SIGKILL; then it is started again with the same command, which resumes from
   the latest checkpoint, until ``--minutes`` are up. Each run must exit with 128 +
   the signal's number after one ``interrupted: ... saved step N ...`` line (-9 after
   SIGKILL), with no traceback, and resume where the last one saved.
2. The soak run is resumed once more to ``F`` = its last saved step + 50 and must
   finish (exit 0); a re-run of the finished run must exit 0 too. A fresh run in
   ``DIR/straight`` trains the same config to ``F`` without interruption, saving only
   at ``F`` (the checkpoint cadence changes no state), and the two step-``F``
   checkpoints are compared leaf by leaf, bitwise.
3. Memory: the trainer's resident set size (VmRSS of ``/proc/<pid>/status``) is sampled
   every 2 s, and ``host_memory_mb`` / ``device_memory_mb`` are read from its log
   lines when it logs them. JAX on the CPU has no device memory statistics: there,
   device memory is host memory and is part of the RSS. A process's samples count
   from its first logged step + 20 s (warm-up); a drop of 20 MB or more between two
   samples is the allocator giving memory back: it is listed, and the growth is
   measured between such drops. Flat means: the least-squares slope pooled over all
   processes (one level per piece between drops) is under 50 MB/h, and no process
   with 60 s of samples grew by more than 5 MB (MB = 2^20 bytes).

Writes the results (JSON), a plot of RSS against wall time (PNG) and the summary
(markdown) under ``--out``'s name; prints one line per run and the summary. Exits 1
if any check fails. ``--markdown`` replaces this benchmark's section of that file.
"""

import argparse
import collections
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata

import numpy as np
from report import write_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The ring MLP GAN of configs/ntgan_ring.py with small layers: on one CPU core a process
# trains a few hundred steps per second and saves several checkpoints per second.
CHECKPOINT_EVERY = 50
TRAIN_ARGS = (
    '--config=configs/ntgan_ring.py:gan',
    '--config.model.mlp_hidden=(64, 64)',
    '--config.model.latent_dim=16',
    '--config.batch_size=64',
    '--config.log_every=50',
    f'--config.checkpoint_every={CHECKPOINT_EVERY}',
    '--config.keep_checkpoints=3',
    '--config.sample_every=1000000000',
    '--config.eval.every=0',
)
SOAK_STEPS = 1_000_000_000  # Never reached: the signals stop each run.

SAMPLE_SECONDS = 2.0  # RSS sampling period.
WARMUP_SECONDS = 20.0  # Ignored after a run's first logged step (allocation, caches).
EXIT_TIMEOUT = 120.0  # Seconds a run may take to exit after its signal.
START_TIMEOUT = 300.0  # Seconds a run may take to log its first step.
DOUBLE_GAP = 0.1  # Seconds between the two signals of a double SIGINT or SIGTERM.
SLOPE_LIMIT = 50.0  # MB/h: the pooled within-run RSS slope must stay below.
GROWTH_LIMIT = 5.0  # MB: the most a run's RSS may grow after warm-up (drops excluded).
RELEASE_MB = 20.0  # A drop this large between two samples: the allocator gave memory back.
GROWTH_MIN_SECONDS = 60.0  # Runs shorter than this (after warm-up) skip the growth check.
MB = 2**20

STEP_LINE = re.compile(r'\] \[(\d+)\] (\w+=.*)$')
SCALAR = re.compile(r'(\w+)=([^,\s]+)')
INTERRUPTED = re.compile(
    r'interrupted: (SIG\w+): saved step (\d+) in (\S+)\. Run the same command to resume\.'
)
EXPECTED_EXIT = {'SIGTERM': 128 + signal.SIGTERM, 'SIGINT': 128 + signal.SIGINT, 'SIGKILL': -9}


class _Reader(threading.Thread):
    """Reads the trainer's output: copies it to a log file, notes the last logged step,
    the memory it logs, and the lines that matter."""

    def __init__(self, stream, log_path: str, t0: float):
        super().__init__(daemon=True)
        self.stream, self.log_path, self.t0 = stream, log_path, t0
        self.last_step = None
        self.first_step = None
        self.first_step_time = None
        self.logged_memory = []  # [t, step, host_memory_mb, device_memory_mb]
        self.tail = collections.deque(maxlen=40)
        self.traceback = False
        self.marked = []  # 'interrupted:', 'complete:' and 'error:' lines.

    def run(self):
        with open(self.log_path, 'w') as log:
            for line in self.stream:
                log.write(line)
                line = line.rstrip('\n')
                if line.strip():
                    self.tail.append(line)
                self.traceback |= 'Traceback' in line
                if line.startswith(('interrupted:', 'complete:', 'error:')):
                    self.marked.append(line)
                logged = STEP_LINE.search(line)
                if logged:
                    self._logged(int(logged.group(1)), dict(SCALAR.findall(logged.group(2))))

    def _logged(self, step: int, scalars: dict) -> None:
        now = round(time.monotonic() - self.t0, 2)
        if self.first_step is None:
            self.first_step, self.first_step_time = step, now
        self.last_step = step
        if 'host_memory_mb' in scalars or 'device_memory_mb' in scalars:
            self.logged_memory.append(
                [
                    now,
                    step,
                    _float(scalars.get('host_memory_mb')),
                    _float(scalars.get('device_memory_mb')),
                ]
            )


def _float(text: str | None) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def rss_mb(pid: int) -> float | None:
    """VmRSS of ``pid`` in MB, or None once it is gone."""
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return round(int(line.split()[1]) * 1024 / MB, 2)
    except (FileNotFoundError, ProcessLookupError):
        pass
    return None


def latest_step(workdir: str) -> int | None:
    """The latest finalized checkpoint's step in ``workdir/checkpoints`` (Orbax names
    them by number; unfinished ones carry a ``tmp`` suffix)."""
    steps = [int(name) for name in _entries(workdir, 'checkpoints') if name.isdigit()]
    return max(steps, default=None)


def _entries(workdir: str, *subdir: str) -> list[str]:
    path = os.path.join(workdir, *subdir)
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def run_trainer(
    name, workdir, steps, log_path, t0, *, stop_after=None, signals=(), every=None, extra=()
):
    """Runs ``main.py`` (``extra``: more flags) on ``workdir`` to ``steps``; after
    ``stop_after`` seconds (and one logged step) sends ``signals``. Returns the run's
    record, RSS samples included. ``every`` (seconds) prints a progress line that often."""
    command = [
        sys.executable,
        'main.py',
        *TRAIN_ARGS,
        *extra,
        f'--config.num_train_steps={steps}',
        f'--workdir={workdir}',
    ]
    env = {
        **os.environ,
        'JAX_PLATFORMS': os.environ.get('JAX_PLATFORMS', 'cpu'),
        'TF_CPP_MIN_LOG_LEVEL': '3',
        'PYTHONUNBUFFERED': '1',
    }
    record = {
        'name': name,
        'signal': _signal_label(signals),
        'start_step': latest_step(workdir),
        'start_time': round(time.monotonic() - t0, 2),
        'problems': [],
        'signal_time': None,
        'signal_step': None,
    }
    start = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # Only the signals sent here reach it.
    )
    reader = _Reader(process.stdout, log_path, t0)
    reader.start()
    rss, signalled, next_sample, next_progress = [], None, start, start + (every or 1e18)
    try:
        while process.poll() is None:
            now = time.monotonic()
            if now >= next_sample:
                mb = rss_mb(process.pid)
                if mb is not None:
                    rss.append([round(now - t0, 2), reader.last_step, mb])
                next_sample += SAMPLE_SECONDS
            if now >= next_progress:
                print(f'      {name}: step {reader.last_step} of {steps}', flush=True)
                next_progress += every
            ready = reader.last_step is not None
            if stop_after is not None and signalled is None and now - start >= stop_after and ready:
                _send(process, signals)
                signalled = time.monotonic()
                record['signal_time'] = round(signalled - t0, 2)
                record['signal_step'] = reader.last_step
            if signalled is not None and now - signalled > EXIT_TIMEOUT:
                record['problems'].append(f'still running {EXIT_TIMEOUT:.0f} s after the signal')
                break
            if not ready and now - start > START_TIMEOUT:
                record['problems'].append(f'no step logged in {START_TIMEOUT:.0f} s')
                break
            time.sleep(0.1)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        reader.join(timeout=30)
    if stop_after is not None and signalled is None and not record['problems']:
        record['problems'].append('exited before the signal')
    record.update(
        exit_code=process.returncode,
        end_time=round(time.monotonic() - t0, 2),
        wall_s=round(time.monotonic() - start, 1),
        first_logged_step=reader.first_step,
        first_step_time=reader.first_step_time,
        last_logged_step=reader.last_step,
        end_step=latest_step(workdir),
        marked_lines=reader.marked,
        last_line=reader.tail[-1] if reader.tail else '',
        traceback=reader.traceback,
        checkpoint_entries=_entries(workdir, 'checkpoints'),
        lock_entries=[e for e in _entries(workdir) if 'lock' in e.lower()],
        rss=rss,
        logged_memory=reader.logged_memory,
        log=log_path,
    )
    if reader.traceback or record['problems']:
        record['output_tail'] = list(reader.tail)
    return record


def _send(process: subprocess.Popen, signals) -> None:
    for i, signum in enumerate(signals):
        if i:
            time.sleep(DOUBLE_GAP)
        process.send_signal(signum)  # A no-op once the process has exited.


def _signal_label(signals) -> str | None:
    if not signals:
        return None
    name = signal.Signals(signals[0]).name
    return name if len(signals) == 1 else f'{name}×{len(signals)}'


def check_signalled(record: dict) -> None:
    """Adds to ``record['problems']`` what a signalled run did wrong."""
    problems = record['problems']
    name = record['signal'].split('×')[0]
    if record['exit_code'] != EXPECTED_EXIT[name]:
        problems.append(f'exit code {record["exit_code"]}, expected {EXPECTED_EXIT[name]}')
    _check_resumed(record)
    if name == 'SIGKILL':
        return
    saved = INTERRUPTED.fullmatch(record['last_line'])
    if not saved:
        problems.append(f'last line is not "interrupted: ...": {record["last_line"]!r}')
        return
    record['saved_step'] = int(saved.group(2))
    if saved.group(1) != name:
        problems.append(f'interrupted line names {saved.group(1)}, sent {name}')
    if record['saved_step'] != record['end_step']:
        problems.append(
            f'said it saved step {record["saved_step"]}, latest checkpoint {record["end_step"]}'
        )
    if record['last_logged_step'] is not None and record['saved_step'] < record['last_logged_step']:
        problems.append(
            f'saved step {record["saved_step"]} < logged step {record["last_logged_step"]}'
        )
    _check_cleaned_up(record)


def _check_cleaned_up(record: dict) -> None:
    """A run that exited by itself left no unfinished checkpoint and no lock."""
    leftovers = [e for e in record['checkpoint_entries'] if not e.isdigit()]
    if leftovers:
        record['problems'].append(f'unfinished checkpoints left: {leftovers}')
    if record['lock_entries']:
        record['problems'].append(f'lock left: {record["lock_entries"]}')


def _check_resumed(record: dict) -> None:
    """No traceback; a run on an existing checkpoint resumed from it: its first logged
    step is the first multiple of log_every after the checkpoint's, or after the last
    step logged before in the workdir (``logged_before``: steps that a killed process
    had logged are trained again but not logged again)."""
    if record['traceback']:
        record['problems'].append('Traceback in the output')
    start, first = record['start_step'] or 0, record['first_logged_step']
    after = max(start, record.get('logged_before') or 0)
    expected = (after // CHECKPOINT_EVERY + 1) * CHECKPOINT_EVERY  # log_every = 50 too.
    if first is not None and first != expected:
        record['problems'].append(
            f'resumed from step {start} (logged before: {record.get("logged_before")}) but '
            f'first logged step {first}, expected {expected}'
        )


def soak(workdir, logs, t0, total, segment, seed, warmup) -> list[dict]:
    """Starts, signals and restarts the trainer until ``total`` seconds are up."""
    rng = random.Random(seed)
    records = []
    while time.monotonic() - t0 < total:
        remaining = total - (time.monotonic() - t0)
        if records and remaining < segment[0] / 2:
            break
        duration = min(rng.uniform(*segment), max(remaining, segment[0] / 2))
        kind = rng.random()
        if kind < 0.25:
            signals = (signal.SIGKILL,)
        else:
            signum = signal.SIGTERM if kind < 0.625 else signal.SIGINT
            signals = (signum,) * (2 if rng.random() < 1 / 3 else 1)
        index = len(records) + 1
        record = run_trainer(
            f'soak {index}',
            workdir,
            SOAK_STEPS,
            os.path.join(logs, f'soak_{index:03d}.log'),
            t0,
            stop_after=duration,
            signals=signals,
        )
        record['planned_s'] = round(duration, 1)
        record['logged_before'] = _last_logged(records)
        check_signalled(record)
        records.append(record)
        print(_progress_line(record, warmup), flush=True)
        if record['signal_step'] is None:  # It did not train until its signal.
            print('      stopping the soak: ' + '; '.join(record['problems']), flush=True)
            break
    return records


def _last_logged(records: list[dict]) -> int | None:
    steps = [r['last_logged_step'] for r in records if r['last_logged_step'] is not None]
    return max(steps, default=None)


def _progress_line(record: dict, warmup: float) -> str:
    memory = memory_stats(record, warmup)
    rss = 'RSS n/a'
    if memory['n']:
        rss = (
            f'RSS first/last/max {memory["first"]:.0f}/{memory["last"]:.0f}/'
            f'{memory["max"]:.0f} MB, growth {memory["growth_mb"]:+.1f} MB'
        )
        if memory['releases']:
            rss += ', drops ' + ', '.join(f'{d:.0f}' for _, d in memory['releases'])
    status = 'ok' if not record['problems'] else 'PROBLEM: ' + '; '.join(record['problems'])
    return (
        f'{_clock(record["start_time"])} {record["name"]:<13} {record["signal"] or "-":<10} '
        f'steps {record["start_step"] or 0} -> {record["end_step"]} '
        f'(logged {record["last_logged_step"]}), exit {record["exit_code"]}, '
        f'{record["wall_s"]:.0f} s, {rss}; {status}'
    )


def _clock(seconds: float) -> str:
    return f'{int(seconds // 60):02d}:{int(seconds % 60):02d}'


def memory_stats(record: dict, warmup: float = WARMUP_SECONDS) -> dict:
    """RSS after warm-up, until the signal: first, last, max, median (MB); the growth
    while training (MB: the rises between sudden drops, which are listed apart as
    ``releases``) and its least-squares slope (MB/h, one slope over the pieces between
    drops); the max of each third of the samples; the samples."""
    if record['first_step_time'] is None:
        return {'n': 0}
    begin = record['first_step_time'] + warmup
    end = record['signal_time'] if record['signal_time'] is not None else np.inf
    samples = [(t, mb) for t, _, mb in record['rss'] if begin <= t <= end]
    if not samples:
        return {'n': 0}
    t, y = (np.array(v, dtype=np.float64) for v in zip(*samples))
    cuts = [i + 1 for i in range(len(y) - 1) if y[i + 1] - y[i] <= -RELEASE_MB]
    pieces = list(zip(np.split(t, cuts), np.split(y, cuts)))
    return {
        'n': len(t),
        'seconds': float(t[-1] - t[0]),
        'first': float(y[0]),
        'last': float(y[-1]),
        'max': float(y.max()),
        'median': float(np.median(y)),
        'growth_mb': float(sum(py[-1] - py[0] for _, py in pieces)),
        'slope_mb_per_h': _pooled_slope(pieces) if len(t) >= 3 else None,
        'releases': [[float(t[i]), float(y[i] - y[i - 1])] for i in cuts],
        'thirds_max': [float(part.max()) for part in np.array_split(y, 3) if part.size],
        'pieces': pieces,
    }


def _pooled_slope(pieces) -> float | None:
    """MB/h: one least-squares slope for all ``(t, y)`` pieces, each with its own level."""
    num = sum(float(((t - t.mean()) * (y - y.mean())).sum()) for t, y in pieces)
    den = sum(float(((t - t.mean()) ** 2).sum()) for t, _ in pieces)
    return num / den * 3600 if den else None


def memory_verdict(records: list[dict], warmup: float) -> dict:
    """Flat: the slope pooled over all processes (between sudden drops) is below
    SLOPE_LIMIT, and no process with GROWTH_MIN_SECONDS of samples grew by more than
    GROWTH_LIMIT."""
    stats = [(r, memory_stats(r, warmup)) for r in records]
    stats = [(r, s) for r, s in stats if s['n'] >= 3]
    pooled = _pooled_slope([p for _, s in stats for p in s['pieces']])
    growths = [(r['name'], s['growth_mb']) for r, s in stats if s['seconds'] >= GROWTH_MIN_SECONDS]
    worst = max(growths, key=lambda g: g[1], default=None)
    flat = (
        pooled is not None and pooled < SLOPE_LIMIT and all(g <= GROWTH_LIMIT for _, g in growths)
    )
    return {
        'flat': flat,
        'pooled_slope_mb_per_h': pooled,
        'runs_in_slope': len(stats),
        'sampled_hours': sum(s['seconds'] for _, s in stats) / 3600,
        'growth_checked_runs': len(growths),
        'worst_growth': worst,
        'releases': [[r['name'], *x] for r, s in stats for x in s['releases']],
        'max_mb': max((s['max'] for _, s in stats), default=None),
        'median_range_mb': (
            [min(s['median'] for _, s in stats), max(s['median'] for _, s in stats)]
            if stats
            else None
        ),
        'logged_host_memory': any(r['logged_memory'] for r in records),
        'logged_device_memory': any(m[3] is not None for r in records for m in r['logged_memory']),
    }


def checkpoint_leaves(path: str) -> dict:
    """{key path: numpy array} of the Orbax checkpoint at ``path`` (a step directory)."""
    import jax
    import orbax.checkpoint as ocp

    jax.config.update('jax_platforms', 'cpu')
    tree = ocp.StandardCheckpointer().restore(os.path.join(path, 'default'))
    return {
        jax.tree_util.keystr(k): np.asarray(v)
        for k, v in jax.tree_util.tree_flatten_with_path(tree)[0]
    }


def compare_bitwise(a: str, b: str) -> dict:
    """Leaves, values and how many of them differ, bit for bit, between two checkpoints."""
    left, right = checkpoint_leaves(a), checkpoint_leaves(b)
    differing_leaves, differing_values, values = [], 0, 0
    for key in sorted(left.keys() | right.keys()):
        x, y = left.get(key), right.get(key)
        if x is None or y is None or x.dtype != y.dtype or x.shape != y.shape:
            differing_leaves.append(key)
            differing_values += max(np.size(x), np.size(y))
            continue
        values += x.size
        bits = np.dtype(f'u{x.dtype.itemsize}') if x.dtype.itemsize in (1, 2, 4, 8) else None
        if bits is None:
            same = x.tobytes() == y.tobytes()
            differ = 0 if same else x.size
        else:
            differ = int(np.count_nonzero(x.view(bits) != y.view(bits)))
        if differ:
            differing_leaves.append(key)
            differing_values += differ
    return {
        'leaves': len(left),
        'values': values,
        'differing_leaves': differing_leaves,
        'differing_values': differing_values,
        'equal': not differing_leaves,
    }


def machine() -> dict:
    model = ''
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    nproc = subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()
    return {
        'cpu': model or platform.processor() or platform.machine(),
        'nproc': nproc,
        'python': platform.python_version(),
        'jax': metadata.version('jax'),
        'orbax': metadata.version('orbax-checkpoint'),
        'jax_platforms': os.environ.get('JAX_PLATFORMS', 'cpu'),
    }


def plot(records: list[dict], path: str, warmup: float) -> None:
    """RSS against wall time from each process's first logged step (the start-up ramp
    is left out), warm-up greyed, with the process starts and the signals."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    markers = {'SIGTERM': ('tab:blue', 'v'), 'SIGINT': ('tab:green', 'v'), 'SIGKILL': ('red', 'x')}
    fig, ax = plt.subplots(figsize=(11, 4.5))
    labels = set()

    def label(text):
        if text in labels:
            return None
        labels.add(text)
        return text

    for r in records:
        ax.axvline(r['start_time'] / 60, color='grey', ls=':', lw=0.8)
        if r['first_step_time'] is None:
            continue
        rss = np.array([(t, mb) for t, _, mb in r['rss'] if t >= r['first_step_time']])
        if rss.size:
            soaking = r['name'].startswith('soak')
            color = 'black' if soaking else 'tab:purple'
            text = 'VmRSS, soak' if soaking else 'VmRSS, resume to F and straight run'
            warm = rss[:, 0] < r['first_step_time'] + warmup
            ax.plot(rss[warm, 0] / 60, rss[warm, 1], '-', color='silver', lw=1)
            ax.plot(rss[~warm, 0] / 60, rss[~warm, 1], '-', color=color, lw=1, label=label(text))
        logged = [(m[0], m[2]) for m in r['logged_memory'] if m[2] is not None]
        if logged:
            t, mb = zip(*logged)
            ax.plot(
                np.array(t) / 60,
                mb,
                '.',
                color='tab:orange',
                ms=1.5,
                zorder=3,
                label=label('host_memory_mb (logged)'),
            )
        if r.get('signal_time') is not None:
            name = r['signal'].split('×')[0]
            color, marker = markers[name]
            level = rss[-1, 1] if rss.size else np.nan
            size = 10 if '×' in r['signal'] else 6
            ax.plot(r['signal_time'] / 60, level, marker, color=color, ms=size, label=label(name))
    ax.set_xlabel(
        'wall time (min); dotted: a process starts; grey: warm-up; big marker: the signal twice'
    )
    ax.set_ylabel('MB (2^20 bytes)')
    ax.set_title("Trainer RSS from each process's first logged step")
    ax.legend(loc='best', fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(results: dict) -> str:
    m, memory, bitwise = results['machine'], results['memory'], results['bitwise']
    low, high = results['segment_s']
    lines = [
        f'## Soak: {results["minutes"]:g} minutes of signals and restarts '
        f'({m["jax_platforms"].split(",")[0].upper()})',
        '',
        f'`{results["command"]}` on {m["cpu"]} ({m["nproc"]} cores, shared), python '
        f'{m["python"]}, jax {m["jax"]}, orbax-checkpoint {m["orbax"]} '
        f'(JAX_PLATFORMS={m["jax_platforms"]}). The ring MLP GAN '
        f'(`{" ".join(TRAIN_ARGS)}`) trained for {results["minutes"]:g} min in one workdir; '
        f'each process was stopped after a random {low:g}–{high:g} s by SIGTERM, SIGINT '
        '(a third of them twice, 0.1 s apart) or SIGKILL (1 in 4), and started again. Then '
        f'the run was resumed to step F = {results["final_step"]} and compared with a run '
        'trained to F without interruption. RSS: VmRSS sampled every '
        f'{SAMPLE_SECONDS:g} s, counted from the first logged step + {results["warmup_s"]:g} '
        's (warm-up); MB = 2^20 bytes; growth: the rises between sudden drops of '
        f'≥ {RELEASE_MB:g} MB (memory given back), which are counted apart.',
        '',
        '| run | signal | steps | exit | wall s | RSS first / last / max (MB) | growth (MB) '
        '| slope (MB/h) | drops (MB) | checks |',
        '|---|---|---|---|---|---|---|---|---|---|',
    ]
    for r in results['runs']:
        lines.append(_table_row(r, results['warmup_s']))
    lines += ['', _memory_paragraph(memory, results), '', _bitwise_paragraph(bitwise, results)]
    lines += [
        '',
        f'**Signals and restarts: {"PASS" if results["signals_ok"] else "FAIL"}** '
        f'({len(results["runs"])} processes: each signalled one exited with 128 + the signal '
        'after its `interrupted:` line, or −9 after SIGKILL; no traceback; each start resumed '
        'from the latest checkpoint; the re-run of the finished run exited 0'
        + (', saying `complete:`' if results.get('complete_line') else '')
        + f'). Plot: `{_shown_path(results["plot"])}`.',
    ]
    return '\n'.join(lines)


def _table_row(r: dict, warmup: float) -> str:
    s = memory_stats(r, warmup)
    if s['n']:
        rss = f'{s["first"]:.1f} / {s["last"]:.1f} / {s["max"]:.1f}'
        growth = f'{s["growth_mb"]:+.1f}'
        slope = f'{s["slope_mb_per_h"]:+.0f}' if s['slope_mb_per_h'] is not None else ''
        drops = ', '.join(f'{d:.0f}' for _, d in s['releases'])
    else:
        rss, growth, slope, drops = 'n/a', '', '', ''
    checks = 'ok' if not r['problems'] else '; '.join(r['problems'])
    return (
        f'| {r["name"]} | {r["signal"] or "–"} | {r["start_step"] or 0} → {r["end_step"]} '
        f'| {r["exit_code"]} | {r["wall_s"]:.0f} | {rss} | {growth} | {slope} | {drops} '
        f'| {checks} |'
    )


def _memory_paragraph(memory: dict, results: dict) -> str:
    slope, worst = memory['pooled_slope_mb_per_h'], memory['worst_growth']
    text = (
        f'**Memory: {"PASS" if memory["flat"] else "FAIL"}** (flat: the RSS slope pooled over '
        f'all processes < {SLOPE_LIMIT:g} MB/h, and no process with ≥ {GROWTH_MIN_SECONDS:g} s '
        f'after warm-up grew by more than {GROWTH_LIMIT:g} MB). Pooled slope '
        + (f'{slope:+.1f} MB/h' if slope is not None else 'n/a')
        + f' over {memory["runs_in_slope"]} processes ({memory["sampled_hours"] * 60:.1f} min '
        'after warm-up); largest growth '
        + (f'{worst[1]:+.1f} MB ({worst[0]})' if worst else 'n/a')
        + f'; {len(memory["releases"])} sudden drops'
        + '; peak '
        + (f'{memory["max_mb"]:.1f} MB' if memory['max_mb'] is not None else 'n/a')
        + '; medians of the processes '
        + (
            '{:.1f}–{:.1f} MB'.format(*memory['median_range_mb'])
            if memory['median_range_mb']
            else 'n/a'
        )
        + '.'
    )
    straight = next((r for r in results['runs'] if r['name'] == 'straight to F'), None)
    thirds = memory_stats(straight, results['warmup_s']).get('thirds_max') if straight else None
    if thirds:
        text += " The uninterrupted run's peak by thirds of its time: " + ', '.join(
            f'{x:.1f}' for x in thirds
        )
        text += ' MB.'
    if memory['logged_device_memory']:
        return text + ' The trainer also logged device_memory_mb (in the JSON).'
    return text + (
        ' On the CPU, JAX has no device memory statistics: device memory is host memory, '
        'inside the RSS.'
    )


def _bitwise_paragraph(bitwise: dict, results: dict) -> str:
    head = f'**Final state: {"PASS" if bitwise.get("equal") else "FAIL"}**: '
    if 'leaves' not in bitwise:
        return head + bitwise.get('error', 'not compared') + '.'
    where = f' (in {", ".join(bitwise["differing_leaves"])})' if bitwise['differing_leaves'] else ''
    return head + (
        f'the step-{results["final_step"]} checkpoints of the interrupted run and of the '
        f'uninterrupted one: {bitwise["leaves"]} leaves, {bitwise["values"]:,} values, '
        f'{bitwise["differing_values"]} differ bitwise{where}.'
    )


def _shown_path(path: str) -> str:
    relative = os.path.relpath(os.path.abspath(path), ROOT)
    return path if relative.startswith('..') else relative


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--minutes', type=float, default=20)
    parser.add_argument('--seed', type=int, default=0, help='seed of the signal schedule')
    parser.add_argument('--workdir', default=None, help='empty or new; default: a temp dir')
    parser.add_argument('--out', default=os.path.join(ROOT, 'benchmarks', 'results', 'soak.json'))
    parser.add_argument(
        '--segment-seconds',
        type=float,
        nargs=2,
        default=None,
        help='range of a process lifetime (default 60 240, shorter for soaks under 12 min)',
    )
    parser.add_argument('--markdown', default=None, help='replace the soak section in this file')
    args = parser.parse_args()

    total = args.minutes * 60
    segment = args.segment_seconds or _default_segment(total)
    warmup = min(WARMUP_SECONDS, segment[0] / 2)
    base = args.workdir or tempfile.mkdtemp(prefix='nssgan-soak-')
    if os.path.isdir(base) and os.listdir(base):
        sys.exit(f'error: --workdir {base} is not empty')
    soak_dir, straight_dir, logs = (os.path.join(base, d) for d in ('soak', 'straight', 'logs'))
    os.makedirs(logs, exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    stem = os.path.splitext(args.out)[0]
    command = ' '.join(['python benchmarks/soak.py', *sys.argv[1:]])
    results = {
        'command': command,
        'machine': machine(),
        'train_args': list(TRAIN_ARGS),
        'minutes': args.minutes,
        'seed': args.seed,
        'segment_s': list(segment),
        'warmup_s': warmup,
        'workdir': base,
        'plot': stem + '.png',
        'runs': [],
    }
    print(
        f'soak: {args.minutes:g} min, processes live {segment[0]:g}-{segment[1]:g} s, '
        f'workdir {base}, logs in {logs}',
        flush=True,
    )
    t0 = time.monotonic()
    runs = soak(soak_dir, logs, t0, total, segment, args.seed, warmup)
    results['runs'] = runs
    _save(results, args.out)

    s_last = latest_step(soak_dir)
    final = (s_last or 0) + CHECKPOINT_EVERY
    results['last_soak_step'], results['final_step'] = s_last, final
    print(f'soak over: latest checkpoint {s_last}; resuming it to F = {final}', flush=True)
    # The straight run saves only at F (checkpoint_every changes no state): four times
    # faster, and a long process without saves beside the soak's many.
    for name, workdir, every, extra in (
        ('resume to F', soak_dir, None, ()),
        ('re-run at F', soak_dir, None, ()),
        ('straight to F', straight_dir, 120, (f'--config.checkpoint_every={final}',)),
    ):
        if name == 'straight to F' and latest_step(soak_dir) != final:
            print('      no straight run: the soak run did not reach F', flush=True)
            break
        log = os.path.join(logs, name.replace(' ', '_') + '.log')
        record = run_trainer(name, workdir, final, log, t0, every=every, extra=extra)
        record['logged_before'] = _last_logged(runs) if workdir == soak_dir else None
        _check_finished(record, final)
        runs.append(record)
        print(_progress_line(record, warmup), flush=True)
        _save(results, args.out)
    rerun = next((r for r in runs if r['name'] == 're-run at F'), {})
    results['complete_line'] = rerun.get('complete_line')
    results['bitwise'] = _compare_final(soak_dir, straight_dir, final)
    memory_runs = [r for r in runs if r['name'] != 're-run at F']
    results['memory'] = memory_verdict(memory_runs, warmup)
    results['signals_ok'] = all(not r['problems'] for r in runs)
    plot(runs, results['plot'], warmup)
    text = markdown(results)
    results['passed'] = results['signals_ok'] and results['memory']['flat']
    results['passed'] = results['passed'] and results['bitwise']['equal']
    _save(results, args.out)
    with open(stem + '.md', 'w') as f:
        f.write(text + '\n')
    if args.markdown:
        write_section(args.markdown, 'soak', text)
    print()
    print(text)
    print(f'\nresults: {args.out}, {results["plot"]}, {stem}.md; workdir {base}')
    if not args.workdir:
        print(f'(the temp workdir is kept for inspection: rm -r {base})')
    sys.exit(0 if results['passed'] else 1)


def _compare_final(soak_dir: str, straight_dir: str, final: int) -> dict:
    paths = [os.path.join(d, 'checkpoints', str(final)) for d in (soak_dir, straight_dir)]
    missing = [p for p in paths if not os.path.isdir(p)]
    if missing:
        return {'equal': False, 'error': f'no checkpoint {" or ".join(missing)}'}
    try:
        return compare_bitwise(*paths)
    except Exception as e:  # An unreadable checkpoint: report it, do not crash.
        return {'equal': False, 'error': f'{type(e).__name__}: {e}'.rstrip('.')}


def _default_segment(total: float) -> tuple[float, float]:
    """60–240 s, or shorter so that a short soak still has a few processes."""
    high = min(240.0, max(total / 3, 20.0))
    return min(60.0, high / 2), high


def _check_finished(record: dict, final: int) -> None:
    _check_cleaned_up(record)
    if record['exit_code'] != 0:
        record['problems'].append(f'exit code {record["exit_code"]}, expected 0')
    if record['end_step'] != final:
        record['problems'].append(f'latest checkpoint {record["end_step"]}, expected {final}')
    if record['name'] == 're-run at F':
        record['complete_line'] = next(
            (line for line in record['marked_lines'] if line.startswith('complete:')), None
        )
        if record['traceback']:
            record['problems'].append('Traceback in the output')
        return
    _check_resumed(record)


def _save(results: dict, path: str) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(results, f, indent=1, default=_json_default)
    shutil.move(tmp, path)


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value))


if __name__ == '__main__':
    main()
