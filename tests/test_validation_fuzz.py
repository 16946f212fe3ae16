"""A property of the config check: for any value of any numeric field, a run either stops
before compiling with a one-line ``ConfigError`` that names the field, or trains a few
steps without an exception (non-finite results are the trainer's divergence error)."""

import math

import grid_runner
import numpy as np
import pytest

from nssgan import schemes, validation

DRAWS = 32
SPECIAL = [math.nan, math.inf, -math.inf, -1.0, 0.0, 1e-12, 0.5, 1.0, 1.5, 3.0, 1e9, -1e9]
INT_SPECIAL = [-5, -1, 0, 1, 2, 3, 7, 64]


def _numeric_fields(config, scheme: str) -> list[str]:
    """Dotted names of the numeric fields a run with ``scheme`` reads."""
    fields = []

    def visit(prefix, node):
        for key, value in node.items():
            name = f'{prefix}{key}'
            if name.startswith('stabilizer.') and not name.startswith(f'stabilizer.{scheme}.'):
                continue
            if hasattr(value, 'items'):
                visit(f'{name}.', value)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                fields.append(name)

    visit('', config)
    return fields


def _draw(rng, current):
    if isinstance(current, int) and rng.random() < 0.8:
        return int(rng.choice(INT_SPECIAL))
    if rng.random() < 0.7:
        return float(rng.choice(SPECIAL))
    return float(rng.uniform(-10, 10))


def _set(config, field: str, value) -> None:
    *parents, last = field.split('.')
    node = config
    for parent in parents:
        node = node[parent]
    with node.ignore_type():
        node[last] = value


@pytest.mark.parametrize('draw', range(DRAWS))
def test_any_numeric_value_is_a_one_line_error_or_a_run(draw):
    rng = np.random.default_rng(draw)
    scheme = str(rng.choice(sorted(schemes.SCHEMES)))
    try:
        config = grid_runner.grid_config(scheme, 'none', 'non_saturating')
    finally:
        for name in grid_runner.EXTRA_SCHEMES:
            schemes.SCHEMES.pop(name, None)
            del config.stabilizer[name]
    fields = _numeric_fields(config, scheme)
    own = [f for f in fields if f.startswith('stabilizer.')]  # Half the draws: the scheme's.
    field = str(rng.choice(own if own and rng.random() < 0.5 else fields))
    value = _draw(rng, _lookup(config, field))
    _set(config, field, value)
    try:
        validation.validate(config, num_devices=1, num_processes=1)
    except validation.ConfigError as e:
        message = str(e)
        assert '\n' not in message, message
        assert field.split('.')[-1] in message, (field, value, message)
        return
    result = grid_runner.run_config(config)
    assert result['step'] == 2, (field, value)
    if result['state_finite'] and all(map(np.isfinite, result['metrics'].values())):
        assert np.isfinite(result['primary_metric']) or 'eval' in field, (field, value)


def _lookup(config, field: str):
    node = config
    for part in field.split('.'):
        node = node[part]
    return node
