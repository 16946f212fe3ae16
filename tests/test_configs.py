"""Every config file loads and passes the checks; paper configs need their data."""

import glob
import importlib.util
import os

import pytest

from nssgan import config_checks, data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(ROOT, 'configs', '*.py')))


def _load(path):
    spec = importlib.util.spec_from_file_location('config_under_test', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config()


def test_there_are_configs():
    names = {os.path.basename(p) for p in CONFIGS}
    assert {'default.py', 'nss_celeba.py', 'nss_church.py', 'nss_conference.py',
            'nss_flowers.py'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=os.path.basename)
def test_config_is_valid(path):
    config = _load(path)
    for field in ('seed', 'dataset', 'image_size', 'batch_size', 'num_train_steps',
                  'n_dis', 'loss', 'checkpoint_every', 'log_every', 'sample_every'):
        assert field in config, field
    assert 'name' in config.stabilizer
    config_checks.validate(config, num_devices=1, num_processes=1)


def test_default_config_trains_nss_on_embedded_digits():
    config = _load(os.path.join(ROOT, 'configs', 'default.py'))
    assert config.dataset == 'digits'
    assert config.dataset in data.EMBEDDED_DATASETS
    assert config.stabilizer.name == 'nss'


@pytest.mark.parametrize('name, dataset, steps, lr, b1', [
    ('nss_celeba.py', 'celeb_a', 12_716, 5e-4, 0.4),
    ('nss_church.py', 'lsun/church_outdoor', 9_861, 5e-4, 0.3),
    ('nss_conference.py', 'lsun/conference_room', 17_896, 5e-4, 0.3),
    ('nss_flowers.py', 'oxford_flowers102', 6_397, 5e-4, 0.3),
])
def test_nss_paper_configs_follow_the_paper(name, dataset, steps, lr, b1):
    # §5.1 and Table 2: DCGAN-64, batch 128, 10 epochs (100 for flowers), η, b₁.
    config = _load(os.path.join(ROOT, 'configs', name))
    assert (config.dataset, config.image_size, config.batch_size) == (dataset, 64, 128)
    assert config.num_train_steps == steps
    assert config.model.name == 'dcgan' and config.loss == 'non_saturating'
    assert config.optimizer.g_lr == config.optimizer.d_lr == lr
    assert (config.optimizer.b1, config.optimizer.b2) == (b1, 0.999)
    s = config.stabilizer
    assert (s.name, s.T, s.beta, s.sigma, s.fraction) == ('nss', 256, 20.0, 0.15, 0.5)


@pytest.mark.parametrize('name', ['nss_celeba.py', 'nss_flowers.py'])
def test_paper_config_without_data_fails_with_preparation_hint(name, tmp_path):
    config = _load(os.path.join(ROOT, 'configs', name))
    with pytest.raises(data.DatasetNotPreparedError, match=str(tmp_path)):
        data.make_dataset(config.dataset, batch_size=config.batch_size,
                          image_size=config.image_size, seed=0,
                          data_dir=str(tmp_path))
