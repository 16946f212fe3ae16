"""WGAN-GP with a lens on CIFAR-10 (TFDS cifar10, 32 px): the lens paper's §4.3.1, Fig. 7-8.

Sajjadi et al. (2018) add the lens to "the implementation from Gulrajani (2017)",
igul222/improved_wgan_training's gan_cifar.py in wgan-gp mode: critic loss
D(G(z)) − D(L(x)) + 10·E(‖∇D(x̂)‖ − 1)², 5 critic updates per generator update,
batch 64, η = 1e-4, 200k generator iterations, a DCGAN-like G (BatchNorm) and critic
(no BatchNorm) of width 128, z of 128 dimensions. The lens: 8 residual blocks of 3×3
convolutions plus the input→output residual (Fig. 4; 64 channels, our choice),
L_A = D(L(x)) (eq. 14), λ_t falling from 1 to 0 over the first K = 10k steps (Fig. 7),
updated once per iteration (after the iteration's last critic update), η = 1e-4.

Departures, each forced or a choice: the paper says RMSProp, but gan_cifar.py's
wgan-gp mode uses Adam(1e-4, b₁ = 0.5, b₂ = 0.9), which is used here (nssgan's
optimizers are Adam); the networks are nssgan's DCGAN-32 with 4×4 kernels (Fig. 3 of
the lens paper) rather than gan_cifar.py's 5×5 ones, with the same widths
(128-256-512); G and D are initialized with DCGAN's N(0, 0.02), the lens with Xavier.
The gradient penalty's x̂ interpolates between G(z) and L(x), the pair the critic
compares (the trainer gives penalties the first view D sees).

Without the lens (the paper's baseline, same initial G and D for the same seed):
--config=configs/lens_cifar10_wgangp.py:none.
"""

from nssgan.base_config import base_config
from nssgan.paper_setups import check_variant


def get_config(variant: str = 'lens'):
    check_variant(variant, ('lens', 'none'), 'configs/lens_cifar10_wgangp.py')
    config = base_config()
    config.dataset = 'cifar10'
    config.image_size = 32
    config.batch_size = 64
    config.num_train_steps = 200_000
    config.n_dis = 5
    config.loss = 'wasserstein'
    config.penalty.name = 'wgan_gp'
    config.penalty.weight = 10.0
    config.optimizer.g_lr = 1e-4
    config.optimizer.d_lr = 1e-4
    config.optimizer.b1 = 0.5
    config.optimizer.b2 = 0.9
    config.model.name = 'dcgan'
    config.model.latent_dim = 128
    config.model.g_width = 128
    config.model.d_width = 128
    config.model.g_batchnorm = True
    config.model.d_norm = 'none'
    config.stabilizer.name = variant
    config.stabilizer.lens.lr = 1e-4  # The paper's rate for every network.
    config.log_every = 100
    config.sample_every = 5_000
    config.checkpoint_every = 5_000
    return config
