"""``python -m nssgan.reproduce``: the smoke run writes a report with a row, finite
numbers, a verdict and its pictures for every claim (not that a claim holds)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from nssgan.reproduce import CLAIMS
from nssgan.reproduce.claim import NOT_REPRODUCED, PARTLY, REPRODUCED

from helpers import MAIN_ENV, ROOT


def _reproduce(*args, timeout=600):
    return subprocess.run(
        [sys.executable, '-m', 'nssgan.reproduce', *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=MAIN_ENV,
        cwd=ROOT,
    )


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp('reproduce')
    result = _reproduce('--smoke', '--out', str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_the_smoke_run_reports_every_claim_with_finite_numbers(smoke):
    report = json.loads((smoke / 'reproduction.json').read_text())
    assert report['mode'] == 'smoke' and report['seeds'] == [0]
    assert list(report['claims']) == list(CLAIMS)
    for key, claim in report['claims'].items():
        assert claim['verdict'] in (REPRODUCED, PARTLY, NOT_REPRODUCED), key
        assert claim['numbers'], key
        assert all(np.isfinite(v) for v in claim['numbers'].values()), (key, claim['numbers'])


def test_the_markdown_has_a_row_a_section_and_existing_pictures_per_claim(smoke):
    text = (smoke / 'REPRODUCTION.md').read_text()
    assert text.count('\n| [') == len(CLAIMS)
    for key, claim in CLAIMS.items():
        assert f'<a id="{key}"></a>' in text and claim.statement in text
    pictures = [
        line[line.index('(') + 1 : -1] for line in text.splitlines() if line.startswith('![')
    ]
    assert len(pictures) >= len(CLAIMS)
    for picture in pictures:
        with Image.open(smoke / picture) as image:
            assert image.format == 'PNG' and min(image.size) > 100


def test_an_unknown_claim_is_a_one_line_error(tmp_path):
    result = _reproduce('--claims', 'nss_fig3,nss_fig9', '--out', str(tmp_path), timeout=120)
    assert result.returncode == 2
    assert 'unknown claim(s) nss_fig9; choose from nss_fig3,' in result.stderr
    assert 'Traceback' not in result.stderr
    assert not os.listdir(tmp_path)


def test_sigterm_saves_the_run_in_progress_and_says_how_to_resume(tmp_path):
    process = subprocess.Popen(
        [sys.executable, '-m', 'nssgan.reproduce', '--quick', '--claims', 'roth_fig1']
        + ['--out', str(tmp_path)],
        cwd=ROOT,
        env=MAIN_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in process.stdout:  # Training has started once the first run is announced.
        if line.startswith('[roth_unreg seed 0]'):
            break
    time.sleep(3)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    last = stderr.strip().splitlines()[-1]
    assert last.startswith('interrupted: roth_fig1: SIGTERM: saved step'), last
    assert 'Run the same command to resume' in last and 'Traceback' not in stderr
    assert os.path.isdir(tmp_path / 'roth_fig1' / 'roth_unreg' / 'seed0' / 'checkpoints')
