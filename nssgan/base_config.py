"""The base training config: every field a run reads, with its default.

Config files in ``configs/`` start from ``base_config()`` (most through the papers'
setups in ``nssgan.paper_setups``) and override what their setup changes, so every run
has the same fields. Each scheme's settings come from the scheme's own ``defaults()``.
"""

import ml_collections
from ml_collections import config_dict

from nssgan import schemes


def base_config() -> ml_collections.ConfigDict:
    """A DCGAN with the non-saturating loss and no stabilizer on the digits."""
    config = ml_collections.ConfigDict()
    config.seed = 0

    # Data (nssgan.data): an embedded set or a prepared TFDS dataset.
    config.dataset = 'digits'
    config.data_dir = config_dict.placeholder(str)  # TFDS data dir; None: TFDS default.
    # TFDS split, e.g. 'train+validation+test'; None: the dataset's default (README, Data).
    config.data_split = config_dict.placeholder(str)
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
    config.model.d_norm = 'batch'  # D's hidden normalization: 'batch', 'layer' or 'none'.
    config.model.d_spectral_norm = False
    # How DCGAN's stride-2 layers are computed (same function and parameters for every
    # method; see nssgan/models/layers.py). 'auto' picks the fastest on XLA:CPU.
    config.model.upsample_method = 'auto'
    config.model.downsample_method = 'auto'
    config.model.resnet_d_pooling = 'mean'  # sngan_resnet D: 'mean' (GNGAN) or 'sum'.
    config.model.mlp_hidden = (512, 512, 512)
    config.model.mlp_d_activation = 'relu'

    # The stabilization scheme: `name` selects one of nssgan.schemes.SCHEMES; each
    # scheme's settings are its own section, e.g. config.stabilizer.nss.T.
    config.stabilizer = schemes.default_sections()

    # A penalty added to D's loss with any scheme (nssgan.stabilizers.PENALTIES):
    # 'none', 'roth', 'r1', 'wgan_gp', 'dragan' or 'cr'; D's loss += weight × penalty.
    config.penalty = ml_collections.ConfigDict()
    config.penalty.name = 'none'
    config.penalty.weight = 10.0

    config.ema_decay = 0.0  # Generator EMA; 0 disables it.
    # 'constant' or 'dfgan' (TensorFlow's ramped-up EMA, once per D and G update, as the
    # noise-tempered GAN's code; see nssgan.step.ema_decay).
    config.ema_schedule = 'constant'
    # 'bfloat16': G and D compute in bfloat16; parameters, optimizer state, statistics,
    # losses, penalties and the scale-space stay float32 (see README, Precision).
    config.compute_dtype = 'float32'

    config.log_every = 100
    config.log_grad_norms = True  # Mean ‖∇ₓD‖ on reals and fakes, every log_every steps.
    config.sample_every = 1_000
    config.num_samples = 64  # Fixed-noise samples in each picture.
    config.checkpoint_every = 1_000
    config.keep_checkpoints = 3
    # (first, last) steps to trace with the JAX profiler into <workdir>/profile (on
    # process 0); (0, 0): off. E.g. (100, 105): past compilation and warm-up.
    config.profile_steps = (0, 0)

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
