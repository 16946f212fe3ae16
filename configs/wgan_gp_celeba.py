"""WGAN-GP on CelebA: the NSS paper's Table 3 baseline (Gulrajani et al. 2017).

DCGAN-64, Wasserstein loss + λ·E(‖∇D(x̂)‖ − 1)² with Table 2's λ = 20, batch 128,
10 epochs of all 202,599 images, Adam with η = 1e-3, b₁ = 0.3, b₂ = 0.999. The NSS
paper says no more; the rest is the official WGAN-GP code's: the critic has layer
normalization where DCGAN has BatchNorm (with BatchNorm the penalty of a sample depends
on the rest of its batch; its per-sample and batch-coupled forms differ by 21–35% at
initialization) and makes five updates per generator update, so 10 epochs are 3,165
generator updates. The NSS paper's other models make one D update per G update; that
setup: --config.n_dis=1 --config.num_train_steps=15828 (and --config.model.d_norm=batch
for DCGAN's BatchNorm critic).
"""

from nssgan.paper_setups import CELEB_A_IMAGES, nss_baseline_config


def get_config():
    return nss_baseline_config(
        'wgan_gp',
        dataset='celeb_a',
        num_examples=CELEB_A_IMAGES,
        epochs=10,
        learning_rate=1e-3,
        b1=0.3,
        weight=20.0,
    )
