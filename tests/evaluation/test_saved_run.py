"""Scoring a saved run from the command line (main.py --mode=eval)."""

from helpers import assert_one_line_error, run_main


def test_eval_mode_without_a_checkpoint_is_a_one_line_error(tmp_path):
    result = run_main('--mode=eval', '--config=configs/default.py', f'--workdir={tmp_path}')
    assert_one_line_error(result, 'no checkpoint in')
    assert 'checkpoints' in result.stderr.strip().splitlines()[-1]
