"""The base training config: every field a run reads, with its default.

Config files in ``configs/`` start from ``base_config()`` and override what their
paper's setup changes, so every run has the same fields.
"""

import ml_collections
from ml_collections import config_dict


def base_config() -> ml_collections.ConfigDict:
    """A DCGAN with the non-saturating loss and no stabilizer on the digits."""
    config = ml_collections.ConfigDict()
    config.seed = 0

    # Data (nssgan.data): an embedded set or a prepared TFDS dataset.
    config.dataset = 'digits'
    config.data_dir = config_dict.placeholder(str)  # TFDS data dir; None: TFDS default.
    config.image_size = 32
    config.batch_size = 64  # Global batch per D (and G) update.
    config.g_batch_size = 0  # Latents per G update when it differs; 0: batch_size.

    config.num_train_steps = 5_000  # Generator updates.
    config.n_dis = 1  # D updates per G update.
    config.loss = 'non_saturating'

    config.optimizer = ml_collections.ConfigDict()
    config.optimizer.g_lr = 2e-4
    config.optimizer.d_lr = 2e-4
    config.optimizer.b1 = 0.5
    config.optimizer.b2 = 0.999
    config.optimizer.lr_decay = 'none'  # 'linear': to 0 over num_train_steps.

    config.model = ml_collections.ConfigDict()
    config.model.name = 'dcgan'
    config.model.latent_dim = 100
    config.model.g_width = 64
    config.model.d_width = 64
    config.model.g_batchnorm = True
    config.model.d_batchnorm = True
    config.model.d_spectral_norm = False
    # How DCGAN's stride-2 layers are computed (same function and parameters for every
    # method; see nssgan/models/layers.py). 'auto' picks the fastest on XLA:CPU.
    config.model.upsample_method = 'auto'
    config.model.downsample_method = 'auto'
    config.model.resnet_d_pooling = 'mean'  # sngan_resnet D: 'mean' (GNGAN) or 'sum'.
    config.model.mlp_hidden = (512, 512, 512)
    config.model.mlp_d_activation = 'relu'

    # The stabilization scheme (nssgan.stabilizers.STABILIZERS) and its settings.
    config.stabilizer = ml_collections.ConfigDict()
    config.stabilizer.name = 'none'

    # A penalty added to D's loss with any scheme (nssgan.stabilizers.PENALTIES):
    # 'none', 'r1', 'wgan_gp', 'dragan' or 'cr'; D's loss += weight × penalty.
    config.penalty = ml_collections.ConfigDict()
    config.penalty.name = 'none'
    config.penalty.weight = 10.0

    config.ema_decay = 0.0  # Generator EMA; 0 disables it.

    config.log_every = 100
    config.log_grad_norms = True  # Mean ‖∇ₓD‖ on reals and fakes, every log_every steps.
    config.sample_every = 1_000
    config.num_samples = 64  # Fixed-noise samples in each picture.
    config.checkpoint_every = 1_000
    config.keep_checkpoints = 3

    # Evaluation (nssgan.evaluation): every `every` steps (0: off) on `num_samples`
    # samples; the best checkpoint by the dataset's primary metric is kept in
    # <workdir>/checkpoints_best. Image datasets need the FID Inception weights
    # (python -m nssgan.evaluation.convert_inception); embedded ones need nothing.
    config.eval = ml_collections.ConfigDict()
    config.eval.every = 0
    config.eval.num_samples = 10_000
    config.eval.inception_weights = ''
    config.eval.stats_dir = ''  # FID statistics cache; '': $NSSGAN_CACHE/fid_stats.
    return config


def steps_for_epochs(epochs: int, num_examples: int, batch_size: int) -> int:
    """Generator updates for ``epochs`` passes over ``num_examples`` real images."""
    return epochs * num_examples // batch_size


def nss_paper_config(*, dataset: str, num_examples: int, epochs: int,
                     learning_rate: float, b1: float) -> ml_collections.ConfigDict:
    """The NSS paper's setup (§5.1): DCGAN-64, non-saturating loss, Adam, batch 128.

    ``learning_rate`` and ``b1`` are Table 2's tuned η and b₁ for the dataset; b₂ is
    0.999 for every model. The paper trains 10 epochs on CelebA and the LSUN scenes
    and 100 on Oxford Flowers.
    """
    config = base_config()
    config.dataset = dataset
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
    config.log_every = 100
    config.sample_every = 1_000
    config.checkpoint_every = 1_000
    return config


