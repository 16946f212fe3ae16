"""Roth et al. (2017) regularized GAN on CelebA (TFDS celeb_a, 64 px).

The paper's CelebA setup (§5.2 and rothk/Stabilizing_GANs): DCGAN, non-saturating
loss, D's loss + (γ/2)·Ω with γ annealed from γ₀ = 2 to 0.02 (α = 0.01) over the run,
batch 64, Adam with η = 2e-4, b₁ = 0.5, 100k generator iterations. The architecture is
the PyTorch DCGAN example (4×4 kernels), not the TensorFlow DCGAN (5×5 kernels) of
the authors' code. Constant γ: --config.stabilizer.roth.gamma=0.1 --config.stabilizer.roth.alpha=1.

Fig. 2's architectures, after a colon: `:dcgan` (default, BatchNorm in G and D, as the
paper adds it to D) and `:no_norm` (the DCGAN without any normalization). Its other two
are not offered: the DCGAN with tanh activations (the model has no activation option)
and the 64-px ResNet of the WGAN-GP code (`sngan_resnet` here is GN-GAN's 32/48-px
ResNet); the unregularized run of each: --config.stabilizer.name=none.
"""

from nssgan.base_config import base_config
from nssgan.paper_setups import check_variant


def get_config(variant: str = 'dcgan'):
    check_variant(variant, ('dcgan', 'no_norm'), 'configs/roth_celeba.py')
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
    if variant == 'no_norm':
        config.model.g_batchnorm = False
        config.model.d_norm = 'none'
    config.stabilizer.name = 'roth'
    config.stabilizer.roth.update(gamma=2.0, alpha=0.01)
    config.sample_every = 2_000
    config.checkpoint_every = 2_000
    return config
