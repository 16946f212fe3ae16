"""The five papers' claims, regenerated: ``python -m nssgan.reproduce``.

    python -m nssgan.reproduce --out DIR [--quick | --smoke] [--claims a,b] [--seeds N]

runs every claim that can be tested on the data nssgan ships, over several seeds, and
writes ``DIR/REPRODUCTION.md``: per claim the paper's statement, the command, our
numbers (mean ± std over seeds), a picture and a verdict with its rule. Runs are kept
in DIR and resumed, so an interrupted reproduction continues where it stopped.
``--quick`` takes under 15 minutes on 2 CPU cores (fewer steps and seeds; its
verdicts are indicative only); ``--smoke`` checks in a few steps of tiny models that
every claim runs and reports.
"""

from nssgan.reproduce import lens, noise_tempered, nss, pgn, roth
from nssgan.reproduce.claim import Budget, Claim, Outcome

CLAIMS = {c.key: c for m in (nss, roth, noise_tempered, lens, pgn) for c in m.CLAIMS}

__all__ = ['CLAIMS', 'Budget', 'Claim', 'Outcome']
