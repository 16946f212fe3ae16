"""Every config file (and variant) loads and passes the checks with every scheme it
can run; paper configs follow their papers and need their data."""

import glob
import os

import pytest

from nssgan import data, schemes, validation

from helpers import ROOT, load_config

CONFIGS = sorted(glob.glob(os.path.join(ROOT, 'configs', '*.py')))
NAMES = [os.path.basename(p) for p in CONFIGS]
# The variants each file offers (--config=configs/FILE.py:VARIANT).
VARIANTS = {
    'lens_celeba_lsgan.py': ('lens', 'none'),
    'lens_cifar10_wgangp.py': ('lens', 'none'),
    'lens_color_digits.py': ('lens', 'none'),
    'ntgan_celeba.py': ('ntgan', 'dcgan', 'mmgan'),
    'ntgan_ring.py': ('ntgan', 'gan'),
    'nss_table1.py': ('celeba,nss,256', 'church,ss,64', 'conference,ns,32', 'flowers,nss,0'),
    'roth_celeba.py': ('dcgan', 'no_norm'),
    'pgn_cifar10.py': ('cnn', 'resnet', 'cnn_cr', 'resnet_cr', 'cnn_bce', 'cnn_cr_bce'),
    'pgn_stl10.py': ('cnn', 'resnet', 'cnn_cr', 'resnet_cr', 'cnn_bce', 'cnn_cr_bce'),
    **{
        f'nss_{d}.py': ('nss', 'ss', 'ns', 'gan')
        for d in ('celeba', 'church', 'conference', 'flowers')
    },
}


def _validate(config):
    return validation.validate(config, num_devices=1, num_processes=1)


def _load(path):
    return load_config(os.path.basename(path))


def test_there_are_configs():
    names = {os.path.basename(p) for p in CONFIGS}
    assert {
        'default.py',
        'nss_celeba.py',
        'nss_church.py',
        'nss_conference.py',
        'nss_flowers.py',
    } <= names


@pytest.mark.parametrize('path', CONFIGS, ids=os.path.basename)
def test_config_is_valid(path):
    config = _load(path)
    for field in (
        'seed',
        'dataset',
        'image_size',
        'batch_size',
        'num_train_steps',
        'n_dis',
        'loss',
        'checkpoint_every',
        'log_every',
        'sample_every',
    ):
        assert field in config, field
    assert config.stabilizer.name in schemes.SCHEMES
    _validate(config)


@pytest.mark.parametrize('name, variant', [(n, v) for n, vs in VARIANTS.items() for v in vs])
def test_every_variant_is_valid(name, variant):
    _validate(load_config(name, variant))


def test_a_typo_in_a_variant_lists_the_variants():
    with pytest.raises(
        ValueError,
        match=r"unknown variant 'sss'; use one of nss, ss, "
        r'ns, gan, e.g. --config=configs/nss_celeba.py:',
    ):
        load_config('nss_celeba.py', 'sss')


# What a scheme may refuse on a config: the data kind or the loss it cannot work with,
# never a leftover setting of another scheme.
INCOMPATIBLE = ('gives vectors', 'config.loss=')


@pytest.mark.parametrize('scheme', list(schemes.SCHEMES))
@pytest.mark.parametrize('name', NAMES)
def test_every_scheme_can_be_selected_on_every_config(name, scheme):
    config = load_config(name)
    config.stabilizer.name = scheme
    try:
        _validate(config)
    except validation.ConfigError as e:
        assert any(reason in str(e) for reason in INCOMPATIBLE), str(e)
        assert str(e).startswith(f'config.stabilizer.name={scheme!r}'), str(e)


def test_most_config_and_scheme_pairs_are_accepted():
    accepted = 0
    for name in NAMES:
        for scheme in schemes.SCHEMES:
            config = load_config(name)
            config.stabilizer.name = scheme
            try:
                _validate(config)
                accepted += 1
            except validation.ConfigError:
                pass
    # Refused: image-only schemes (nss, ss, ns, lens) on the ring, Roth and the lens
    # with losses they do not define.
    assert accepted >= 0.8 * len(NAMES) * len(schemes.SCHEMES)


def test_each_scheme_section_holds_the_schemes_defaults():
    config = load_config('default.py')
    for name, cls in schemes.SCHEMES.items():
        if cls.defaults():
            assert config.stabilizer[name].to_dict() == cls.defaults().to_dict(), name


