"""NSS-GAN (DCGAN-64) on 64×64 crops of the photos scikit-learn ships.

Natural-image statistics without a download, for trying the noisy scale-space where it
is meant to work (the paper's §4.1 premise: smoothing simplifies natural images). The
paper's CelebA optimizer settings (η = 5e-4, b₁ = 0.4, b₂ = 0.999) at batch 64.
"""

from nssgan.base_config import base_config


def get_config():
    config = base_config()
    config.dataset = 'photo_patches'
    config.image_size = 64
    config.batch_size = 64
    config.num_train_steps = 5_000
    config.optimizer.g_lr = 5e-4
    config.optimizer.d_lr = 5e-4
    config.optimizer.b1 = 0.4
    config.stabilizer.name = 'nss'
    config.sample_every = 500
    return config
