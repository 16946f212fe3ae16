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

    config.num_train_steps = 5_000  # Generator updates.
    config.n_dis = 1  # D updates per G update.
    config.loss = 'non_saturating'

    config.optimizer = ml_collections.ConfigDict()
    config.optimizer.g_lr = 2e-4
    config.optimizer.d_lr = 2e-4
    config.optimizer.b1 = 0.5
    config.optimizer.b2 = 0.999

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
    config.model.mlp_hidden = (512, 512, 512)
    config.model.mlp_d_activation = 'relu'

    # The stabilization scheme (nssgan.stabilizers.STABILIZERS) and its settings.
    config.stabilizer = ml_collections.ConfigDict()
    config.stabilizer.name = 'none'

    config.ema_decay = 0.0  # Generator EMA; 0 disables it.

    config.log_every = 100
    config.sample_every = 1_000
    config.num_samples = 64  # Fixed-noise samples in each picture.
    config.checkpoint_every = 1_000
    config.keep_checkpoints = 3
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
