"""Robustness probes: what clusters and users do to a run, tried as a user would.

Every probe runs the entry points of the repository given by ``--repo`` (``python
main.py ...``, ``python -m nssgan.compare``, ``python -m
nssgan.evaluation.convert_inception``) in real subprocesses: real SIGTERM, SIGINT and
SIGKILL at random moments and during saves, checkpoints corrupted on disk, wrong and
fuzzed configs, resuming with another config, two trainers on one workdir, a full and a
read-only file system (a tmpfs in a private mount namespace), malicious weight files,
the FID statistics cache. Each probe ends HELD (the user is left with no lost work, no
hang, no raw traceback and no silently wrong continuation) or FAILED, with a short
evidence string; a markdown table is printed and everything is written as JSON.

    git worktree add /tmp/nssgan-before edf83ec
    python benchmarks/robustness_probes.py --list
    python benchmarks/robustness_probes.py --repo /tmp/nssgan-before --out /tmp/probes_before.json
    python benchmarks/robustness_probes.py --repo . --out /tmp/probes_after.json
    python benchmarks/robustness_probes.py --repo . --only sigterm,corruption --out /tmp/p.json
    python benchmarks/robustness_probes.py --repo . --only ckpt_bitflips --merge --out /tmp/p.json

The subprocesses run in ``--repo`` with this interpreter, so ``python main.py`` imports
that repository's ``nssgan`` (the script's directory comes first on ``sys.path``); this
script imports nothing of ``nssgan`` itself (it reads checkpoints with Orbax and events
with TensorBoard). The runs are tiny, for a 2-core CPU: an MLP GAN with 16-unit layers on
the embedded 2-D ring, a DCGAN with 8 channels on the digits, FID with random Inception
weights on ``photo_patches``. One trainer runs at a time, except in the probes of two
trainers. A probe takes 10-60 s; the config fuzz (32 runs), the bit flips (8 resumes;
``--flips``) and the FID probes (an Inception pass over 250 images takes a minute here)
take minutes; a whole pass 25-40 minutes on 2 cores. ``--seed`` and the probe's name seed
its random moments and bit positions, so a probe draws the same ones in every pass and
in any ``--only`` subset. ``--merge`` reruns some probes into an existing ``--out``.
Probes that fail keep the last stderr lines of their worst runs in the JSON.

The expected behaviour (what HELD means):

* errors: exit code 1, the last stderr line ``error: ...`` (one line), no traceback;
* SIGTERM / SIGINT: exit 143 / 130, the last line ``interrupted: SIGTERM: saved step N in
  .../checkpoints. Run the same command to resume.``, checkpoint N finalized, no
  ``*tmp*`` left, and the resumed run bitwise equal to the uninterrupted one;
* no saved checkpoint holds a non-finite value; divergence ends in ``error: training
  diverged: ...``;
* a corrupted checkpoint is named in a warning and the newest good one is resumed (an
  ``error:`` when none is good); never a silent resume from wrong values;
* resuming with another config: ``error:`` listing the changed fields, unless
  ``--allow_config_change``; a second trainer on a workdir in use: ``error:`` naming the
  lock holder (host, pid);
* rerunning a finished run: a ``complete:`` line, exit 0, no new events file; a resumed
  run that overlaps logged steps writes no duplicate (tag, step) events;
* an unreadable ``best_metric.json`` or FID statistics cache: a warning, and the run goes
  on (the cache recomputed); another Inception weights file or seed: another cache file.
"""

import argparse
import contextlib
import gc
import glob
import json
import os
import pickle
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

HELD = 'HELD'
FAILED = 'FAILED'
UNTESTABLE = 'NOT TESTABLE'
PROBE_ERROR = 'PROBE ERROR'

# The MLP GAN of tests/test_signals.py on the ring (about 20 steps/s here, with a start
# of ~10 s); checkpoint_every and num_train_steps are set by each probe.
RING = (
    '--config=configs/ntgan_ring.py:gan',
    '--config.model.mlp_hidden=(16, 16)',
    '--config.model.latent_dim=4',
    '--config.batch_size=16',
    '--config.log_every=5',
    '--config.log_grad_norms=False',
    '--config.sample_every=1000000',
    '--config.eval.every=0',
)
# The same with the noise-tempered scheme (configs/ntgan_ring.py's own variant).
NT_RING = ('--config=configs/ntgan_ring.py',) + RING[1:]
# configs/default.py (NSS DCGAN on the digits) with 8-channel layers and two steps.
DIGITS = (
    '--config=configs/default.py',
    '--config.model.g_width=8',
    '--config.model.d_width=8',
    '--config.model.latent_dim=16',
    '--config.batch_size=16',
    '--config.num_train_steps=2',
    '--config.num_samples=16',
    '--config.log_every=1',
    '--config.sample_every=1000000',
    '--config.checkpoint_every=1000000',
    '--config.eval.every=0',
)
# DCGAN on photo_patches (FID) with 8-channel layers, one step, evaluated at step 1 on 8
# samples (the Inception's batches hold 250 images: a minute each here).
PATCHES = (
    '--config=configs/nss_photo_patches.py',
    '--config.stabilizer.name=none',
    '--config.image_size=32',
    '--config.batch_size=16',
    '--config.model.g_width=8',
    '--config.model.d_width=8',
    '--config.model.latent_dim=16',
    '--config.num_train_steps=1',
    '--config.num_samples=16',
    '--config.sample_every=1000000',
    '--config.eval.every=1',
    '--config.eval.num_samples=8',
)

# Seconds (generous: the machine may be shared) until a run is called hung: to log a
# step or save, to exit after a signal or error, to finish, to finish with FID.
START = 300
STOP = 240
RUN = 600
FID_RUN = 900

LOGGED_STEP = re.compile(r'\] \[(\d+)\] ')
TRACEBACK = 'Traceback (most recent call last)'
ABSL_WARNING = re.compile(r'^[WE]\d{4} ')


# --------------------------------------------------------------------------
# Processes


class Result:
    """What a finished (or killed) process left: exit code, output, time, whether it
    hung (did not exit within its timeout and was killed)."""

    def __init__(self, argv, returncode, stdout, stderr, seconds, hung):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds
        self.hung = hung

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    @property
    def last(self) -> str:
        lines = self.lines
        return lines[-1].strip() if lines else ''

    @property
    def traceback(self) -> bool:
        return TRACEBACK in self.stderr or TRACEBACK in self.stdout

    def traceback_summary(self) -> str:
        """The exception line under the last traceback, e.g. 'RuntimeError: ...'."""
        text = self.stderr if TRACEBACK in self.stderr else self.stdout
        tail = text[text.rindex(TRACEBACK) :].splitlines()
        for line in tail[1:]:
            if line and not line.startswith((' ', '\t')):
                return line.strip()
        return tail[-1].strip()

    def warnings(self, *needles: str) -> list[str]:
        """Warning lines (absl's W/E lines or 'warning:') whose message (after absl's
        prefix) contains all ``needles``."""
        found = []
        for line in self.lines:
            absl = ABSL_WARNING.match(line)
            if absl or 'warning' in line.lower():
                message = line.split('] ', 1)[-1] if absl else line
                if all(n.lower() in message.lower() for n in needles):
                    found.append(message.strip())
        return found

    def describe(self) -> str:
        """'rc=N, <traceback or last line>' in one short string."""
        if self.hung:
            return f'hung (killed after {self.seconds:.0f} s)'
        if self.traceback:
            return f'rc={self.returncode}, traceback: {clip(self.traceback_summary())}'
        if self.returncode == 0 and not self.last.startswith(('error', 'warning', 'complete')):
            return 'rc=0 (went on without a word)'
        return f'rc={self.returncode}, last line: {clip(self.last)}'


FINISHED: list[Result] = []  # The results of the probe running now, for its report.


class Live:
    """A running subprocess whose stderr and stdout are collected line by line."""

    def __init__(self, argv, *, cwd, env):
        self.argv = argv
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors='replace',
            start_new_session=True,
        )
        self.pid = self.process.pid
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, into):
        for line in stream:
            into.append(line)

    def running(self) -> bool:
        return self.process.poll() is None

    def logged_step(self) -> int:
        steps = [int(m.group(1)) for line in list(self.err) if (m := LOGGED_STEP.search(line))]
        return max(steps, default=-1)

    def wait_for(self, predicate, timeout: float, poll: float = 0.02) -> bool:
        """Polls ``predicate()`` until true (True), the process exits or ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            if not self.running():
                return bool(predicate())
            time.sleep(poll)
        return False

    def signal(self, signum: int) -> None:
        """Sends ``signum`` to the process group, as a terminal's Ctrl-C or a scheduler
        does."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def finish(self, timeout: float) -> Result:
        hung = False
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            hung = True
            self.signal(signal.SIGKILL)
            self.process.wait()
        for reader in self._readers:
            reader.join(timeout=10)
        result = Result(
            self.argv,
            self.process.returncode,
            ''.join(self.out),
            ''.join(self.err),
            time.monotonic() - self.started,
            hung,
        )
        FINISHED.append(result)
        return result

    def kill(self) -> None:
        if self.running():
            self.signal(signal.SIGKILL)
            self.process.wait()


