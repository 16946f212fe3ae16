"""Step time and peak memory of the train step against batch size and resolution.

    python benchmarks/scaling.py [--batches 32,64,128,256,512] [--sizes 32,64,128]
        [--schemes none,nss,roth,pgn] [--steps N] [--time_budget SECONDS]
        [--plot PATH] [--markdown BENCHMARKS.md]

DCGAN (width 64, BatchNorm, n_dis 1) on random images of each ``--sizes`` px, built as
in ``gradient_schemes.py``: the plain step (``none``), ``nss`` at t = 256 and ``roth``
with the non-saturating loss, ``pgn`` with hinge. Every cell (scheme × resolution ×
batch) is compiled once; its peak memory is XLA's buffer assignment for that executable
(``memory_analysis()``: arguments + outputs − donated aliases + temporaries), which is
deterministic and needs no run. On an accelerator the allocator's peak
(``memory_stats()['peak_bytes_in_use']``) after the timed steps is given as well.

A cell is timed (one warm-up step, then ``--steps``; 2 on a CPU, 10 otherwise) unless its
predicted time, extrapolated linearly from the previous batch size's (in XLA's FLOP
count, which is linear in the batch), exceeds ``--time_budget`` seconds, or its memory
what is free; skipped cells show '—' but keep their memory (on a CPU they compile with
less LLVM optimisation, ~3× faster, to the same buffer assignment). The default budget,
20 s per cell on a CPU, finishes the grid in about 15 minutes on 2 cores, most of it
compiling; on an accelerator there is none. The plot (``--plot``, by default
``docs/scaling_<backend>.png``) shows time per image and peak memory against
batch size.
"""

import argparse
import functools
import math
import os
import time

import jax
import jax.numpy as jnp
import ml_collections
from gradient_schemes import VARIANTS, _config, seconds_per_compiled_step
from report import machine, section_name, write_section

from nssgan import data
from nssgan import step as step_lib

# The loss each scheme runs with in gradient_schemes.py (plain step: non-saturating).
LOSSES = {scheme: loss for scheme, penalty, loss in VARIANTS if penalty == 'none'}
CPU_TIME_BUDGET = 20.0  # Seconds per cell; see the module docstring.
SATURATION = 0.9  # Time per image "stops falling" once doubling the batch saves < 10 %.
MIB = 2**20
OVER_MEMORY = 'not timed: needs more memory than is free'
# XLA:CPU options for cells compiled only for their memory: LLVM optimises less, which
# makes the compile ~3× faster and leaves the buffer assignment (the memory) as it is.
QUICK_COMPILE = {'xla_backend_optimization_level': 0, 'xla_llvm_disable_expensive_passes': True}


def _cell_config(scheme: str, size: int, batch: int) -> ml_collections.FrozenConfigDict:
    config = _config(scheme, 'none', LOSSES[scheme], size)
    config.batch_size = batch
    return ml_collections.FrozenConfigDict(config)


def compiled_bytes(compiled) -> int:
    """Peak bytes of a compiled executable from XLA's buffer assignment."""
    m = compiled.memory_analysis()
    return (
        m.argument_size_in_bytes
        + m.output_size_in_bytes
        - m.alias_size_in_bytes
        + m.temp_size_in_bytes
    )


def allocator_peak() -> int | None:
    """The device allocator's peak bytes in use so far, where the backend reports it."""
    stats = jax.devices()[0].memory_stats() or {}
    return stats.get('peak_bytes_in_use')


def memory_limit() -> int | None:
    """Bytes a step may use: the device allocator's limit, or on a CPU the free memory."""
    stats = jax.devices()[0].memory_stats() or {}
    if 'bytes_limit' in stats:
        return stats['bytes_limit']
    if jax.default_backend() == 'cpu':
        return os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
    return None


