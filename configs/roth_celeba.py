"""Roth et al. (2017) regularized GAN on CelebA (TFDS celeb_a, 64 px).

The paper's CelebA setup (§5.2 and rothk/Stabilizing_GANs): DCGAN, non-saturating
loss, D's loss + (γ/2)·Ω with γ annealed from γ₀ = 2 to 0.02 (α = 0.01) over the run,
batch 64, Adam with η = 2e-4, b₁ = 0.5, 100k generator iterations. The architecture is
the PyTorch DCGAN example (4×4 kernels), not the TensorFlow DCGAN (5×5 kernels) of
the authors' code. Constant γ: --config.stabilizer.roth.gamma=0.1 --config.stabilizer.roth.alpha=1.
"""

from nssgan.base_config import base_config


def get_config():
    config = base_config()
    config.dataset = 'celeb_a'
    config.image_size = 64
    config.batch_size = 64
    config.num_train_steps = 100_000
    config.loss = 'non_saturating'
    config.optimizer.g_lr = 2e-4
    config.optimizer.d_lr = 2e-4
    config.optimizer.b1 = 0.5
    config.optimizer.b2 = 0.999
    config.stabilizer.name = 'roth'
    config.stabilizer.roth.update(gamma=2.0, alpha=0.01)
    config.sample_every = 2_000
    config.checkpoint_every = 2_000
    return config
