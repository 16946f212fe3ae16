"""What a reproduced claim is: the paper's statement, how it is run, what came out."""

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

DEFAULT_SEEDS = {'full': 5, 'quick': 1, 'smoke': 1}
REPRODUCED, PARTLY, NOT_REPRODUCED = 'reproduced', 'partly', 'not reproduced'


@dataclasses.dataclass(frozen=True)
class Budget:
    """How long a reproduction runs: 'full' (the recorded one), 'quick' (under 15
    minutes on 2 CPU cores, fewer steps and seeds) or 'smoke' (a few steps of tiny
    models, to check that every claim runs and reports)."""

    mode: str
    seeds: tuple[int, ...]

    def pick(self, full, quick, smoke):
        """The value for this budget's mode."""
        return {'full': full, 'quick': quick, 'smoke': smoke}[self.mode]

    def shrink(self, config):
        """In smoke mode, tiny MLPs in place of every network (they compile in a fraction
        of a convolutional network's time); ``config`` as it is otherwise."""
        if self.mode == 'smoke':
            config.model.name = 'mlp'
            config.model.mlp_hidden = (16, 16)
            config.stabilizer.lens.update(features=4, num_blocks=1)
        return config


@dataclasses.dataclass
class Outcome:
    """What a claim's runs gave.

    Attributes:
      command: the command that regenerates it (this claim alone).
      ours: our numbers, as Markdown (mean ± std over seeds where there are seeds).
      numbers: every number ``ours`` and the verdict rest on, by name.
      verdict: REPRODUCED, PARTLY or NOT_REPRODUCED.
      why: one or two sentences: the rule the verdict applies and what decided it.
      pictures: the figures' paths relative to the report.
    """

    command: str
    ours: str
    numbers: dict[str, float]
    verdict: str
    why: str
    pictures: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim of one paper, and the function that tests it.

    ``run(budget, out)`` trains and measures what it needs under the directory ``out``
    (resuming runs already there) and returns an `Outcome`.
    """

    key: str
    paper: str
    title: str
    statement: str
    run: Callable[[Budget, str], Outcome]


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    values = np.asarray(values, np.float64)
    return float(np.mean(values)), float(np.std(values))


def fmt(values: Sequence[float], digits: int = 3) -> str:
    """'m ± s' of ``values`` (just 'm' for one value), ``digits`` significant digits."""
    mean, std = mean_std(values)
    if len(values) == 1:
        return f'{mean:.{digits}g}'
    return f'{mean:.{digits}g} ± {std:.2g}'
