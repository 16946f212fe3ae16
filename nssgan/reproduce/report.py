"""REPRODUCTION.md: the summary table, then one section per claim."""

import datetime
import json
import os
import platform

import jax


def machine() -> str:
    device = jax.devices()[0]
    kind = device.device_kind if device.platform != 'cpu' else platform.machine()
    return (
        f'{kind}, {os.cpu_count()} CPU cores, {len(jax.devices())} {device.platform} '
        f'device(s), jax {jax.__version__}'
    )


def write(path: str, claims, outcomes: dict, budget, seconds: dict, command: str) -> str:
    """Writes the report (and its numbers as ``reproduction.json`` beside it)."""
    indicative = budget.mode != 'full'
    lines = [
        "# Reproduction of the papers' claims",
        '',
        f'`{command}` ({budget.mode} run, seeds {", ".join(map(str, budget.seeds))}) on '
        f'{machine()}, {datetime.date.today().isoformat()}; this invocation took '
        f'{sum(seconds.values()) / 60:.1f} minutes (runs already complete in its directory '
        'are scored again, not retrained).',
    ]
    if indicative:
        lines += [
            '',
            f'**A {budget.mode} run**: fewer steps and seeds than the papers; the verdicts '
            'follow the same rules but say little. The full run is '
            '`python -m nssgan.reproduce --out DIR`.',
        ]
    lines += ['', '| claim | paper | ours | verdict |', '|---|---|---|---|']
    for claim in claims:
        o = outcomes[claim.key]
        lines.append(
            f'| [{claim.title}](#{claim.key}) | {claim.paper} | {o.ours} | **{o.verdict}** |'
        )
    for claim in claims:
        o = outcomes[claim.key]
        lines += [
            '',
            f'<a id="{claim.key}"></a>',
            f'## {claim.paper}: {claim.title}',
            '',
            f'**The paper**: {claim.statement}',
            '',
            f'**Command**: `{o.command}` ({seconds[claim.key] / 60:.1f} min here)',
            '',
            f'**Ours**: {o.ours}',
            '',
            f'**Verdict: {o.verdict}.** {o.why}',
        ]
        lines += ['', *[f'![{claim.key}]({claim.key}/{p})' for p in o.pictures]]
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    numbers = {
        key: {'verdict': o.verdict, 'numbers': o.numbers, 'seconds': seconds[key]}
        for key, o in outcomes.items()
    }
    with open(os.path.join(os.path.dirname(path), 'reproduction.json'), 'w') as f:
        json.dump(
            {'mode': budget.mode, 'seeds': list(budget.seeds), 'claims': numbers}, f, indent=1
        )
    return path
