"""Memory kept per checkpoint save by Orbax and TensorStore, without nssgan.

    python benchmarks/tensorstore_memory.py [--saves 800] [--calls 5000]

The soak (benchmarks/soak.py) found the trainer's resident memory growing with each
checkpoint save and flat without saves. This script shows where: it measures the
resident memory (and Python heap) kept per call of the two TensorStore functions
that Orbax's save path calls (``KvStore.Spec(...).to_json()``, about once per array,
and ``experimental_collect_matching_metrics``, twice per save for a throughput log
line), then per save of a bare ``CheckpointManager`` loop of 60 arrays (64×64), after
a warm-up of 200 saves.
"""

import argparse
import gc
import os
import tempfile
import time
import tracemalloc

import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import tensorstore as ts


def resident_kb() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 1024


def per_call(fn, calls: int) -> tuple[float, float]:
    """(resident bytes, Python-heap bytes) kept per call of ``fn``, after 200 calls."""
    for _ in range(200):
        fn()
    gc.collect()
    tracemalloc.start(1)
    rss, heap = resident_kb(), tracemalloc.get_traced_memory()[0]
    for _ in range(calls):
        fn()
    gc.collect()
    kept_heap = tracemalloc.get_traced_memory()[0] - heap
    tracemalloc.stop()
    return (resident_kb() - rss) * 1024 / calls, kept_heap / calls


def per_save(directory: str, saves: int, warmup: int = 200) -> float:
    """Resident KB kept per save of a bare CheckpointManager loop, after ``warmup``."""
    rng = np.random.default_rng(0)
    tree = {f'w{i}': jnp.asarray(rng.standard_normal((64, 64)), jnp.float32) for i in range(60)}
    manager = ocp.CheckpointManager(
        directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=3, create=True),
        item_handlers=ocp.StandardCheckpointHandler(),
    )
    start = None
    for step in range(1, warmup + saves + 1):
        manager.save(step, args=ocp.args.StandardSave(tree), force=True)
        manager.wait_until_finished()
        if step == warmup:
            gc.collect()
            start = resident_kb()
        if step % 200 == 0:
            print(f'  save {step}: resident {resident_kb() / 1024:.1f} MB', flush=True)
    gc.collect()
    kept = (resident_kb() - start) / saves
    manager.close()
    return kept


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--saves', type=int, default=800)
    parser.add_argument('--calls', type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        spec = {'driver': 'file', 'path': os.path.join(tmp, 'x') + '/'}
        rss, heap = per_call(lambda: ts.KvStore.Spec(spec).to_json(), args.calls)
        print(f'ts.KvStore.Spec(d).to_json(): {rss:.0f} B resident, {heap:.0f} B heap per call')
        rss, heap = per_call(lambda: ts.KvStore.Spec(spec), args.calls)
        print(f'ts.KvStore.Spec(d) alone: {rss:.0f} B resident, {heap:.0f} B heap per call')
        array = ts.open(
            {'driver': 'zarr', 'kvstore': {'driver': 'file', 'path': os.path.join(tmp, 'z')}},
            create=True,
            dtype=ts.float32,
            shape=[64, 64],
        ).result()
        array.write(np.ones((64, 64), np.float32)).result()  # Now kvstore metrics exist.
        rss, heap = per_call(
            lambda: ts.experimental_collect_matching_metrics('/tensorstore/kvstore/'), args.calls
        )
        print(
            f'ts.experimental_collect_matching_metrics: {rss:.0f} B resident, '
            f'{heap:.0f} B heap per call'
        )
        t0 = time.time()
        kept = per_save(os.path.join(tmp, 'checkpoints'), args.saves)
        print(
            f'CheckpointManager.save (60 arrays of 64×64): {kept:.1f} KB resident kept per '
            f'save over {args.saves} saves ({time.time() - t0:.0f} s)'
        )


if __name__ == '__main__':
    main()
