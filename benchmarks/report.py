"""Shared helpers of the benchmark scripts: the machine line and BENCHMARKS.md sections."""

import os
import platform
import re

import jax


def machine() -> str:
    """One line naming the machine and the JAX backend the figures come from."""
    line = (
        f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores, '
        f'jax {jax.__version__} ({jax.default_backend()})'
    )
    if jax.default_backend() != 'cpu':
        line += f', {jax.devices()[0].device_kind}'
    return line


def section_name(name: str) -> str:
    """``name`` for CPU figures, ``name_gpu`` (etc.) for an accelerator's, so both stay."""
    backend = jax.default_backend()
    return name if backend == 'cpu' else f'{name}_{backend}'


def write_section(path: str, name: str, body: str) -> None:
    """Replaces (or appends) the ``<!-- name:begin -->…<!-- name:end -->`` section."""
    section = f'<!-- {name}:begin -->\n{body}\n<!-- {name}:end -->'
    text = open(path).read() if os.path.exists(path) else '# Benchmarks\n'
    pattern = re.compile(
        rf'<!-- {re.escape(name)}:begin -->.*?'
        rf'<!-- {re.escape(name)}:end -->',
        re.S,
    )
    text = (
        pattern.sub(lambda _: section, text)
        if pattern.search(text)
        else text.rstrip() + '\n\n' + section + '\n'
    )
    with open(path, 'w') as f:
        f.write(text)
