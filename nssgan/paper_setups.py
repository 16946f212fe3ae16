"""The papers' training setups that the files in ``configs/`` start from.

Each function returns a full config (``nssgan.base_config``) with one paper's setup;
a config file picks one and, where the paper offers columns or ablations, a variant
(``--config=configs/FILE.py:VARIANT``).
"""

import ml_collections

from nssgan.base_config import base_config


def steps_for_epochs(epochs: int, num_examples: int, batch_size: int) -> int:
    """Generator updates for ``epochs`` passes over ``num_examples`` real images."""
    return epochs * num_examples // batch_size


def check_variant(variant: str, choices: tuple[str, ...], config_file: str) -> None:
    """Refuses a ``--config=FILE:variant`` argument that ``FILE`` does not offer."""
    if variant not in choices:
        raise ValueError(
            f'unknown variant {variant!r}; use one of {", ".join(choices)}, '
            f'e.g. --config={config_file}:{choices[-1]}'
        )


# The NSS paper's Table 2: Adam's tuned (η, b₁) per data set and column (b₂ = 0.999).
NSS_TABLE_2 = {
    'celeb_a': {'nss': (5e-4, 0.4), 'ss': (5e-4, 0.4), 'ns': (5e-4, 0.3), 'gan': (5e-4, 0.3)},
    'lsun/church_outdoor': {
        'nss': (5e-4, 0.3),
        'ss': (5e-4, 0.3),
        'ns': (1e-3, 0.3),
        'gan': (2e-4, 0.3),
    },
    'lsun/conference_room': {
        'nss': (5e-4, 0.3),
        'ss': (2e-4, 0.3),
        'ns': (5e-4, 0.3),
        'gan': (2e-4, 0.3),
    },
    'oxford_flowers102': {
        'nss': (5e-4, 0.3),
        'ss': (5e-4, 0.3),
        'ns': (5e-4, 0.3),
        'gan': (2e-4, 0.4),
    },
}
NSS_VARIANTS = ('nss', 'ss', 'ns', 'gan')
# The NSS paper trains on "about 200K" CelebA images: all three TFDS splits.
CELEB_A_IMAGES = 202_599
NSS_SPLITS = {'celeb_a': 'train+validation+test'}


def nss_paper_config(
    *, dataset: str, num_examples: int, epochs: int, variant: str = 'nss', config_file: str = ''
) -> ml_collections.ConfigDict:
    """The NSS paper's setup (§5.1): DCGAN-64, non-saturating loss, Adam, batch 128.

    ``variant`` is a column of its Table 2: 'nss' (NSS-GAN), 'ss' (scale-space),
    'ns' (noise-space) or 'gan' (the plain DCGAN), each with that column's tuned η and
    b₁ for ``dataset`` (b₂ = 0.999 for every model); SS, NS and NSS share T = 256. The
    paper trains 10 epochs on CelebA and the LSUN scenes and 100 on Oxford Flowers.
    """
    check_variant(variant, NSS_VARIANTS, config_file or 'configs/nss_celeba.py')
    learning_rate, b1 = NSS_TABLE_2[dataset][variant]
    config = base_config()
    config.dataset = dataset
    config.data_split = NSS_SPLITS.get(dataset)
    config.image_size = 64
    config.batch_size = 128
    config.num_train_steps = steps_for_epochs(epochs, num_examples, 128)
    config.loss = 'non_saturating'
    config.optimizer.g_lr = learning_rate
    config.optimizer.d_lr = learning_rate
    config.optimizer.b1 = b1
    config.optimizer.b2 = 0.999
    config.model.name = 'dcgan'
    config.model.g_width = 64
    config.model.d_width = 64
    config.stabilizer.name = 'none' if variant == 'gan' else variant
    config.log_every = 100
    config.sample_every = 1_000
    config.checkpoint_every = 1_000
    return config


def digits_config(stabilizer: str = 'nss') -> ml_collections.ConfigDict:
    """DCGAN-32 (width 32) on the embedded digits: minutes on 2 CPU cores."""
    config = base_config()
    config.dataset = 'digits'
    config.image_size = 32
    config.batch_size = 64
    config.num_train_steps = 3_000
    config.model.g_width = 32
    config.model.d_width = 32
    config.stabilizer.name = stabilizer
    config.log_every = 100
    config.sample_every = 500
    config.checkpoint_every = 1_000
    # Digit Fréchet distance, modes and KL of 2,000 samples (a classifier trained once
    # on the embedded digits and cached): no Inception weights needed.
    config.eval.every = 1_000
    config.eval.num_samples = 2_000
    return config


def hadamard_config(stabilizer: str) -> ml_collections.ConfigDict:
    """The NSS paper's Hadamard experiment (§4.3): the basic MLP GAN, fixed t = 8.

    As in its Fig. 4 caption: α_i ~ U(−1, 1), Φ applied to all data in the batch,
    Adam with η = 2·10⁻⁵. The paper trains 200 epochs of 200K images; the default here
    is shorter (``num_train_steps``) so that it runs in minutes on a CPU.
    """
    config = base_config()
    config.dataset = 'hadamard'
    config.image_size = 8
    config.batch_size = 64
    config.num_train_steps = 20_000
    config.optimizer.g_lr = 2e-5
    config.optimizer.d_lr = 2e-5
    config.model.name = 'mlp'
    config.model.latent_dim = 100
    config.model.mlp_hidden = (256, 256)
    config.model.g_batchnorm = False
    config.model.d_norm = 'none'
    config.stabilizer.name = stabilizer
    for scheme in ('nss', 'ss', 'ns'):  # So that switching the name keeps the setup.
        config.stabilizer[scheme].fixed_t = 8
        config.stabilizer[scheme].fraction = 1.0
    config.log_every = 500
    config.sample_every = 5_000
    config.checkpoint_every = 5_000
    return config