class Namespace:
    """A private mount namespace (``unshare --mount``) held open by a sleeping process:
    tmpfs mounts made in it are invisible outside; commands run in it through
    ``nsenter``; its files are seen from here under /proc/<pid>/root."""

    def __init__(self):
        self.holder = subprocess.Popen(
            ['unshare', '--mount', '--propagation', 'private', 'sleep', '3600'],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        mine = os.readlink('/proc/self/ns/mnt')
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.holder.poll() is not None:
                raise OSError(f'unshare failed: {self.holder.stderr.read().decode().strip()}')
            with contextlib.suppress(OSError):
                if os.readlink(f'/proc/{self.holder.pid}/ns/mnt') != mine:
                    return
            time.sleep(0.05)
        raise OSError('unshare did not enter a new mount namespace')

    def prefix(self, cwd: str = '/') -> tuple[str, ...]:
        """The command prefix that runs a command in the namespace, in ``cwd``."""
        return ('nsenter', '-t', str(self.holder.pid), '-m', f'--wd={cwd}', '--')

    def mount_tmpfs(self, path: str, options: str) -> None:
        os.makedirs(path, exist_ok=True)
        subprocess.run(
            [*self.prefix(), 'mount', '-t', 'tmpfs', '-o', options, 'none', path],
            check=True,
            capture_output=True,
        )

    def outside(self, path: str) -> str:
        """``path`` (inside the namespace) as seen from here."""
        return f'/proc/{self.holder.pid}/root{path}'

    def close(self) -> None:
        self.holder.kill()
        self.holder.wait()


# --------------------------------------------------------------------------
# Checkpoints, events, files


def clip(text: str, limit: int = 180) -> str:
    text = ' '.join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + '…'


def checkpoint_dir(workdir: str) -> str:
    return os.path.join(workdir, 'checkpoints')


def checkpoint_steps(workdir: str, subdir: str = 'checkpoints') -> tuple[list[int], list[str]]:
    """(finalized steps, leftover temporary entries) in ``<workdir>/<subdir>``."""
    directory = os.path.join(workdir, subdir)
    if not os.path.isdir(directory):
        return [], []
    names = os.listdir(directory)
    return sorted(int(n) for n in names if n.isdigit()), sorted(n for n in names if 'tmp' in n)


def read_checkpoint(step_dir: str) -> dict[str, np.ndarray]:
    """{item + key path: array} of every PyTree item of the Orbax checkpoint in
    ``step_dir``, read without a target structure."""
    import jax  # (only probes that compare checkpoints need JAX and Orbax)
    import orbax.checkpoint as ocp

    leaves = {}
    items = [
        name
        for name in sorted(os.listdir(step_dir))
        if os.path.isfile(os.path.join(step_dir, name, '_METADATA'))
    ]
    if not items:
        raise FileNotFoundError(f'no Orbax item in {step_dir}')
    for item in items:
        tree = ocp.StandardCheckpointer().restore(os.path.join(step_dir, item))
        for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
            leaves[f'{item}{jax.tree_util.keystr(path)}'] = np.asarray(leaf)
    return leaves


def difference(a: dict, b: dict) -> str | None:
    """None when the two checkpoints are bitwise equal, else what differs."""
    if a.keys() != b.keys():
        return f'different leaves ({len(a)} vs {len(b)})'
    differ = [k for k in a if a[k].shape != b[k].shape or a[k].tobytes() != b[k].tobytes()]
    if not differ:
        return None
    return f'{len(differ)}/{len(a)} leaves differ, e.g. {differ[0]}'


def nonfinite(leaves: dict) -> list[str]:
    return [
        k
        for k, v in leaves.items()
        if np.issubdtype(v.dtype, np.floating) and not np.all(np.isfinite(v))
    ]


def data_files(step_dir: str) -> list[str]:
    """The files holding array data (under directories named ``d``), largest first."""
    found = [
        path
        for path in glob.glob(os.path.join(step_dir, '**', '*'), recursive=True)
        if os.path.isfile(path) and os.path.basename(os.path.dirname(path)) == 'd'
    ]
    return sorted(found, key=lambda p: (-os.path.getsize(p), p))


def array_data_file(step_dir: str) -> str:
    """The data file holding the raw bytes of the checkpoint's largest array (the largest
    file under a ``d`` directory when no file holds them verbatim)."""
    leaves = read_checkpoint(step_dir)
    largest = max(leaves.values(), key=lambda a: a.nbytes).tobytes()[:64]
    files = data_files(step_dir)
    for path in files:
        with open(path, 'rb') as f:
            if largest in f.read():
                return path
    return files[0]


def events_files(workdir: str) -> list[str]:
    return sorted(glob.glob(os.path.join(workdir, '**', 'events.out.tfevents.*'), recursive=True))


def duplicate_events(workdir: str) -> tuple[int, list[tuple[str, int]]]:
    """(number of (tag, step) points, those written more than once) over all the
    workdir's TensorBoard event files."""
    from tensorboard.backend.event_processing import event_file_loader

    counts = {}
    for path in events_files(workdir):
        for event in event_file_loader.EventFileLoader(path).Load():
            if event.HasField('summary'):
                for value in event.summary.value:
                    key = (value.tag, int(event.step))
                    counts[key] = counts.get(key, 0) + 1
    return len(counts), sorted(k for k, n in counts.items() if n > 1)


def flip_bit(path: str, bit: int) -> None:
    data = bytearray(open(path, 'rb').read())
    data[bit // 8] ^= 1 << (bit % 8)
    with open(path, 'wb') as f:
        f.write(data)


def xor_bytes(path: str, start: int, count: int = 64) -> None:
    """XORs ``count`` bytes of ``path`` from ``start`` with 0xA5."""
    data = bytearray(open(path, 'rb').read())
    for i in range(start, min(len(data), start + count)):
        data[i] ^= 0xA5
    with open(path, 'wb') as f:
        f.write(data)


@contextlib.contextmanager
def quiet_stderr():
    """Sends file descriptor 2 to /dev/null: Orbax prints an 'Event loop is closed'
    traceback (from another thread) when a damaged checkpoint fails to restore here."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, 'w') as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        gc.collect()  # the tracebacks come as the failed reads' objects go
        time.sleep(0.5)
        os.dup2(saved, 2)
        os.close(saved)


def silent_corruption(step_dir: str, scratch: str) -> tuple[str, int] | None:
    """(data file relative to ``step_dir``, offset) where XOR-ing 64 bytes changes the
    values the checkpoint restores to while Orbax raises nothing (OCDBT keeps small
    arrays in two places, and only one is read), tried on copies in ``scratch``; None
    when no such place was found."""
    original = read_checkpoint(step_dir)
    with quiet_stderr():
        for path in data_files(step_dir):
            relative = os.path.relpath(path, step_dir)
            size = os.path.getsize(path)
            for fraction in (0.5, 0.25, 0.75, 0.1, 0.9):
                offset = max(0, min(size - 64, int(size * fraction) - 32))
                shutil.rmtree(scratch, ignore_errors=True)
                shutil.copytree(step_dir, scratch)
                xor_bytes(os.path.join(scratch, relative), offset)
                try:
                    if difference(read_checkpoint(scratch), original):
                        return relative, offset
                except Exception:  # (damage Orbax notices is another probe's)
                    continue
    return None


def one_line_error(result: Result, *needles: str) -> str | None:
    """None when ``result`` is the expected error (exit 1, last line ``error: ...``
    containing ``needles``, no traceback); else what is wrong, in a few words."""
    if result.hung:
        return result.describe()
    if result.traceback:
        return result.describe()
    if result.returncode != 1:
        return result.describe()
    if not result.last.startswith('error: '):
        return f'rc=1 but the last line is not "error: ...": {clip(result.last)}'
    missing = [n for n in needles if n.lower() not in result.last.lower()]
    if missing:
        return f'error does not name {", ".join(missing)}: {clip(result.last)}'
    return None


INTERRUPTED = (
    r'interrupted: {name}: saved step (\d+) in (\S+)checkpoints\. '
    r'Run the same command to resume\.'
)


# --------------------------------------------------------------------------
# The probing context: runs, fixtures, workdirs


class Context:
    def __init__(self, repo: str, root: str, seed: int, flips: int):
        self.repo = repo
        self.root = root
        self.rng = random.Random(seed)  # reseeded for each probe by main()
        self.flips = flips
        self.env = {**os.environ, 'JAX_PLATFORMS': 'cpu', 'TF_CPP_MIN_LOG_LEVEL': '3'}
        self.env.pop('PYTHONPATH', None)
        self._fixtures = {}
        self._count = 0

    def workdir(self, name: str) -> str:
        self._count += 1
        return os.path.join(self.root, f'{self._count:03d}_{name}')

    def argv(self, args, *, module: str | None = None, script: str = 'main.py'):
        head = ['-m', module] if module else [os.path.join(self.repo, script)]
        return [sys.executable, *head, *args]

    def start(self, *args, workdir=None, prefix=(), cwd=None, module=None) -> Live:
        args = list(args) + ([f'--workdir={workdir}'] if workdir is not None else [])
        return Live([*prefix, *self.argv(args, module=module)], cwd=cwd or self.repo, env=self.env)

    def run(self, *args, workdir=None, timeout=RUN, prefix=(), cwd=None, module=None) -> Result:
        live = self.start(*args, workdir=workdir, prefix=prefix, cwd=cwd, module=module)
        return live.finish(timeout)

    def fixture(self, name: str, build):
        """``build()``, once per pass (a failure too: later probes get the same error)."""
        if name not in self._fixtures:
            try:
                self._fixtures[name] = build()
            except Exception as e:
                self._fixtures[name] = e
        if isinstance(self._fixtures[name], Exception):
            raise self._fixtures[name]
        return self._fixtures[name]

    # ---- shared runs

    def reference(self) -> dict[int, dict]:
        """{step: leaves} of an uninterrupted RING run to step 300 with a checkpoint
        every 20 steps (all kept): what interrupted and resumed runs must equal."""

        def build():
            workdir = self.workdir('reference_300')
            result = self.run(
                *RING,
                '--config.num_train_steps=300',
                '--config.checkpoint_every=20',
                '--config.keep_checkpoints=100',
                workdir=workdir,
            )
            if result.returncode != 0:
                raise RuntimeError(f'the reference run failed: {result.describe()}')
            steps, _ = checkpoint_steps(workdir)
            return {
                s: read_checkpoint(os.path.join(checkpoint_dir(workdir), str(s))) for s in steps
            }

        return self.fixture('reference', build)

    def small_run(self, args=RING) -> tuple[str, dict, tuple]:
        """A finished run to step 10 (checkpoints 5 and 10), the leaves at step 15 of
        the same run straight through, and its arguments (without num_train_steps)."""
        key = 'small_nt' if args is NT_RING else 'small'

        def build():
            base = (*args, '--config.checkpoint_every=5')
            workdir = self.workdir(f'{key}_10')
            result = self.run(*base, '--config.num_train_steps=10', workdir=workdir)
            straight = self.workdir(f'{key}_straight_15')
            result15 = self.run(*base, '--config.num_train_steps=15', workdir=straight)
            for r in (result, result15):
                if r.returncode != 0:
                    raise RuntimeError(f'a base run failed: {r.describe()}')
            leaves = read_checkpoint(os.path.join(checkpoint_dir(straight), '15'))
            return workdir, leaves, base

        return self.fixture(key, build)

    def copy_of(self, template: str, name: str) -> str:
        workdir = self.workdir(name)
        shutil.copytree(template, workdir, symlinks=True)
        return workdir

    def inception_weights(self) -> tuple[str, str]:
        """Two files of random FID Inception weights, made with the repository's
        ``init_random`` and ``save_inception``."""

        def build():
            directory = os.path.join(self.root, 'inception')
            os.makedirs(directory, exist_ok=True)
            code = (
                'import sys, jax\n'
                'from nssgan.evaluation import inception\n'
                'for i, path in enumerate(sys.argv[1:]):\n'
                '    inception.save_inception(inception.init_random(jax.random.PRNGKey(i)), path)\n'
            )
            paths = [os.path.join(directory, f'random{i}.msgpack') for i in (0, 1)]
            live = Live([sys.executable, '-c', code, *paths], cwd=self.repo, env=self.env)
            result = live.finish(RUN)
            if result.returncode != 0:
                raise RuntimeError(f'making Inception weights failed: {result.describe()}')
            return tuple(paths)

        return self.fixture('inception', build)

    def fid_base(self) -> tuple[str, Result]:
        """The FID statistics cache directory after one run on photo_patches with the
        first random Inception weights and seed 0."""

        def build():
            weights, _ = self.inception_weights()
            stats = os.path.join(self.root, 'fid_stats_base')
            result = self.run(
                *PATCHES,
                f'--config.eval.inception_weights={weights}',
                f'--config.eval.stats_dir={stats}',
                workdir=self.workdir('fid_base'),
                timeout=FID_RUN,
            )
            if result.returncode != 0 or not os.listdir(stats):
                raise RuntimeError(f'the FID base run failed: {result.describe()}')
            return stats, result

        return self.fixture('fid_base', build)


# --------------------------------------------------------------------------
# Probes

PROBES = {}


def probe(name: str, group: str, what: str):
    def register(fn):
        PROBES[name] = (group, what, fn)
        return fn

    return register


def check_interrupted(result: Result, signum: int, workdir: str) -> tuple[int | None, str]:
    """(saved step, '') when ``result`` is a clean stop on ``signum``; else (None, why)."""
    name = signal.Signals(signum).name
    if result.hung:
        return None, f'hung after {name} (killed after {result.seconds:.0f} s)'
    if result.traceback:
        return None, f'{name}: {result.describe()}'
    if result.returncode != 128 + signum:
        return None, f'{name}: {result.describe()} (expected rc={128 + signum})'
    saved = re.fullmatch(INTERRUPTED.format(name=name), result.last)
    if not saved:
        return None, f'{name}: rc ok, last line {clip(result.last)!r}'
    step = int(saved.group(1))
    steps, leftovers = checkpoint_steps(workdir)
    if step not in steps:
        return None, f'{name}: says step {step} saved but checkpoints are {steps}'
    if leftovers:
        return None, f'{name}: saved step {step} but left {leftovers}'
    return step, ''


def resume_and_compare(ctx, args, workdir, reference: dict, final: int) -> str | None:
    """Reruns the same command; None when it ends at ``final`` bitwise equal to
    ``reference``, else why not."""
    result = ctx.run(*args, workdir=workdir)
    if result.returncode != 0 or result.traceback:
        return f'resume: {result.describe()}'
    path = os.path.join(checkpoint_dir(workdir), str(final))
    if not os.path.isdir(path):
        return f'resume: no checkpoint {final}'
    diff = difference(read_checkpoint(path), reference)
    return f'resumed run != uninterrupted at step {final}: {diff}' if diff else None


def signal_probe(ctx, name, signum, *, times=1, target=None, final=300, save_every=20):
    reference = ctx.reference()[final]
    args = (*RING, f'--config.num_train_steps={final}', f'--config.checkpoint_every={save_every}')
    workdir = ctx.workdir(name)
    target = target if target is not None else ctx.rng.randint(25, 150)
    live = ctx.start(*args, workdir=workdir)
    if not live.wait_for(lambda: live.logged_step() >= target, timeout=START):
        live.kill()
        return FAILED, f'never logged step {target}: {live.finish(5).describe()}'
    for i in range(times):
        if i:
            time.sleep(0.1)
        live.signal(signum)
    step, why = check_interrupted(live.finish(STOP), signum, workdir)
    if step is None:
        return FAILED, f'sent at logged step ≥{target}; {why}'
    diff = resume_and_compare(ctx, args, workdir, reference, final)
    if diff:
        return FAILED, f'saved step {step}; {diff}'
    return HELD, (
        f'{signal.Signals(signum).name}×{times} at step ≥{target}: rc {128 + signum}, saved '
        f'step {step}, no tmp; resumed to {final} bitwise equal'
    )


@probe('sigterm', 'signals', 'SIGTERM at a random step: saved, one line, resume bitwise equal')
def sigterm(ctx):
    return signal_probe(ctx, 'sigterm', signal.SIGTERM)


@probe('sigint_twice', 'signals', 'Ctrl-C twice (0.1 s apart): saved, resume bitwise equal')
def sigint_twice(ctx):
    return signal_probe(ctx, 'sigint_twice', signal.SIGINT, times=2)


@probe(
    'sigint_during_step',
    'signals',
    'Ctrl-C at random moments of a run whose jitted step dominates (batch 2048, 256 units)',
)
def sigint_during_step(ctx):
    args = (
        *RING[:1],
        '--config.model.mlp_hidden=(256, 256)',
        *RING[2:3],
        '--config.batch_size=2048',
        *RING[4:],
        '--config.num_train_steps=100000',
        '--config.checkpoint_every=50',
    )
    seen = []
    for trial in range(2):
        workdir = ctx.workdir(f'sigint_during_step_{trial}')
        live = ctx.start(*args, workdir=workdir)
        if not live.wait_for(lambda: live.logged_step() >= 10, timeout=START):
            live.kill()
            return FAILED, f'never logged step 10: {live.finish(5).describe()}'
        delay = ctx.rng.uniform(0.0, 2.0)
        time.sleep(delay)
        live.signal(signal.SIGINT)
        step, why = check_interrupted(live.finish(STOP), signal.SIGINT, workdir)
        if step is None:
            return FAILED, f'trial {trial} ({delay:.2f} s after step 10): {why}'
        leaves = read_checkpoint(os.path.join(checkpoint_dir(workdir), str(step)))
        if nonfinite(leaves):
            return FAILED, f'trial {trial}: saved step {step} holds non-finite values'
        seen.append(f'{delay:.2f} s→step {step}')
    return HELD, f'2 trials ({", ".join(seen)}): rc 130, saved, readable, no tmp'


def wait_for_save(live: Live, workdir: str, after: int, timeout: float) -> bool:
    """Waits until the run logged step ``after`` and a ``*tmp*`` checkpoint directory
    (a save in flight) appears."""
    directory = checkpoint_dir(workdir)

    def saving():
        if live.logged_step() < after:
            return False
        with contextlib.suppress(OSError):
            return any('tmp' in name for name in os.listdir(directory))
        return False

    return live.wait_for(saving, timeout=timeout, poll=0.001)


@probe('sigint_during_save', 'signals', 'Ctrl-C while an asynchronous save is in flight')
def sigint_during_save(ctx):
    reference = ctx.reference()[60]
    args = (*RING, '--config.num_train_steps=60', '--config.checkpoint_every=1')
    workdir = ctx.workdir('sigint_during_save')
    target = ctx.rng.randint(5, 40)
    live = ctx.start(*args, workdir=workdir)
    caught = wait_for_save(live, workdir, target, timeout=START)
    if not caught:
        live.kill()
        return UNTESTABLE, f'no save in flight was seen: {live.finish(5).describe()}'
    live.signal(signal.SIGINT)
    step, why = check_interrupted(live.finish(STOP), signal.SIGINT, workdir)
    if step is None:
        return FAILED, f'sent while a *tmp* checkpoint existed; {why}'
    diff = resume_and_compare(ctx, args, workdir, reference, 60)
    if diff:
        return FAILED, f'saved step {step}; {diff}'
    return HELD, (
        f'sent during a save after step ≥{target}: rc 130, saved step {step}, no tmp; '
        'resumed bitwise equal'
    )


@probe('sigkill_random', 'signals', 'SIGKILL at a random step, resume bitwise equal (held before)')
def sigkill_random(ctx):
    reference = ctx.reference()[300]
    args = (*RING, '--config.num_train_steps=300', '--config.checkpoint_every=20')
    workdir = ctx.workdir('sigkill_random')
    target = ctx.rng.randint(60, 250)
    live = ctx.start(*args, workdir=workdir)
    if not live.wait_for(lambda: live.logged_step() >= target, timeout=START):
        live.kill()
        return FAILED, f'never logged step {target}: {live.finish(5).describe()}'
    live.kill()
    steps, leftovers = checkpoint_steps(workdir)
    diff = resume_and_compare(ctx, args, workdir, reference, 300)
    if diff:
        return FAILED, f'killed at step ≥{target} (checkpoints {steps}); {diff}'
    return HELD, f'killed at step ≥{target} (checkpoints {steps}); resumed to 300 bitwise equal'


@probe('sigkill_mid_save', 'signals', 'SIGKILL during a save, resume bitwise equal (held before)')
def sigkill_mid_save(ctx):
    reference = ctx.reference()[60]
    args = (*RING, '--config.num_train_steps=60', '--config.checkpoint_every=1')
    workdir = ctx.workdir('sigkill_mid_save')
    live = ctx.start(*args, workdir=workdir)
    target = ctx.rng.randint(5, 40)
    if not wait_for_save(live, workdir, target, timeout=START):
        live.kill()
        return UNTESTABLE, f'no save in flight was seen: {live.finish(5).describe()}'
    live.kill()
    steps, leftovers = checkpoint_steps(workdir)
    diff = resume_and_compare(ctx, args, workdir, reference, 60)
    if diff:
        return FAILED, f'killed mid-save (left {leftovers}); {diff}'
    _, after = checkpoint_steps(workdir)
    return HELD, (
        f'killed mid-save after step ≥{target} (finalized {steps[-3:]}, left {leftovers}); '
        f'resumed bitwise equal; tmp after resume: {after or "none"}'
    )


def nonfinite_probe(ctx, name, args, *, diverged_expected: bool):
    workdir = ctx.workdir(name)
    result = ctx.run(*args, workdir=workdir)
    steps, _ = checkpoint_steps(workdir)
    bad = []
    for step in steps:
        leaves = read_checkpoint(os.path.join(checkpoint_dir(workdir), str(step)))
        if nonfinite(leaves):
            bad.append(f'{step}: {nonfinite(leaves)[0]}')
    if bad:
        return FAILED, f'{len(bad)}/{len(steps)} checkpoints non-finite (e.g. {bad[0]})'
    if result.returncode == 0 and not diverged_expected:
        return HELD, f'did not diverge; {len(steps)} checkpoints, all finite'
    why = one_line_error(result)
    if why:
        return FAILED, f'checkpoints {steps} finite, but {why}'
    if diverged_expected and not result.last.startswith('error: training diverged'):
        return FAILED, f'checkpoints {steps} finite; not "training diverged": {clip(result.last)}'
    return HELD, f'checkpoints {steps} all finite; {clip(result.last, 120)}'


@probe('nonfinite_g_lr_inf', 'non-finite', 'g_lr=inf, checkpoint_every=1: nothing non-finite saved')
def nonfinite_g_lr_inf(ctx):
    args = (
        *RING,
        '--config.optimizer.g_lr=inf',
        '--config.checkpoint_every=1',
        '--config.num_train_steps=20',
    )
    return nonfinite_probe(ctx, 'nonfinite_g_lr_inf', args, diverged_expected=False)


@probe('nonfinite_lr_1e30', 'non-finite', 'g_lr=d_lr=1e30 (valid), checkpoint_every=1: diverges')
def nonfinite_lr_1e30(ctx):
    args = (
        *RING,
        '--config.optimizer.g_lr=1e30',
        '--config.optimizer.d_lr=1e30',
        '--config.checkpoint_every=1',
        '--config.num_train_steps=50',
    )
    return nonfinite_probe(ctx, 'nonfinite_lr_1e30', args, diverged_expected=True)


@probe('nonfinite_wasserstein_bn', 'non-finite', 'loss=wasserstein, lr 1e3: no non-finite BN saved')
def nonfinite_wasserstein_bn(ctx):
    args = (
        *RING,
        '--config.loss=wasserstein',
        '--config.optimizer.g_lr=1e3',
        '--config.optimizer.d_lr=1e3',
        '--config.checkpoint_every=5',
        '--config.num_train_steps=200',
    )
    return nonfinite_probe(ctx, 'nonfinite_wasserstein_bn', args, diverged_expected=True)


def resume_damaged(ctx, workdir, base, straight15) -> tuple[str, Result]:
    """Resumes a copy of the small run to step 15 after its checkpoint 10 was damaged:
    ('fallback' | 'true' | 'error' | 'wrong' | 'warned-wrong' | 'hung' | 'other', with
    'traceback+' in front when stderr holds one, and the result)."""
    result = ctx.run(*base, '--config.num_train_steps=15', workdir=workdir)
    if result.hung:
        return 'hung', result
    prefix = 'traceback+' if result.traceback else ''  # and what the run did besides
    warned = bool(result.warnings('checkpoint'))
    if result.returncode == 1 and result.last.startswith('error: '):
        return f'{prefix}error', result
    if result.returncode != 0:
        return f'{prefix}other', result
    path = os.path.join(checkpoint_dir(workdir), '15')
    if not os.path.isdir(path) or difference(read_checkpoint(path), straight15):
        return prefix + ('warned-wrong' if warned else 'wrong'), result
    return prefix + ('fallback' if warned else 'true'), result


@probe('ckpt_xor64', 'corruption', "XOR 64 bytes of the latest checkpoint's array data")
def ckpt_xor64(ctx):
    template, straight15, base = ctx.small_run()
    place = silent_corruption(
        os.path.join(checkpoint_dir(template), '10'), os.path.join(ctx.root, 'scratch')
    )
    if place is None:
        return UNTESTABLE, 'no 64 bytes whose change Orbax misses and that change values'
    relative, offset = place
    workdir = ctx.copy_of(template, 'ckpt_xor64')
    xor_bytes(os.path.join(checkpoint_dir(workdir), '10', relative), offset)
    outcome, result = resume_damaged(ctx, workdir, base, straight15)
    where = f'{relative} @{offset} (restores other values, Orbax raises nothing)'
    if outcome == 'fallback':
        warned = clip(result.warnings('checkpoint')[0], 100)
        return HELD, f'{where}: warned ({warned}), resumed bitwise true'
    if outcome == 'true':
        return HELD, f'{where}: not detected, but resumed values bitwise true'
    if outcome in ('wrong', 'warned-wrong'):
        return FAILED, f'{where}: resumed to 15 with wrong values ({outcome}), rc 0'
    if outcome == 'error':
        return FAILED, f'{where}: stopped instead of falling back to step 5: {clip(result.last)}'
    return FAILED, f'{where}: {outcome}: {result.describe()}'


def effective_bits(step_dir: str, scratch: str, count: int, rng) -> list[tuple[str, int, str]]:
    """``count`` random single-bit flips of the checkpoint's data files that matter:
    [(data file relative to ``step_dir``, bit, 'changes values' | 'Orbax raises')].

    OCDBT keeps small arrays twice and reads one copy, so most random bits of the data
    files change nothing; candidates are tried on copies in ``scratch`` (at most 40 per
    flip kept)."""
    original = read_checkpoint(step_dir)
    files = [os.path.relpath(p, step_dir) for p in data_files(step_dir)]
    sizes = [os.path.getsize(os.path.join(step_dir, f)) for f in files]
    found = []
    with quiet_stderr():
        for _ in range(40 * count):
            if len(found) == count:
                break
            relative = rng.choices(files, weights=sizes)[0]
            bit = rng.randrange(os.path.getsize(os.path.join(step_dir, relative)) * 8)
            shutil.rmtree(scratch, ignore_errors=True)
            shutil.copytree(step_dir, scratch)
            flip_bit(os.path.join(scratch, relative), bit)
            try:
                if difference(read_checkpoint(scratch), original):
                    found.append((relative, bit, 'changes values'))
            except Exception:  # (Orbax noticed the damage)
                found.append((relative, bit, 'Orbax raises'))
    return found


@probe('ckpt_bitflips', 'corruption', 'single-bit flips that matter, one resume each')
def ckpt_bitflips(ctx):
    template, straight15, base = ctx.small_run()
    step_dir = os.path.join(checkpoint_dir(template), '10')
    flips = effective_bits(step_dir, os.path.join(ctx.root, 'scratch'), ctx.flips, ctx.rng)
    if not flips:
        return UNTESTABLE, 'no bit flip changed what the checkpoint restores to'
    kinds = {}
    for _, _, kind in flips:
        kinds[kind] = kinds.get(kind, 0) + 1
    outcomes = {}
    bad = []
    for relative, bit, kind in flips:
        workdir = ctx.copy_of(template, f'ckpt_bitflip_{bit}')
        flip_bit(os.path.join(checkpoint_dir(workdir), '10', relative), bit)
        outcome, result = resume_damaged(ctx, workdir, base, straight15)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome not in ('fallback', 'true', 'error'):
            what = clip(result.traceback_summary(), 60) if result.traceback else ''
            bad.append(f'bit {bit} ({kind}): {outcome} {what}'.strip())
        shutil.rmtree(workdir, ignore_errors=True)
    summary = ', '.join(f'{n} {k}' for k, n in sorted(outcomes.items()))
    where = f'{len(flips)} flips ({", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))})'
    if bad:
        return FAILED, f'{where} → {summary}; e.g. {"; ".join(bad[:2])}'
    return HELD, f'{where} → {summary} (none silent)'


@probe('ckpt_orbax_damage', 'corruption', 'latest checkpoint missing a data file: falls back to 5')
def ckpt_orbax_damage(ctx):
    template, straight15, base = ctx.small_run()
    workdir = ctx.copy_of(template, 'ckpt_orbax_damage')
    os.remove(array_data_file(os.path.join(checkpoint_dir(workdir), '10')))
    outcome, result = resume_damaged(ctx, workdir, base, straight15)
    if outcome == 'fallback':
        return (
            HELD,
            f'warned ({clip(result.warnings("checkpoint")[0], 110)}); resumed from 5, bitwise true',
        )
    if outcome == 'error':
        return FAILED, f'no fallback to step 5: {clip(result.last)}'
    return FAILED, f'{outcome}: {result.describe()}'


@probe('ckpt_all_damaged', 'corruption', 'every checkpoint damaged: one-line error, no traceback')
def ckpt_all_damaged(ctx):
    template, _, base = ctx.small_run()
    workdir = ctx.copy_of(template, 'ckpt_all_damaged')
    steps, _ = checkpoint_steps(workdir)
    for step in steps:
        os.remove(array_data_file(os.path.join(checkpoint_dir(workdir), str(step))))
    # Orbax's stray tracebacks ('Event loop is closed', 'Exception ignored in: <coroutine
    # ...>') come at exit in about one run of four: 4 tries.
    tries = 4
    for attempt in range(tries):
        result = ctx.run(*base, '--config.num_train_steps=15', workdir=workdir)
        why = one_line_error(result)
        if why:
            loop = ' (Event loop is closed)' if 'Event loop is closed' in result.stderr else ''
            return FAILED, f'try {attempt + 1}/{tries}: {why}{loop}'
    return HELD, f'{len(steps)} damaged, {tries} tries: {clip(result.last)}'


def config_change_probe(ctx, name, change: tuple, field: str, *, allow=False):
    template, _, base = ctx.small_run(NT_RING)
    workdir = ctx.copy_of(template, name)
    extra = ('--allow_config_change',) if allow else ()
    result = ctx.run(*base, '--config.num_train_steps=15', *change, *extra, workdir=workdir)
    steps, _ = checkpoint_steps(workdir)
    if allow:
        if result.returncode != 0 or result.traceback:
            return FAILED, f'with --allow_config_change: {result.describe()}'
        if 15 not in steps:
            return FAILED, f'with --allow_config_change: rc 0 but no step 15 ({steps})'
        warned = result.warnings(field)
        note = f'; warned: {clip(warned[0], 90)}' if warned else '; no warning naming it'
        return HELD, f'resumed to 15 with {" ".join(change)}{note}'
    why = one_line_error(result, field)
    if why:
        trained = ' and trained on to 15' if 15 in steps else ''
        return FAILED, f'{" ".join(change)}: {why}{trained}'
    extra_fields = ' (also lists num_train_steps)' if 'num_train_steps' in result.last else ''
    return HELD, f'{clip(result.last, 140)}{extra_fields}'


@probe('resume_ring_to_grid', 'config change', 'resume with dataset ring→grid')
def resume_ring_to_grid(ctx):
    return config_change_probe(ctx, 'resume_ring_to_grid', ('--config.dataset=grid',), 'dataset')


@probe('resume_seed', 'config change', 'resume with seed 0→1')
def resume_seed(ctx):
    return config_change_probe(ctx, 'resume_seed', ('--config.seed=1',), 'seed')


@probe('resume_nt_to_gan', 'config change', 'resume with stabilizer noise_tempered→none')
def resume_nt_to_gan(ctx):
    return config_change_probe(
        ctx, 'resume_nt_to_gan', ('--config.stabilizer.name=none',), 'stabilizer'
    )


@probe('resume_loss_hinge', 'config change', 'resume with loss non_saturating→hinge')
def resume_loss_hinge(ctx):
    return config_change_probe(ctx, 'resume_loss_hinge', ('--config.loss=hinge',), 'loss')


@probe('resume_allowed_change', 'config change', 'seed 0→1 with --allow_config_change goes on')
def resume_allowed_change(ctx):
    return config_change_probe(
        ctx, 'resume_allowed_change', ('--config.seed=1',), 'seed', allow=True
    )


def lock_refusal(result: Result, holder: int) -> str | None:
    """None when ``result`` is a one-line error naming the holder's pid and host."""
    why = one_line_error(result)
    if why:
        return why
    if str(holder) not in result.last:
        return f'error does not name pid {holder}: {clip(result.last)}'
    if socket.gethostname() not in result.last:
        return f'error does not name the host: {clip(result.last)}'
    return None


@probe('two_trainers_together', 'two trainers', 'two identical trainers started together')
def two_trainers_together(ctx):
    args = (*RING, '--config.num_train_steps=300', '--config.checkpoint_every=5')
    workdir = ctx.workdir('two_trainers_together')
    first = ctx.start(*args, workdir=workdir)
    second = ctx.start(*args, workdir=workdir)
    results = [first.finish(RUN), second.finish(RUN)]
    pids = [first.pid, second.pid]
    ok = [i for i, r in enumerate(results) if r.returncode == 0 and not r.traceback]
    refused = [i for i, r in enumerate(results) if lock_refusal(r, pids[1 - i]) is None]
    if len(ok) == 1 and len(refused) == 1 and ok != refused:
        return HELD, f'one finished, the other: {clip(results[refused[0]].last, 130)}'
    return FAILED, ' | '.join(f'{i}: {r.describe()}' for i, r in enumerate(results))


@probe('two_trainers_staggered', 'two trainers', 'second trainer, seed 1, once the first saved')
def two_trainers_staggered(ctx):
    args = (*RING, '--config.num_train_steps=100000', '--config.checkpoint_every=10')
    workdir = ctx.workdir('two_trainers_staggered')
    first = ctx.start(*args, workdir=workdir)
    second = None
    try:
        if not first.wait_for(lambda: len(checkpoint_steps(workdir)[0]) >= 2, timeout=START):
            return FAILED, f'the first never saved: {first.finish(5).describe()}'
        saved = checkpoint_steps(workdir)[0][-1]
        second = ctx.start(*args, '--config.seed=1', workdir=workdir)
        first_step = first.logged_step()
        second.wait_for(lambda: second.logged_step() >= 0, timeout=START)
        resumed = second.logged_step()
        if second.running():
            second.signal(signal.SIGTERM)
        result = second.finish(STOP)
        first.signal(signal.SIGTERM)
        first_result = first.finish(STOP)
    finally:
        first.kill()
        if second is not None:
            second.kill()
    if resumed >= 0:
        return FAILED, (
            f"the second (seed 1) resumed the first's checkpoints and logged step {resumed} "
            f'(when it started, the first had saved step {saved} and logged {first_step}); '
            f'second: {result.describe()}'
        )
    why = lock_refusal(result, first.pid)
    if why:
        return FAILED, f'second: {why}'
    if first_result.traceback or first_result.returncode != 128 + signal.SIGTERM:
        return FAILED, f'second refused, but the first then: {first_result.describe()}'
    return HELD, f'second: {clip(result.last, 130)}; first stopped cleanly'


def bad_value_probe(ctx, name, args, needle, *, cwd=None, workdir=None):
    workdir = workdir if workdir is not None else ctx.workdir(name)
    result = ctx.run(*args, workdir=workdir, cwd=cwd)
    why = one_line_error(result, needle)
    trained = checkpoint_steps(workdir)[0] if workdir else []
    if why:
        return FAILED, why + (f'; trained (checkpoints {trained})' if trained else '')
    if trained:
        return FAILED, f'trained first (checkpoints {trained}), then: {clip(result.last)}'
    return HELD, f'{clip(result.last, 150)} ({len(result.lines)} stderr lines)'


BAD_VALUES = {
    'bad_b1': (RING, ('--config.optimizer.b1=1.5',), 'b1'),
    'bad_b2_nan': (RING, ('--config.optimizer.b2=nan',), 'b2'),
    'bad_nss_sigma': (DIGITS, ('--config.stabilizer.nss.sigma=-1',), 'sigma'),
    'bad_nss_T': (DIGITS, ('--config.stabilizer.nss.T=0',), 'T'),
    'bad_nss_beta': (DIGITS, ('--config.stabilizer.nss.beta=-20',), 'beta'),
    'bad_kernel_sigma': (DIGITS, ('--config.stabilizer.nss.kernel_sigma=-1',), 'kernel_sigma'),
    'unknown_field': (RING, ('--config.nonexistent_field=1',), 'nonexistent_field'),
    'typo_batchsize': (RING, ('--config.batchsize=8',), 'batch_size'),
}


def _bad_value(name):
    base, extra, needle = BAD_VALUES[name]

    def run(ctx):
        args = (*base, *extra)
        if base is RING:
            args += ('--config.num_train_steps=3',)
        return bad_value_probe(ctx, name, args, needle)

    return run


for _name, (_base, _extra, _needle) in BAD_VALUES.items():
    probe(_name, 'bad values', f'{" ".join(_extra)}: one-line error naming {_needle}')(
        _bad_value(_name)
    )


@probe('missing_config_file', 'bad values', '--config=configs/does_not_exist.py')
def missing_config_file(ctx):
    args = ('--config=configs/does_not_exist.py',)
    return bad_value_probe(ctx, 'missing_config_file', args, 'does_not_exist')


@probe('empty_workdir', 'bad values', '--workdir= (empty; run from an empty directory)')
def empty_workdir(ctx):
    # Run from an empty directory (with absolute config paths) so that a run that takes
    # '' for the current directory writes there, not into the repository.
    cwd = ctx.workdir('empty_workdir_cwd')
    os.makedirs(cwd)
    args = (
        f'--config={os.path.join(ctx.repo, "configs/ntgan_ring.py")}:gan',
        *RING[1:],
        '--config.num_train_steps=3',
        '--config.checkpoint_every=1',
    )
    verdict, evidence = bad_value_probe(ctx, 'empty_workdir', args, 'workdir', cwd=cwd, workdir='')
    written = sorted(os.listdir(cwd))
    if written:
        return FAILED, f'wrote {written} into the current directory; {evidence}'
    return verdict, evidence


@probe('garbage_inception_weights', 'bad values', 'eval.inception_weights = a garbage file')
def garbage_inception_weights(ctx):
    garbage = os.path.join(ctx.root, 'garbage.msgpack')
    with open(garbage, 'wb') as f:
        f.write(os.urandom(4096))
    workdir = ctx.workdir('garbage_inception_weights')
    args = (
        *PATCHES,
        f'--config.eval.inception_weights={garbage}',
        f'--config.eval.stats_dir={os.path.join(ctx.root, "stats_garbage")}',
    )
    result = ctx.run(*args, workdir=workdir, timeout=FID_RUN)
    why = one_line_error(result, 'garbage.msgpack')
    stepped = LOGGED_STEP.search(result.stderr) is not None
    trained = checkpoint_steps(workdir)[0]
    if why:
        return FAILED, why + (' (after training)' if stepped or trained else '')
    if stepped or trained:
        return FAILED, f'trained first (checkpoints {trained}), then: {clip(result.last)}'
    return HELD, f'before training: {clip(result.last, 140)}'


# Values the config checks must refuse, each with one line and before anything trains.
FUZZ = (
    'batch_size=0',
    'batch_size=-16',
    'num_train_steps=0',
    'n_dis=0',
    'log_every=0',
    'sample_every=-1',
    'checkpoint_every=0',
    'keep_checkpoints=0',
    'num_samples=0',
    'g_batch_size=-1',
    'loss=nonsense',
    'dataset=nonsense',
    'stabilizer.name=nonsense',
    'optimizer.g_lr=0',
    'optimizer.d_lr=-0.0001',
    'optimizer.g_lr=nan',
    'optimizer.d_lr=inf',
    'optimizer.b1=-0.5',
    'optimizer.b2=1.0',
    'optimizer.lr_decay=cosine',
    'ema_decay=1.0',
    'ema_decay=-0.1',
    'model.name=nonsense',
    'model.name=dcgan',
    'model.mlp_d_activation=nonsense',
    'penalty.name=nonsense',
    'penalty.weight=-1',
    'penalty.weight=inf',
    'eval.every=-1',
    'eval.num_samples=0',
    'stabilizer.noise_tempered.sigma=-1',
    'stabilizer.noise_tempered.noise_model=nonsense',
)


@probe('config_fuzz', 'bad values', f'{len(FUZZ)} bad config values: one-line errors (held before)')
def config_fuzz(ctx):
    failures = []
    for item in FUZZ:
        field = item.split('=')[0]
        stabilizer = (
            ('--config.stabilizer.name=noise_tempered',) if 'noise_tempered' in field else ()
        )
        # The fuzzed value comes last: a later override of the same field would win.
        args = (*RING, '--config.num_train_steps=3', *stabilizer, f'--config.{item}')
        workdir = ctx.workdir('fuzz')
        result = ctx.run(*args, workdir=workdir)
        why = one_line_error(result, field.split('.')[-1])
        if why is None and checkpoint_steps(workdir)[0]:
            why = 'trained before the error'
        if why:
            failures.append(f'{item}: {why}')
        shutil.rmtree(workdir, ignore_errors=True)
    if failures:
        return FAILED, f'{len(FUZZ) - len(failures)}/{len(FUZZ)} one-line; ' + ' | '.join(
            clip(f, 110) for f in failures[:4]
        )
    return HELD, f'{len(FUZZ)}/{len(FUZZ)} one-line errors naming the field'


@probe('best_metric_corrupt', 'tracebacks', 'a corrupt best_metric.json: warning, run goes on')
def best_metric_corrupt(ctx):
    args = (*RING[:-1], '--config.eval.every=5', '--config.checkpoint_every=5')
    workdir = ctx.workdir('best_metric_corrupt')
    first = ctx.run(*args, '--config.num_train_steps=10', workdir=workdir)
    record = os.path.join(workdir, 'best_metric.json')
    if first.returncode != 0 or not os.path.exists(record):
        return PROBE_ERROR, f'the first run: {first.describe()}; record: {os.path.exists(record)}'
    with open(record, 'w') as f:
        f.write('{"step": 10, "value": ')
    result = ctx.run(*args, '--config.num_train_steps=15', workdir=workdir)
    if result.returncode != 0 or result.traceback:
        return FAILED, result.describe()
    warned = result.warnings('best_metric')
    if not warned:
        return FAILED, 'rc 0 but no warning names best_metric.json'
    return HELD, f'rc 0; {clip(warned[0], 140)}'


@probe('workdir_under_file', 'tracebacks', '--workdir below a regular file')
def workdir_under_file(ctx):
    parent = ctx.workdir('workdir_under_file')
    os.makedirs(parent)
    blocker = os.path.join(parent, 'a_file')
    open(blocker, 'w').close()
    args = (*RING, '--config.num_train_steps=3')
    return bad_value_probe(
        ctx, 'workdir_under_file', args, 'a_file', workdir=os.path.join(blocker, 'run')
    )


@probe('workdir_readonly_fs', 'tracebacks', '--workdir on a read-only file system (ro tmpfs)')
def workdir_readonly_fs(ctx):
    mount = ctx.workdir('readonly_fs')
    try:
        space = Namespace()
    except OSError as e:
        return UNTESTABLE, f'no private mount namespace ({e})'
    try:
        space.mount_tmpfs(mount, 'ro,size=1m')
        workdir = os.path.join(mount, 'run')
        result = ctx.run(
            *RING, '--config.num_train_steps=3', workdir=workdir, prefix=space.prefix(ctx.repo)
        )
    finally:
        space.close()
    why = one_line_error(result, mount)
    if why:
        return FAILED, why
    return HELD, clip(result.last, 160)


def disk_full_run(ctx) -> dict:
    """A RING run on an 8 MB tmpfs (private mount namespace) whose disk is filled once
    checkpoint 40 is written, then resumed after the filler is removed: {'kept': what
    the full-disk run left, 'damage': problems with the kept checkpoints and the resume,
    'result': the full-disk run} or {'untestable': why}."""

    def build():
        reference = ctx.reference()
        args = (*RING, '--config.num_train_steps=300', '--config.checkpoint_every=20')
        mount = ctx.workdir('disk_full')
        try:
            space = Namespace()
        except OSError as e:
            return {'untestable': f'no private mount namespace ({e})'}
        damage = []
        try:
            space.mount_tmpfs(mount, 'size=8m')
            workdir = os.path.join(mount, 'run')
            seen = space.outside(workdir)
            live = ctx.start(*args, workdir=workdir, prefix=space.prefix(ctx.repo))
            if not live.wait_for(lambda: 40 in checkpoint_steps(seen)[0], timeout=START):
                live.kill()
                raise RuntimeError(f'never saved step 40: {live.finish(5).describe()}')
            filler = space.outside(os.path.join(mount, 'filler'))
            with contextlib.suppress(OSError), open(filler, 'wb') as f:
                while True:
                    f.write(b'\0' * (1 << 16))
            result = live.finish(STOP)
            steps, leftovers = checkpoint_steps(seen)
            for step in steps:
                try:
                    diff = difference(
                        read_checkpoint(os.path.join(checkpoint_dir(seen), str(step))),
                        reference[step],
                    )
                except Exception as e:  # (any failure to read is damage)
                    diff = f'unreadable ({type(e).__name__})'
                if diff:
                    damage.append(f'checkpoint {step} damaged: {diff}')
            os.remove(filler)
            resumed = ctx.run(*args, workdir=workdir, prefix=space.prefix(ctx.repo))
            if resumed.returncode != 0 or resumed.traceback:
                damage.append(f'resume after freeing space: {resumed.describe()}')
            elif 300 not in checkpoint_steps(seen)[0]:
                damage.append('resume after freeing space: no checkpoint 300')
            else:
                final = difference(
                    read_checkpoint(os.path.join(checkpoint_dir(seen), '300')), reference[300]
                )
                if final:
                    damage.append(f'resumed != uninterrupted: {final}')
            after = checkpoint_steps(seen)[1]
        finally:
            space.close()
        kept = (
            f'filled after step 40; it left {steps}, tmp {leftovers or "none"} '
            f'(after the resume: {after or "none"})'
        )
        return {'kept': kept, 'damage': damage, 'result': result}

    return ctx.fixture('disk_full', build)


@probe('disk_full', 'tracebacks', 'disk full mid-run: earlier checkpoints intact (held before)')
def disk_full(ctx):
    run = disk_full_run(ctx)
    if 'untestable' in run:
        return UNTESTABLE, run['untestable']
    if run['result'].hung:
        return FAILED, f'{run["kept"]}; the full-disk run hung'
    if run['damage']:
        return FAILED, f'{run["kept"]}; ' + '; '.join(run['damage'])
    return HELD, f'{run["kept"]}; all intact; freed and resumed to 300 bitwise equal'


@probe('disk_full_error', 'tracebacks', 'disk full mid-run: a one-line error, no traceback')
def disk_full_error(ctx):
    run = disk_full_run(ctx)
    if 'untestable' in run:
        return UNTESTABLE, run['untestable']
    why = one_line_error(run['result'])
    if why:
        FINISHED.append(run['result'])  # (run by disk_full: its stderr goes in the report)
        return FAILED, why
    return HELD, clip(run['result'].last, 160)


def stats_files(directory: str) -> dict[str, tuple[float, int]]:
    """{name: (mtime, size)} of the files in ``directory``."""
    found = {}
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            found[name] = (os.path.getmtime(path), os.path.getsize(path))
    return found


def valid_npz(path: str) -> bool:
    try:
        with np.load(path) as f:
            arrays = [f[k] for k in f.files]
        floats = [a for a in arrays if np.issubdtype(a.dtype, np.floating)]
        return bool(floats) and all(np.all(np.isfinite(a)) for a in floats)
    except Exception:  # (any failure means the cache file is unusable)
        return False


@probe('fid_cache_truncated', 'FID cache', 'a truncated FID statistics cache: warning, recomputed')
def fid_cache_truncated(ctx):
    base, _ = ctx.fid_base()
    weights, _ = ctx.inception_weights()
    stats = os.path.join(ctx.root, 'fid_stats_truncated')
    shutil.copytree(base, stats)
    for name in os.listdir(stats):
        path = os.path.join(stats, name)
        with open(path, 'r+b') as f:
            f.truncate(100)
    result = ctx.run(
        *PATCHES,
        f'--config.eval.inception_weights={weights}',
        f'--config.eval.stats_dir={stats}',
        workdir=ctx.workdir('fid_cache_truncated'),
        timeout=FID_RUN,
    )
    if result.returncode != 0 or result.traceback:
        return FAILED, result.describe()
    valid = [n for n in os.listdir(stats) if valid_npz(os.path.join(stats, n))]
    warned = result.warnings('statistics') or result.warnings('cache')
    if not warned or not valid:
        return FAILED, f'rc 0; warning: {bool(warned)}; valid cache files after: {valid}'
    return HELD, f'{clip(warned[0], 120)}; rewritten: {valid}'


def fid_cache_probe(ctx, name, weights_index: int, extra: tuple):
    base, _ = ctx.fid_base()
    weights = ctx.inception_weights()[weights_index]
    stats = os.path.join(ctx.root, f'fid_stats_{name}')
    shutil.copytree(base, stats)
    before = stats_files(stats)
    result = ctx.run(
        *PATCHES,
        *extra,
        f'--config.eval.inception_weights={weights}',
        f'--config.eval.stats_dir={stats}',
        workdir=ctx.workdir(name),
        timeout=FID_RUN,
    )
    if result.returncode != 0 or result.traceback:
        return FAILED, result.describe()
    after = stats_files(stats)
    new = sorted(set(after) - set(before))
    rewritten = sorted(n for n in before if n in after and after[n] != before[n])
    if new:
        return HELD, f'new cache file {new} beside {sorted(before)}'
    if rewritten:
        return FAILED, f'recomputed in place (same key, overwritten): {rewritten}'
    return FAILED, f'statistics reused: no new cache file, {sorted(before)} untouched'


@probe('fid_cache_other_weights', 'FID cache', 'other Inception weights: another cache file')
def fid_cache_other_weights(ctx):
    return fid_cache_probe(ctx, 'fid_cache_other_weights', 1, ())


@probe('fid_cache_other_seed', 'FID cache', 'seed 1 instead of 0: another cache file')
def fid_cache_other_seed(ctx):
    return fid_cache_probe(ctx, 'fid_cache_other_seed', 0, ('--config.seed=1',))


@probe('nt_eval_default', 'tracebacks', 'configs/default.py, noise_tempered, evaluation on')
def nt_eval_default(ctx):
    args = (*DIGITS[:-1], '--config.stabilizer.name=noise_tempered', '--config.eval.every=1')
    args += ('--config.eval.num_samples=64',)
    result = ctx.run(*args, workdir=ctx.workdir('nt_eval_default'), timeout=FID_RUN)
    if result.returncode != 0 or result.traceback:
        return FAILED, result.describe()
    if 'eval/' not in result.stderr:
        return FAILED, 'rc 0 but no eval/ metrics were logged'
    return HELD, 'rc 0; evaluated at steps 1 and 2'


@probe('rerun_finished', 'events', 'rerun a finished run: "complete:", rc 0, no new events file')
def rerun_finished(ctx):
    template, _, base = ctx.small_run()
    workdir = ctx.copy_of(template, 'rerun_finished')
    before = events_files(workdir)
    result = ctx.run(*base, '--config.num_train_steps=10', workdir=workdir)
    after = events_files(workdir)
    complete = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.startswith('complete:')
    ]
    problems = []
    if result.returncode != 0 or result.traceback:
        problems.append(result.describe())
    if not complete:
        problems.append('no "complete:" line')
    if len(after) > len(before):
        problems.append(f'{len(after) - len(before)} new events file(s)')
    if problems:
        return FAILED, '; '.join(problems)
    return HELD, f'{clip(complete[0], 140)}; no new events file'


@probe('resume_no_duplicate_events', 'events', 'SIGKILL after logging past a checkpoint, resume')
def resume_no_duplicate_events(ctx):
    args = (
        *RING[:4],
        '--config.log_every=1',
        *RING[5:],
        '--config.checkpoint_every=25',
        '--config.num_train_steps=300',
    )
    workdir = ctx.workdir('resume_no_duplicate_events')
    live = ctx.start(*args, workdir=workdir)

    def past_a_checkpoint():
        steps = checkpoint_steps(workdir)[0]
        return bool(steps) and live.logged_step() >= steps[-1] + 15

    if not live.wait_for(past_a_checkpoint, timeout=START):
        live.kill()
        return PROBE_ERROR, f'never logged past a checkpoint: {live.finish(5).describe()}'
    logged = live.logged_step()
    live.kill()
    steps, _ = checkpoint_steps(workdir)
    result = ctx.run(*args, workdir=workdir)
    if result.returncode != 0 or result.traceback:
        return FAILED, f'resume: {result.describe()}'
    points, duplicates = duplicate_events(workdir)
    if duplicates:
        tags = sorted({tag for tag, _ in duplicates})
        span = sorted({step for _, step in duplicates})
        return FAILED, (
            f'killed at logged step {logged}, resumed from {steps[-1]}: {len(duplicates)} '
            f'duplicate (tag, step) of {points}, steps {span[0]}-{span[-1]}, tags {tags[:3]}'
        )
    return HELD, (
        f'killed at logged step {logged}, resumed from {steps[-1]}: {points} (tag, step) '
        f'points, none duplicate, in {len(events_files(workdir))} events files'
    )


class _Evil:
    """Unpickling this runs ``touch <marker>``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


@probe(
    'malicious_pickle', 'weights', 'convert_inception refuses pickles that run code (held before)'
)
def malicious_pickle(ctx):
    import torch  # (the probe needs PyTorch to write .pth files)

    directory = ctx.workdir('malicious_pickle')
    os.makedirs(directory)
    failures, seen = [], []
    for kind in ('torch_zip', 'torch_legacy', 'raw_pickle'):
        marker = os.path.join(directory, f'pwned_{kind}')
        weights = os.path.join(directory, f'{kind}.pth')
        payload = {'Conv2d_1a_3x3.conv.weight': _Evil(marker)}
        if kind == 'raw_pickle':
            with open(weights, 'wb') as f:
                pickle.dump(payload, f)
        else:
            torch.save(payload, weights, _use_new_zipfile_serialization=kind == 'torch_zip')
        out = os.path.join(directory, f'{kind}.msgpack')
        result = ctx.run(
            '--weights', weights, '--out', out, module='nssgan.evaluation.convert_inception'
        )
        why = None if result.returncode != 0 else 'rc 0'
        why = why or (result.describe() if result.traceback else None)
        why = why or (None if result.last.startswith('error: ') else f'last: {result.last}')
        if os.path.exists(marker):
            why = 'the pickle ran code'
        if os.path.exists(out):
            why = (why or '') + ' and wrote weights'
        if why:
            failures.append(f'{kind}: {clip(why, 100)}')
        else:
            seen.append(kind)
    if failures:
        return FAILED, ' | '.join(failures)
    return HELD, f'{", ".join(seen)} refused with one-line errors, no code ran'


@probe('compare_missing_config', 'tracebacks', 'python -m nssgan.compare with a missing config')
def compare_missing_config(ctx):
    out = ctx.workdir('compare_missing_config')
    result = ctx.run(
        '--out', out, '--seeds', '0', 'x=configs/does_not_exist.py', module='nssgan.compare'
    )
    why = one_line_error(result, 'does_not_exist')
    return (FAILED, why) if why else (HELD, clip(result.last, 150))


@probe('compare_unknown_variant', 'tracebacks', 'python -m nssgan.compare with a wrong variant')
def compare_unknown_variant(ctx):
    out = ctx.workdir('compare_unknown_variant')
    result = ctx.run(
        '--out', out, '--seeds', '0', 'x=configs/ntgan_ring.py:nonsense', module='nssgan.compare'
    )
    why = one_line_error(result, 'nonsense')
    return (FAILED, why) if why else (HELD, clip(result.last, 150))


# --------------------------------------------------------------------------
# Driver


def markdown(results: list[dict], repo: str) -> str:
    held = sum(r['verdict'] == HELD for r in results)
    lines = [
        f'Robustness probes on {repo}: {held}/{len(results)} held.',
        '',
        '| probe | group | verdict | s | evidence |',
        '|---|---|---|---|---|',
    ]
    for r in results:
        evidence = r['evidence'].replace('|', '\\|')
        lines.append(
            f'| {r["name"]} | {r["group"]} | {r["verdict"]} | {r["seconds"]:.0f} | {evidence} |'
        )
    return '\n'.join(lines)


def git_describe(repo: str) -> str:
    result = subprocess.run(
        ['git', '-C', repo, 'describe', '--always', '--dirty'], capture_output=True, text=True
    )
    return result.stdout.strip() or 'unknown'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repo', default='.', help='the repository root whose main.py runs')
    parser.add_argument('--out', help='JSON file for the results')
    parser.add_argument('--only', default='', help='comma-separated probe names (or groups)')
    parser.add_argument('--list', action='store_true', help='list the probes and exit')
    parser.add_argument('--seed', type=int, default=0, help='random moments and bit positions')
    parser.add_argument('--flips', type=int, default=8, help='bit flips in ckpt_bitflips')
    parser.add_argument('--keep', action='store_true', help='keep the temporary workdirs')
    parser.add_argument(
        '--merge',
        action='store_true',
        help='keep the other probes already in --out (rerun a few, replace only those)',
    )
    args = parser.parse_args(argv)
    os.environ.setdefault('JAX_PLATFORMS', 'cpu')  # for reading checkpoints here
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')  # TensorBoard imports TensorFlow

    if args.list:
        for name, (group, what, _) in PROBES.items():
            print(f'{name:28s} {group:15s} {what}')
        return 0
    wanted = [n for n in args.only.split(',') if n]
    unknown = [n for n in wanted if n not in PROBES and n not in {g for g, _, _ in PROBES.values()}]
    if unknown:
        parser.error(f'unknown probes {unknown}; see --list')
    names = [
        n for n, (group, _, _) in PROBES.items() if not wanted or n in wanted or group in wanted
    ]
    repo = os.path.abspath(args.repo)
    if not os.path.isfile(os.path.join(repo, 'main.py')):
        parser.error(f'no main.py in {repo}')

    earlier = []
    if args.merge and args.out and os.path.exists(args.out):
        with open(args.out) as f:
            earlier = [
                r for r in json.load(f)['probes'] if r['name'] in PROBES and r['name'] not in names
            ]
    root = tempfile.mkdtemp(prefix='nssgan-probes-')
    ctx = Context(repo, root, args.seed, args.flips)
    results = []
    started = time.monotonic()
    try:
        for name in names:
            group, what, fn = PROBES[name]
            print(f'[{time.monotonic() - started:6.0f} s] {name} ...', file=sys.stderr, flush=True)
            begin = time.monotonic()
            FINISHED.clear()
            ctx.rng = random.Random(f'{args.seed}:{name}')
            try:
                verdict, evidence = fn(ctx)
            except Exception as e:  # (a broken probe is reported, not fatal)
                verdict, evidence = PROBE_ERROR, clip(f'{type(e).__name__}: {e}', 300)
            seconds = time.monotonic() - begin
            print(f'    {verdict}: {evidence}', file=sys.stderr, flush=True)
            record = {
                'name': name,
                'group': group,
                'what': what,
                'verdict': verdict,
                'evidence': evidence,
                'seconds': round(seconds, 1),
            }
            if verdict != HELD:
                record['stderr_tails'] = stderr_tails(FINISHED)
            results.append(record)
            if args.out:
                write_json(args.out, repo, args, merged(earlier, results), started)
    finally:
        if args.keep:
            print(f'workdirs kept in {root}', file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(markdown(merged(earlier, results), f'{repo} ({git_describe(repo)})'))
    return 0


def stderr_tails(finished: list[Result], count: int = 2, lines: int = 40) -> list[dict]:
    """The command and last stderr lines of up to ``count`` runs of a probe that did not
    hold: those with a traceback first, then those that failed or hung."""
    unique = list({id(r): r for r in finished}.values())
    ranked = sorted(
        (r for r in unique if r.traceback or r.hung or r.returncode not in (0, 130, 143)),
        key=lambda r: not r.traceback,
    )
    return [
        {
            'argv': ' '.join(r.argv[1:]),
            'returncode': r.returncode,
            'stderr_tail': r.stderr.splitlines()[-lines:],
        }
        for r in ranked[:count]
    ]


def merged(earlier: list[dict], results: list[dict]) -> list[dict]:
    """``earlier`` and ``results`` in the order of ``PROBES``."""
    order = list(PROBES)
    return sorted(earlier + results, key=lambda r: order.index(r['name']))


def write_json(path: str, repo: str, args, results: list[dict], started: float) -> None:
    record = {
        'repo': repo,
        'commit': git_describe(repo),
        'seed': args.seed,
        'flips': args.flips,
        'python': sys.executable,
        'seconds_this_invocation': round(time.monotonic() - started, 1),
        'held': sum(r['verdict'] == HELD for r in results),
        'total': len(results),
        'probes': results,
    }
    temporary = f'{path}.tmp'
    with open(temporary, 'w') as f:
        json.dump(record, f, indent=2)
    os.replace(temporary, path)


if __name__ == '__main__':
    sys.exit(main())