def scale_space_settings(name: str = 'nss', **overrides) -> ml_collections.ConfigDict:
    """``config.stabilizer`` for NSS/SS/NS with the paper's final settings (§5)."""
    settings = ml_collections.ConfigDict()
    settings.name = name
    settings.T = 256
    settings.beta = 20.0
    settings.sigma = 0.15
    settings.kernel_sigma = config_dict.placeholder(float)  # None: 3×3 binomial.
    settings.padding = 'symmetric'
    settings.method = 'spectral'  # Exact in distribution; 'loop' is the reference.
    settings.fraction = 0.5  # Share of each real and fake batch pushed through Φ_t.
    settings.fixed_t = -1  # ≥ 0: a constant t instead of the annealing.
    settings.update(overrides)
    return settings


def digits_config(stabilizer: str = 'nss') -> ml_collections.ConfigDict:
    """DCGAN-32 (width 32) on the embedded digits: minutes on 2 CPU cores."""
    config = base_config()
    config.dataset = 'digits'
    config.image_size = 32
    config.batch_size = 64
    config.num_train_steps = 3_000
    config.model.g_width = 32
    config.model.d_width = 32
    config.stabilizer = scale_space_settings(stabilizer)
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
    config.model.d_batchnorm = False
    config.stabilizer = scale_space_settings(stabilizer, fixed_t=8, fraction=1.0)
    config.log_every = 500
    config.sample_every = 5_000
    config.checkpoint_every = 5_000
    return config


def nss_baseline_config(baseline: str, *, dataset: str, num_examples: int, epochs: int,
                        learning_rate: float, b1: float, weight: float = 0.0
                        ) -> ml_collections.ConfigDict:
    """A baseline of the NSS paper's Table 3 in its setup (``nss_paper_config``).

    ``baseline``: 'gan' (plain DCGAN), 'gan_gr' (R1, Mescheder et al. 2018), 'lsgan',
    'wgan_gp' or 'dragan'; ``weight`` is Table 2's λ, the coefficient of the penalty
    in D's loss.
    """
    config = nss_paper_config(dataset=dataset, num_examples=num_examples, epochs=epochs,
                              learning_rate=learning_rate, b1=b1)
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
    return config


def gngan_config(*, dataset: str, image_size: int, arch: str
                 ) -> ml_collections.ConfigDict:
    """The GN-GAN / PGN-GAN setup on CIFAR-10 and STL-10 (GNGAN-PyTorch's configs).

    ``arch``: 'cnn' (its DCGAN-style CNN: BCE loss, n_dis 1, η 2e-4 for both) or
    'resnet' (hinge loss, n_dis 5, η_D 4e-4, η_G 2e-4, linear decay to 0), each with
    ``_cr`` for consistency regularization (λ = 5). Both: Adam β = (0, 0.9), D batch
    64, G batch 128, 200k generator steps, z ~ N(0, I) of 128 dimensions, generator
    EMA with decay 0.9999. The scheme is PGN; --config.stabilizer.name=gn gives GN-GAN
    and =pgn_theory the PGN of the paper's Theorem 6.
    """
    arch, _, cr = arch.partition('_')
    if arch not in ('cnn', 'resnet') or cr not in ('', 'cr'):
        raise ValueError(f'unknown architecture {arch!r}; use cnn, resnet, cnn_cr or '
                         'resnet_cr, e.g. --config=configs/pgn_cifar10.py:resnet')
    config = base_config()
    config.dataset = dataset
    config.image_size = image_size
    config.batch_size = 64
    config.g_batch_size = 128
    config.num_train_steps = 200_000
    config.model.name = 'sngan_cnn' if arch == 'cnn' else 'sngan_resnet'
    config.model.latent_dim = 128
    config.optimizer.b1 = 0.0
    config.optimizer.b2 = 0.9
    if arch == 'cnn':
        config.loss = 'non_saturating'
        config.n_dis = 1
        config.optimizer.g_lr = config.optimizer.d_lr = 2e-4
    else:
        config.loss = 'hinge'
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


def check_variant(variant: str, choices: tuple[str, ...], config_file: str) -> None:
    """Refuses a ``--config=FILE:variant`` argument that ``FILE`` does not offer."""
    if variant not in choices:
        raise ValueError(f'unknown variant {variant!r}; use one of {", ".join(choices)}, '
                         f'e.g. --config={config_file}:{choices[-1]}')


def lens_settings(**overrides) -> ml_collections.ConfigDict:
    """``config.stabilizer`` for the lens with the paper's §4 settings: K = 10k, a
    64-channel lens of 8 residual blocks, its own Adam at η = 1e-4, mean L_R."""
    settings = ml_collections.ConfigDict(dict(
        name='lens', K=10_000, features=64, num_blocks=8, lr=1e-4, reconstruction='mean'))
    settings.update(overrides)
    return settings
