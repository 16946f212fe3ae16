"""Noise-tempered GAN (NTGAN) on CIFAR-10 (TFDS cifar10, train split, 32 px).

The paper's CIFAR-10 ablation setup (§3, Table 1, Table 2 (g)): the full model with the
noise generator and λ = 1, μ ~ U(0, 1) per iteration, clean and noisy batches side by side
(Algorithm 1), non-saturating loss, batch 64, Adam with η = 1e-4, β₁ = 0.5 (β₂ is not
given: 0.999), 100k generator iterations, n_dis = 1, z ∈ R^128.

Architecture. Table 1 (and the authors' code, sjenni/dfgan `models/net.py`) is a
DCGAN-like pair that config.model can only approximate; this uses `dcgan` with widths 128:
* G: here Dense → 4×4×512, deconv(4, 2) to 256 and 128 (BN, ReLU), deconv(4, 2) to 3,
  tanh. Table 1 has one more stage: deconv(4, 2) to 64 at 32×32, then a 3×3 stride-1
  deconv to 3 (that generator is `sngan_cnn`'s, but `sngan_cnn`'s D has no BatchNorm).
* D: here conv(4, 2) 128 (no BN), 256 and 512 (BN), LeakyReLU 0.2, a 4×4 conv to the
  logit. The authors' D starts with a 3×3 stride-1 conv to 64 and has BN on every strided
  conv (Table 1 lists one more stride-2 layer than their code builds at 32 px).
* BatchNorm: PyTorch's defaults (momentum 0.1, ε 1e-5), not TF-slim's (0.975, 1e-3).
* Noise generator: G with widths / 8 (64, 32, 16 → 3), output 2·tanh.
Table 1's own G: --config.model.name=sngan_cnn (no BN in D). Ablations (Table 2):
(d) --config.stabilizer.noise_tempered.noise_model=fixed, (e) =learned_sigma,
(f)/(h) --config.stabilizer.noise_tempered.noise_penalty=0.1 / 10,
(i) --config.stabilizer.noise_tempered.batch=split.
Samples and metrics come from the generator's EMA (decay 0.9999, ramped up as the
authors' code does), on which the authors evaluate every FID and IS; the paper's text
does not mention it. The raw generator: --config.ema_decay=0.
"""

from nssgan.base_config import base_config


def get_config():
    config = base_config()
    config.dataset = 'cifar10'
    config.image_size = 32
    config.batch_size = 64
    config.num_train_steps = 100_000
    config.n_dis = 1
    config.loss = 'non_saturating'
    config.optimizer.g_lr = 1e-4
    config.optimizer.d_lr = 1e-4
    config.optimizer.b1 = 0.5
    config.optimizer.b2 = 0.999
    config.model.name = 'dcgan'
    config.model.latent_dim = 128
    config.model.g_width = 128
    config.model.d_width = 128
    config.stabilizer.name = 'noise_tempered'
    config.stabilizer.noise_tempered.update(
        noise_model='generator',
        noise_penalty=1.0,
        mu='uniform',
        batch='both',
        noise_input='independent',
    )
    config.ema_decay = 0.9999
    config.ema_schedule = 'dfgan'
    config.sample_every = 5_000
    config.checkpoint_every = 5_000
    return config