def measure(
    scheme: str, size: int, batch: int, steps: int, budget: float, reference: dict | None
) -> dict:
    """Compiles one cell, and times it unless its time predicted from ``reference`` would
    exceed ``budget`` seconds."""
    config = _cell_config(scheme, size, batch)
    spec = data.dataset_spec(config.dataset, config.image_size)
    init = functools.partial(step_lib.create_state, config, spec)
    key = jax.random.PRNGKey(0)
    reals_shape = (config.n_dis, batch, *spec.shape)
    step = jax.jit(functools.partial(step_lib.train_step, config=config), donate_argnums=0)
    start = time.perf_counter()
    lowered = step.lower(
        jax.eval_shape(init, key), {'image': jax.ShapeDtypeStruct(reals_shape, jnp.float32)}
    )
    cost = lowered.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    cell = {
        'scheme': scheme,
        'size': size,
        'batch': batch,
        'flops': float((cost or {}).get('flops', 0.0)),
        'seconds': None,
        'allocator': None,
        'error': None,
    }
    cell['predicted'] = predict(cell, reference)
    timed = _should_time(cell, reference, steps, budget)
    quick = not timed and jax.default_backend() == 'cpu'
    compiled = lowered.compile(QUICK_COMPILE if quick else None)
    cell['compile_s'] = time.perf_counter() - start
    cell['bytes'] = compiled_bytes(compiled)
    if not timed:
        return cell
    limit = memory_limit()
    if limit is not None and cell['bytes'] > limit:
        cell['error'] = OVER_MEMORY
        return cell
    state = init(key)
    reals = jax.random.uniform(jax.random.PRNGKey(1), reals_shape, minval=-1, maxval=1)
    before = allocator_peak()
    try:
        cell['seconds'] = seconds_per_compiled_step(
            compiled, state, {'image': reals}, steps, warmup=1
        )
    except jax.errors.JaxRuntimeError as e:  # Out of device memory, most likely.
        cell['error'] = str(e).splitlines()[0][:60]
        return cell
    after = allocator_peak()
    if after is not None:
        # The allocator's peak is the process's running maximum: it is this cell's own
        # only where the cell raised it; otherwise it bounds the cell's from above.
        cell['allocator'] = (after, before is not None and after <= before)
    return cell


def _should_time(cell: dict, reference: dict | None, steps: int, budget: float) -> bool:
    if budget <= 0:
        return False
    if reference is not None and reference['error'] and _row(reference) == _row(cell):
        return False  # A smaller batch of this row already failed.
    return cell['predicted'] is None or cell['predicted'] * (steps + 1) <= budget


def _row(cell: dict) -> tuple[str, int]:
    return cell['scheme'], cell['size']


def predict(cell: dict, reference: dict | None) -> float | None:
    """Seconds per step of ``cell`` extrapolated linearly from ``reference`` (a timed or
    predicted cell): by FLOPs where XLA counts them, else by batch size."""
    if reference is None:
        return None
    seconds = reference['seconds'] or reference['predicted']
    if seconds is None:
        return None
    if cell['flops'] > 0 and reference['flops'] > 0:
        return seconds * cell['flops'] / reference['flops']
    if _row(reference) != _row(cell):
        return None  # Without FLOPs only the same row extrapolates.
    return seconds * cell['batch'] / reference['batch']


def run_grid(schemes, sizes, batches, steps: int, budget: float) -> list[dict]:
    """All cells, each row's batches in increasing order."""
    cells, last_timed = [], None
    for scheme in schemes:
        for size in sizes:
            previous = None
            for batch in sorted(batches):
                # The previous batch size of this row, else the last timed cell of any row.
                cell = measure(scheme, size, batch, steps, budget, previous or last_timed)
                cells.append(cell)
                previous = cell
                if cell['seconds'] is not None:
                    last_timed = cell
                print(_console_line(cell), flush=True)
    return cells


def _console_line(cell: dict) -> str:
    if cell['seconds'] is not None:
        timing = (
            f'{1e3 * cell["seconds"]:10.1f} ms/step {cell["batch"] / cell["seconds"]:8.1f} images/s'
        )
    elif cell['error']:
        timing = cell['error']
    elif cell['predicted'] is not None:
        timing = f'not timed (predicted {cell["predicted"]:.1f} s/step)'
    else:
        timing = 'not timed'
    return (
        f'{cell["scheme"]:5s} {cell["size"]:4d} px batch {cell["batch"]:4d}: {timing}, '
        f'{cell["bytes"] / MIB:,.1f} MiB compiled, {cell["flops"] / 1e9:,.1f} GFLOP/step, '
        f'compile {cell["compile_s"]:.1f} s'
    )


def _cell_text(cell: dict) -> str:
    if cell['seconds'] is not None:
        timing = f'{1e3 * cell["seconds"]:,.1f} ({cell["batch"] / cell["seconds"]:,.0f})'
    else:
        timing = 'failed' if cell['error'] not in (None, OVER_MEMORY) else '—'
    memory = f'{cell["bytes"] / MIB:,.0f}'
    if cell['allocator'] is not None:
        peak, bound_only = cell['allocator']
        memory += f' / {"≤" if bound_only else ""}{peak / MIB:,.0f}'
    return f'{timing} · {memory} MiB'