def test_default_config_trains_nss_on_embedded_digits():
    config = _load(os.path.join(ROOT, 'configs', 'default.py'))
    assert config.dataset == 'digits'
    assert config.dataset in data.EMBEDDED_DATASETS
    assert config.stabilizer.name == 'nss'


@pytest.mark.parametrize(
    'name, dataset, steps, lr, b1',
    [
        ('nss_celeba.py', 'celeb_a', 15_828, 5e-4, 0.4),  # all 202,599 images
        ('nss_church.py', 'lsun/church_outdoor', 9_861, 5e-4, 0.3),
        ('nss_conference.py', 'lsun/conference_room', 17_896, 5e-4, 0.3),
        ('nss_flowers.py', 'oxford_flowers102', 6_397, 5e-4, 0.3),
    ],
)
def test_nss_paper_configs_follow_the_paper(name, dataset, steps, lr, b1):
    # §5.1 and Table 2: DCGAN-64, batch 128, 10 epochs (100 for flowers), η, b₁.
    config = _load(os.path.join(ROOT, 'configs', name))
    assert (config.dataset, config.image_size, config.batch_size) == (dataset, 64, 128)
    assert config.num_train_steps == steps
    assert config.model.name == 'dcgan' and config.loss == 'non_saturating'
    assert config.optimizer.g_lr == config.optimizer.d_lr == lr
    assert (config.optimizer.b1, config.optimizer.b2) == (b1, 0.999)
    s = config.stabilizer
    assert s.name == 'nss'
    assert (s.nss.T, s.nss.beta, s.nss.sigma, s.nss.fraction) == (256, 20.0, 0.15, 0.5)


# Table 2's (η, b₁) of the GAN, SS and NS columns.
@pytest.mark.parametrize(
    'name, gan, ss, ns',
    [
        ('nss_celeba.py', (5e-4, 0.3), (5e-4, 0.4), (5e-4, 0.3)),
        ('nss_church.py', (2e-4, 0.3), (5e-4, 0.3), (1e-3, 0.3)),
        ('nss_conference.py', (2e-4, 0.3), (2e-4, 0.3), (5e-4, 0.3)),
        ('nss_flowers.py', (2e-4, 0.4), (5e-4, 0.3), (5e-4, 0.3)),
    ],
)
def test_nss_ablation_variants_use_their_table_2_columns(name, gan, ss, ns):
    for variant, scheme, (lr, b1) in (('gan', 'none', gan), ('ss', 'ss', ss), ('ns', 'ns', ns)):
        config = load_config(name, variant)
        assert config.stabilizer.name == scheme
        assert config.optimizer.g_lr == config.optimizer.d_lr == lr, variant
        assert config.optimizer.b1 == b1, variant


@pytest.mark.parametrize('name', ['nss_celeba.py', 'nss_flowers.py'])
def test_paper_config_without_data_fails_with_preparation_hint(name, tmp_path):
    config = _load(os.path.join(ROOT, 'configs', name))
    with pytest.raises(data.DatasetNotPreparedError, match=str(tmp_path)):
        data.make_dataset(
            config.dataset,
            batch_size=config.batch_size,
            image_size=config.image_size,
            seed=0,
            data_dir=str(tmp_path),
        )


def _load_with(path, argument):
    return load_config(os.path.basename(path), argument)


@pytest.mark.parametrize(
    'name, size, steps, split',
    [('pgn_cifar10.py', 32, 200_000, None), ('pgn_stl10.py', 48, 500_000, 'unlabelled')],
)
@pytest.mark.parametrize('arch', ['cnn', 'resnet', 'cnn_cr', 'resnet_cr', 'cnn_bce'])
def test_pgn_configs_follow_the_paper_and_gngan(name, size, steps, split, arch):
    config = _load_with(os.path.join(ROOT, 'configs', name), arch)
    _validate(config)
    assert config.image_size == size and config.stabilizer.name == 'pgn'
    assert (config.num_train_steps, config.data_split) == (steps, split)
    assert (config.batch_size, config.g_batch_size, config.model.latent_dim) == (64, 128, 128)
    assert (config.optimizer.b1, config.optimizer.b2, config.ema_decay) == (0.0, 0.9, 0.9999)
    resnet = arch.startswith('resnet')
    assert config.model.name == ('sngan_resnet' if resnet else 'sngan_cnn')
    assert config.n_dis == (5 if resnet else 1)
    assert config.loss == ('non_saturating' if arch.endswith('_bce') else 'hinge')
    assert (config.optimizer.d_lr, config.optimizer.g_lr) == (
        (4e-4, 2e-4) if resnet else (2e-4, 2e-4)
    )
    assert config.optimizer.lr_decay == ('linear' if resnet else 'none')
    assert (config.penalty.name, config.penalty.weight) == (
        ('cr', 5.0) if '_cr' in arch else ('none', 10.0)
    )


