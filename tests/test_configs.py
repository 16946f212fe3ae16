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


def _load_with(path, argument):
    spec = importlib.util.spec_from_file_location('config_under_test', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(argument)


@pytest.mark.parametrize('name, size', [('pgn_cifar10.py', 32), ('pgn_stl10.py', 48)])
@pytest.mark.parametrize('arch', ['cnn', 'resnet', 'cnn_cr', 'resnet_cr'])
def test_pgn_configs_follow_gngan(name, size, arch):
    config = _load_with(os.path.join(ROOT, 'configs', name), arch)
    config_checks.validate(config, num_devices=1, num_processes=1)
    assert config.image_size == size and config.stabilizer.name == 'pgn'
    assert (config.batch_size, config.g_batch_size, config.model.latent_dim) == (64, 128, 128)
    assert (config.optimizer.b1, config.optimizer.b2, config.ema_decay) == (0.0, 0.9, 0.9999)
    resnet = arch.startswith('resnet')
    assert config.model.name == ('sngan_resnet' if resnet else 'sngan_cnn')
    assert (config.loss, config.n_dis) == (('hinge', 5) if resnet else ('non_saturating', 1))
    assert (config.optimizer.d_lr, config.optimizer.g_lr) == (
        (4e-4, 2e-4) if resnet else (2e-4, 2e-4))
    assert config.optimizer.lr_decay == ('linear' if resnet else 'none')
    assert (config.penalty.name, config.penalty.weight) == (
        ('cr', 5.0) if arch.endswith('_cr') else ('none', 10.0))


def test_pgn_config_names_the_architectures_on_a_typo():
    with pytest.raises(ValueError, match='cnn, resnet, cnn_cr or resnet_cr'):
        _load_with(os.path.join(ROOT, 'configs', 'pgn_cifar10.py'), 'resnt')


def test_roth_celeba_follows_the_paper():
    config = _load(os.path.join(ROOT, 'configs', 'roth_celeba.py'))
    assert (config.dataset, config.image_size, config.batch_size) == ('celeb_a', 64, 64)
    assert (config.stabilizer.name, config.stabilizer.gamma,
            config.stabilizer.alpha) == ('roth', 2.0, 0.01)
    assert (config.optimizer.g_lr, config.optimizer.b1) == (2e-4, 0.5)


@pytest.mark.parametrize('name, loss, penalty, weight, lr, b1', [
    ('gan_gr_celeba.py', 'non_saturating', 'r1', 10.0, 5e-4, 0.3),
    ('lsgan_celeba.py', 'least_squares', 'none', 0.0, 5e-5, 0.4),
    ('wgan_gp_celeba.py', 'wasserstein', 'wgan_gp', 20.0, 1e-3, 0.3),
    ('dragan_celeba.py', 'non_saturating', 'dragan', 10.0, 2e-4, 0.4),
])
def test_nss_baselines_follow_table_2(name, loss, penalty, weight, lr, b1):
    config = _load(os.path.join(ROOT, 'configs', name))
    assert (config.dataset, config.image_size, config.batch_size) == ('celeb_a', 64, 128)
    assert config.num_train_steps == 12_716 and config.stabilizer.name == 'none'
    assert (config.loss, config.penalty.name, config.penalty.weight) == (loss, penalty,
                                                                          weight)
    assert (config.optimizer.d_lr, config.optimizer.b1) == (lr, b1)