def tables(cells: list[dict], schemes, sizes, batches) -> str:
    """One table per scheme: resolutions down, batch sizes across."""
    by_key = {(c['scheme'], c['size'], c['batch']): c for c in cells}
    batches = sorted(batches)
    blocks = []
    for scheme in schemes:
        lines = [
            f'| `{scheme}` ({LOSSES[scheme]}) | '
            + ' | '.join(f'batch {b}' for b in batches)
            + ' |',
            '|---' * (len(batches) + 1) + '|',
        ]
        lines += [
            f'| {size} px | '
            + ' | '.join(_cell_text(by_key[scheme, size, b]) for b in batches)
            + ' |'
            for size in sizes
        ]
        blocks.append('\n'.join(lines))
    return '\n\n'.join(blocks)


def saturation_batch(row: list[dict]) -> str | None:
    """The smallest timed batch no larger timed batch beats by 10 % in time per image, or
    '>B' if there is none below the largest timed batch B; None with under two timed."""
    per_image = [(c['batch'], c['seconds'] / c['batch']) for c in row if c['seconds'] is not None]
    if len(per_image) < 2:
        return None
    for i, (batch, seconds) in enumerate(per_image[:-1]):
        if min(s for _, s in per_image[i + 1 :]) > SATURATION * seconds:
            return str(batch)
    return f'>{per_image[-1][0]}'


def saturation_sentence(cells: list[dict], schemes, sizes) -> str:
    """Where time per image stops falling, per resolution, from the measured rows."""
    parts = []
    for size in sizes:
        found = {}
        for scheme in schemes:
            batch = saturation_batch([c for c in cells if _row(c) == (scheme, size)])
            if batch is not None:
                found.setdefault(batch, []).append(f'`{scheme}`')
        if len(schemes) > 1 and [len(s) for s in found.values()] == [len(schemes)]:
            parts.append(f'at {size} px {_batch_words(next(iter(found)))} for every scheme')
        elif found:
            parts.append(
                f'at {size} px '
                + ', '.join(f'{_batch_words(b)} for {", ".join(s)}' for b, s in found.items())
            )
    if not parts:
        return 'Too few batch sizes were timed to tell where the time per image stops falling.'
    saturated = any('from batch' in part for part in parts)
    return (
        f'Time per image stops falling (doubling the batch saves under '
        f'{100 * (1 - SATURATION):.0f} %) {"; ".join(parts)}'
        + (
            ': from there on this machine is saturated and a larger batch only costs memory.'
            if saturated
            else ': within the timed batches this machine is not yet saturated.'
        )
    )


def _batch_words(batch: str) -> str:
    return f'not by batch {batch[1:]}' if batch.startswith('>') else f'from batch {batch}'