def test_pgn_config_names_the_architectures_on_a_typo():
    with pytest.raises(ValueError, match='use cnn or resnet, optionally with _cr and/or _bce'):
        _load_with(os.path.join(ROOT, 'configs', 'pgn_cifar10.py'), 'resnt')


@pytest.mark.parametrize(
    'cell, dataset, lr, b1, scheme, T',
    [
        ('celeba,nss,256', 'celeb_a', 2e-4, 0.4, 'nss', 256),
        ('church,ss,64', 'lsun/church_outdoor', 2e-4, 0.4, 'ss', 64),
        ('conference,ns,32', 'lsun/conference_room', 5e-4, 0.3, 'ns', 32),
        ('flowers,nss,0', 'oxford_flowers102', 5e-4, 0.4, 'none', None),
    ],
)
def test_nss_table_1_cells_have_the_papers_fixed_eta_and_b1(cell, dataset, lr, b1, scheme, T):
    config = load_config('nss_table1.py', cell)
    assert (config.dataset, config.optimizer.g_lr, config.optimizer.d_lr) == (dataset, lr, lr)
    assert (config.optimizer.b1, config.stabilizer.name) == (b1, scheme)
    if T is not None:
        assert config.stabilizer[scheme].T == T


@pytest.mark.parametrize('cell', ['celeba,nss', 'mnist,nss,64', 'celeba,gan,64', 'celeba,nss,100'])
def test_nss_table_1_names_the_cells_on_a_typo(cell):
    with pytest.raises(ValueError, match='DATASET,SCHEME,T'):
        load_config('nss_table1.py', cell)


def test_roth_celeba_follows_the_paper():
    config = _load(os.path.join(ROOT, 'configs', 'roth_celeba.py'))
    assert (config.dataset, config.image_size, config.batch_size) == ('celeb_a', 64, 64)
    assert (config.stabilizer.name, config.stabilizer.roth.gamma, config.stabilizer.roth.alpha) == (
        'roth',
        2.0,
        0.01,
    )
    assert (config.optimizer.g_lr, config.optimizer.b1) == (2e-4, 0.5)


@pytest.mark.parametrize(
    'name, loss, penalty, weight, lr, b1',
    [
        ('gan_gr_celeba.py', 'non_saturating', 'r1', 10.0, 5e-4, 0.3),
        ('lsgan_celeba.py', 'least_squares', 'none', 0.0, 5e-5, 0.4),
        ('wgan_gp_celeba.py', 'wasserstein', 'wgan_gp', 20.0, 1e-3, 0.3),
        ('dragan_celeba.py', 'non_saturating', 'dragan', 10.0, 2e-4, 0.4),
    ],
)
def test_nss_baselines_follow_table_2(name, loss, penalty, weight, lr, b1):
    config = _load(os.path.join(ROOT, 'configs', name))
    assert (config.dataset, config.image_size, config.batch_size) == ('celeb_a', 64, 128)
    # 10 epochs of all 202,599 images ("about 200K"); WGAN-GP's 5 critic updates
    # per generator update (its official code) read 5 batches a step.
    wgan = name.startswith('wgan')
    assert config.data_split == 'train+validation+test'
    assert (config.num_train_steps, config.n_dis) == ((3_165, 5) if wgan else (15_828, 1))
    assert config.model.d_norm == ('layer' if wgan else 'batch')
    assert config.stabilizer.name == 'none'
    assert (config.loss, config.penalty.name, config.penalty.weight) == (loss, penalty, weight)
    assert (config.optimizer.d_lr, config.optimizer.b1) == (lr, b1)