def nss_baseline_config(
    baseline: str,
    *,
    dataset: str,
    num_examples: int,
    epochs: int,
    learning_rate: float,
    b1: float,
    weight: float = 0.0,
) -> ml_collections.ConfigDict:
    """A baseline of the NSS paper's Table 3 in its setup (``nss_paper_config``).

    ``baseline``: 'gan' (plain DCGAN), 'gan_gr' (R1, Mescheder et al. 2018), 'lsgan',
    'wgan_gp' or 'dragan'; ``weight`` is Table 2's λ, the coefficient of the penalty
    in D's loss. Where the NSS paper is silent, WGAN-GP follows its official code: layer
    normalization in the critic instead of BatchNorm, five critic updates per generator
    update, and the same epochs of data (so a fifth of the generator updates).
    """
    config = nss_paper_config(
        dataset=dataset, num_examples=num_examples, epochs=epochs, variant='gan'
    )
    config.optimizer.g_lr = config.optimizer.d_lr = learning_rate
    config.optimizer.b1 = b1
    loss, penalty = {
        'gan': ('non_saturating', 'none'),
        'gan_gr': ('non_saturating', 'r1'),
        'lsgan': ('least_squares', 'none'),
        'wgan_gp': ('wasserstein', 'wgan_gp'),
        'dragan': ('non_saturating', 'dragan'),
    }[baseline]
    config.loss = loss
    config.penalty.name = penalty
    config.penalty.weight = weight
    if baseline == 'wgan_gp':
        config.model.d_norm = 'layer'
        config.n_dis = 5
        config.num_train_steps //= config.n_dis
    return config


# The PGN paper: "we used 200,000 epochs" (CIFAR-10) and "500,000 runs of the STL-10
# training set"; read as generator updates, as GNGAN-PyTorch counts its 200k steps.
PGN_STEPS = {'cifar10': 200_000, 'stl10': 500_000}
# The PGN paper's STL-10: "an additional 100K unlabeled images" (TFDS 'unlabelled').
PGN_SPLITS = {'stl10': 'unlabelled'}


def gngan_config(*, dataset: str, image_size: int, arch: str) -> ml_collections.ConfigDict:
    """The GN-GAN / PGN-GAN setup on CIFAR-10 and STL-10 (GNGAN-PyTorch's configs).

    ``arch``: 'cnn' (its DCGAN-style CNN: n_dis 1, η 2e-4 for both) or 'resnet'
    (n_dis 5, η_D 4e-4, η_G 2e-4, linear decay to 0), each with ``_cr`` for consistency
    regularization (λ = 5); both with the hinge loss, as the PGN paper's text says for
    both datasets. ``_bce`` (e.g. 'cnn_bce') trains with the non-saturating (BCE) loss
    instead, as GNGAN-PyTorch's CNN config files do. Both: Adam β = (0, 0.9), D batch
    64, G batch 128, z ~ N(0, I) of 128 dimensions, generator EMA with decay 0.9999;
    200k generator steps on CIFAR-10's train split, 500k on STL-10's 100k unlabelled
    images (the paper's lengths). The scheme is PGN; --config.stabilizer.name=gn gives
    GN-GAN and =pgn_theory the PGN of the paper's Theorem 6.
    """
    arch, *options = arch.split('_')
    if arch not in ('cnn', 'resnet') or not set(options) <= {'cr', 'bce'}:
        raise ValueError(
            f'unknown architecture {"_".join([arch, *options])!r}; use cnn or resnet, '
            'optionally with _cr and/or _bce, e.g. --config=configs/pgn_cifar10.py:resnet_cr'
        )
    cr = 'cr' in options
    config = base_config()
    config.dataset = dataset
    config.data_split = PGN_SPLITS.get(dataset)
    config.image_size = image_size
    config.batch_size = 64
    config.g_batch_size = 128
    config.num_train_steps = PGN_STEPS[dataset]
    config.model.name = 'sngan_cnn' if arch == 'cnn' else 'sngan_resnet'
    config.model.latent_dim = 128
    config.optimizer.b1 = 0.0
    config.optimizer.b2 = 0.9
    config.loss = 'non_saturating' if 'bce' in options else 'hinge'
    if arch == 'cnn':
        config.n_dis = 1
        config.optimizer.g_lr = config.optimizer.d_lr = 2e-4
    else:
        config.n_dis = 5
        config.optimizer.d_lr = 4e-4
        config.optimizer.g_lr = 2e-4
        config.optimizer.lr_decay = 'linear'
    config.ema_decay = 0.9999
    config.stabilizer.name = 'pgn'
    if cr:
        config.penalty.name = 'cr'
        config.penalty.weight = 5.0
    config.log_every = 100
    config.sample_every = 5_000
    config.checkpoint_every = 5_000
    return config
