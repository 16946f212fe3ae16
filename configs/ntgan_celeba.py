"""Noise-tempered GAN on CelebA (TFDS celeb_a, 64 px): Table 3 of the paper.

Choose the row after a colon (`--config=configs/ntgan_celeba.py:dcgan`):
* `ntgan` (default): "NTGAN (same generator as SNGAN)", λ = 1, in the setup of the
  paper's ablations (§3): batch 64, Adam η = 1e-4, β₁ = 0.5, z ∈ R^128, 100k generator
  iterations. Its 64-px network is Table 1's STL-10 column (M = 1024), approximated by
  `dcgan` with widths 128 as in configs/ntgan_cifar10.py: G 4×4×1024 → 512 → 256 → 128 →
  3 (Table 1 adds a 64-channel stage and a 3×3 output conv), D 128 → 256 → 512 → 1024 →
  logit (the authors' D adds a 3×3 stride-1 conv to 64 in front).
* `dcgan`: "DCGAN + NT (λ = 10)": the DCGAN-64 (PyTorch example, widths 64, z ∈ R^100)
  with DCGAN's default hyper-parameters, as the paper keeps them: Adam η = 2e-4,
  β₁ = 0.5, batch 64.
* `mmgan`: "MMGAN + NT (λ = 0.1)": the same with the minimax generator loss.
All use the noise generator (G with widths / 8, output 2·tanh), μ ~ U(0, 1) and both
clean and noisy batches. Samples and metrics come from the generator's EMA (decay
0.9999, ramped up as the authors' code does), on which the authors evaluate every FID
and IS; the paper's text does not mention it. The raw generator: --config.ema_decay=0.
"""

from nssgan.base_config import base_config
from nssgan.paper_setups import check_variant

VARIANTS = ('ntgan', 'dcgan', 'mmgan')


def get_config(variant: str = 'ntgan'):
    check_variant(variant, VARIANTS, 'configs/ntgan_celeba.py')
    config = base_config()
    config.dataset = 'celeb_a'
    config.image_size = 64
    config.batch_size = 64
    config.num_train_steps = 100_000
    config.n_dis = 1
    config.loss = 'minimax' if variant == 'mmgan' else 'non_saturating'
    config.model.name = 'dcgan'
    config.optimizer.b1 = 0.5
    config.optimizer.b2 = 0.999
    if variant == 'ntgan':
        learning_rate, penalty = 1e-4, 1.0
        config.model.latent_dim = 128
        config.model.g_width = config.model.d_width = 128
    else:
        learning_rate, penalty = 2e-4, 10.0 if variant == 'dcgan' else 0.1
        config.model.latent_dim = 100
        config.model.g_width = config.model.d_width = 64
    config.optimizer.g_lr = config.optimizer.d_lr = learning_rate
    config.stabilizer.name = 'noise_tempered'
    config.stabilizer.noise_tempered.update(
        noise_model='generator',
        noise_penalty=penalty,
        mu='uniform',
        batch='both',
        noise_input='independent',
    )
    config.ema_decay = 0.9999
    config.ema_schedule = 'dfgan'
    config.sample_every = 5_000
    config.checkpoint_every = 5_000
    return config