def plot(cells: list[dict], schemes, sizes, path: str) -> None:
    """Time per image and compiled peak memory against batch size (log2 axes)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogFormatter, NullFormatter

    plain = FuncFormatter(lambda value, _: f'{value:g}')

    colors = {s: f'C{i}' for i, s in enumerate(schemes)}
    styles = {size: style for size, style in zip(sizes, ['-o', '--s', ':^', '-.v', '-D'])}
    fig, (ax_time, ax_memory) = plt.subplots(1, 2, figsize=(8, 4))
    for scheme in schemes:
        for size in sizes:
            row = [c for c in cells if _row(c) == (scheme, size)]
            batches = [c['batch'] for c in row]
            ms_per_image = [
                1e3 * c['seconds'] / c['batch'] if c['seconds'] is not None else math.nan
                for c in row
            ]
            style = dict(color=colors[scheme], ms=4, lw=1)
            ax_time.plot(batches, ms_per_image, styles[size], **style)
            ax_memory.plot(batches, [c['bytes'] / MIB for c in row], styles[size], **style)
    for ax, label in (
        (ax_time, 'ms per image (step time / batch)'),
        (ax_memory, 'peak MiB (compiled step)'),
    ):
        ax.set_xscale('log', base=2)
        if any(c['seconds'] is not None for c in cells) or ax is ax_memory:
            ax.set_yscale('log')
        else:
            ax.text(0.5, 0.5, 'no cell timed', ha='center', transform=ax.transAxes)
        ax.set_xlabel('batch size')
        ax.set_ylabel(label)
        ax.grid(True, which='both', lw=0.3)
        ax.set_xticks(sorted({c['batch'] for c in cells}))
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False))
    ax_time.legend(
        [Line2D([], [], color=colors[s]) for s in schemes],
        schemes,
        fontsize=7,
        title='scheme',
        title_fontsize=7,
    )
    ax_memory.legend(
        [Line2D([], [], color='grey', ls=styles[z][:-1], marker=styles[z][-1]) for z in sizes],
        [f'{z} px' for z in sizes],
        fontsize=7,
        title='resolution',
        title_fontsize=7,
    )
    fig.suptitle(f'nssgan train step ({jax.default_backend().upper()})', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(',')]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batches', default='32,64,128,256,512')
    parser.add_argument('--sizes', default='32,64,128')
    parser.add_argument('--schemes', default='none,nss,roth,pgn')
    parser.add_argument('--steps', type=int, default=None, help='2 on a CPU, else 10')
    parser.add_argument(
        '--time_budget',
        type=float,
        default=None,
        help=f'seconds per cell ({CPU_TIME_BUDGET:g} on a CPU, else unlimited); 0: time none',
    )
    parser.add_argument('--plot', default=None, help='default docs/scaling_<backend>.png')
    parser.add_argument('--markdown', help='write the results into this file')
    args = parser.parse_args()
    backend = jax.default_backend()
    on_cpu = backend == 'cpu'
    steps = args.steps or (2 if on_cpu else 10)
    budget = args.time_budget
    if budget is None:
        budget = CPU_TIME_BUDGET if on_cpu else math.inf
    batches, sizes, schemes = _ints(args.batches), _ints(args.sizes), args.schemes.split(',')
    for scheme in schemes:
        if scheme not in LOSSES:
            parser.error(f'unknown scheme {scheme!r}; choose from {", ".join(LOSSES)}')
    for size in sizes:
        data.dataset_spec('photo_patches', size)  # Raises for a size it cannot have.
    # docs/ is where the repository keeps its pictures (other PNGs are not committed).
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    plot_path = args.plot or os.path.join(repo, 'docs', f'scaling_{backend}.png')
    os.makedirs(os.path.dirname(os.path.abspath(plot_path)), exist_ok=True)

    start = time.perf_counter()
    cells = run_grid(schemes, sizes, batches, steps, budget)
    plot(cells, schemes, sizes, plot_path)
    command = (
        f'python benchmarks/scaling.py --batches {args.batches} --sizes {args.sizes} '
        f'--schemes {args.schemes} --steps {steps}'
        + (f' --time_budget {budget:g}' if math.isfinite(budget) else '')
    )
    text = '\n\n'.join(
        [
            f'`{command}` on {machine()}; {time.perf_counter() - start:,.0f} s in all. DCGAN '
            '(width 64, BatchNorm), one D and one G update per step, random images; `nss` at '
            f't = 256. {_legend(cells, budget)}',
            tables(cells, schemes, sizes, batches),
            f'![Time per image and peak memory against batch size]'
            f'({_link(plot_path, args.markdown)})',
            saturation_sentence(cells, schemes, sizes),
        ]
    )
    print(f'Step time and memory; {machine()}')
    print(text)
    if args.markdown:
        title = f'## Step time and memory against batch size and resolution ({backend.upper()})'
        write_section(args.markdown, section_name('scaling'), f'{title}\n\n{text}')


def _legend(cells: list[dict], budget: float) -> str:
    """What the cells hold and how the memory was measured."""
    allocator = any(c['allocator'] is not None for c in cells)
    text = (
        'Cells: ms/step (images/s) · peak MiB'
        + (' (compiled / allocator)' if allocator else '')
        + ". The peak is the compiled step's: XLA's buffer assignment (`memory_analysis()`: "
        'arguments + outputs − donated aliases + temporaries), known without a run'
    )
    if allocator:
        text += (
            "; the allocator's is `peak_bytes_in_use` after the timed steps (≤: the "
            "process's running peak, which that cell did not raise)"
        )
    if budget <= 0:
        return text + '. — : not timed (`--time_budget 0`).'
    return (
        text + f'. — : not timed, its time extrapolated from the previous batch size being over '
        f'the {budget:g} s budget per cell (or its memory over what the machine has).'
    )


def _link(path: str, markdown: str | None) -> str:
    """``path`` relative to the directory of ``markdown`` (the working directory if none)."""
    base = os.path.dirname(os.path.abspath(markdown)) if markdown else os.getcwd()
    return os.path.relpath(path, base)


if __name__ == '__main__':
    main()
