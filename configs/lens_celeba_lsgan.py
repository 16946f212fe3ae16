"""LSGAN with a lens on CelebA (TFDS celeb_a): the lens paper's §4.2.3 and Fig. 10.

Sajjadi et al. (2018) §2.4: the DCGAN architecture of their Fig. 3 (4×4 kernels,
stride-2 convolutions, ReLU in G, LeakyReLU in D), "LSGAN is trained in the same setting
but without batchnorm"; Adam, η = 1e-4 for every network, batches of 32 and 64 (64
here); all images 32×32 px. The lens: 8 residual blocks of 3×3 convolutions plus the
input→output residual (Fig. 4; 64 channels, our choice), updated once per iteration,
L_A = D(L(x))² (eq. 11), λ_t falling from 1 to 0 over K = 10k steps (the K of the
paper's Fig. 2 caption; its text says 10⁵: --config.stabilizer.lens.K=100000).

Not in the paper, chosen here: the width C of Fig. 3 (64, DCGAN's; the paper keeps it
"not very large"), Adam's b₁ = 0.5, b₂ = 0.999 (DCGAN's) and the run length (100k
generator steps; the paper shows no step count for CelebA). The initialization is
DCGAN's N(0, 0.02) for G and D (the paper: Xavier) and Xavier for the lens.

Without the lens (the paper's baseline, same initial G and D for the same seed):
--config=configs/lens_celeba_lsgan.py:none.
"""

from nssgan.base_config import base_config
from nssgan.paper_setups import check_variant


def get_config(variant: str = 'lens'):
    check_variant(variant, ('lens', 'none'), 'configs/lens_celeba_lsgan.py')
    config = base_config()
    config.dataset = 'celeb_a'
    config.image_size = 32
    config.batch_size = 64
    config.num_train_steps = 100_000
    config.loss = 'least_squares'
    config.optimizer.g_lr = 1e-4
    config.optimizer.d_lr = 1e-4
    config.optimizer.b1 = 0.5
    config.optimizer.b2 = 0.999
    config.model.name = 'dcgan'
    config.model.g_width = 64
    config.model.d_width = 64
    config.model.g_batchnorm = False
    config.model.d_norm = 'none'
    config.stabilizer.name = variant
    config.stabilizer.lens.lr = 1e-4  # The paper's rate for every network.
    config.log_every = 100
    config.sample_every = 2_000
    config.checkpoint_every = 2_000
    return config
