"""What a run writes into its workdir besides checkpoints: ``config.json`` (with its
resumes), the hyper-parameters for TensorBoard, and the sample grids (PNG and
TensorBoard image)."""

import json
import os
from typing import Any

import ml_collections
import numpy as np

from nssgan import visualize


def write_text_atomic(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file and a rename, so a reader
    (or a run interrupted mid-write) never sees a partial file."""
    temporary = f'{path}.tmp-{os.getpid()}'
    with open(temporary, 'w') as f:
        f.write(text)
    os.replace(temporary, path)


def write_config(workdir: str, config: ml_collections.ConfigDict, resumes: list[dict] = ()) -> None:
    """``<workdir>/config.json``: the config the run uses now, and under ``resumes``
    one entry per restart from a checkpoint (step, time, host, pid, changed fields)."""
    content = json.loads(config.to_json_best_effort())
    content['resumes'] = list(resumes)
    write_text_atomic(os.path.join(workdir, 'config.json'), json.dumps(content, indent=2))


def read_resumes(workdir: str) -> list[dict]:
    """The ``resumes`` recorded in ``<workdir>/config.json`` ([] if none or unreadable)."""
    try:
        with open(os.path.join(workdir, 'config.json')) as f:
            resumes = json.load(f).get('resumes', [])
    except (OSError, ValueError, AttributeError):
        return []
    return resumes if isinstance(resumes, list) else []


def flat_hparams(config: ml_collections.ConfigDict) -> dict[str, Any]:
    """``config`` as {'a.b.c': value} with values TensorBoard can show."""
    flat = {}

    def visit(prefix, node):
        for k, v in node.items():
            name = f'{prefix}{k}'
            if isinstance(v, (ml_collections.ConfigDict, dict)):
                visit(f'{name}.', v)
            else:
                flat[name] = v if isinstance(v, (int, float, str, bool)) else str(v)

    visit('', config)
    return flat


def write_samples(
    writer, workdir: str, step: int, samples: np.ndarray, spec, real: np.ndarray | None
) -> None:
    """``<workdir>/samples/step_NNNNNNN.png`` and the same picture in TensorBoard."""
    picture = visualize.samples_picture(samples, spec.kind, real, title=f'step {step}')
    visualize.save_png(f'{workdir}/samples/step_{step:07d}.png', picture)
    writer.write_images(step, {'samples': picture[None]})
