"""WGAN-GP on CelebA: the NSS paper's Table 3 baseline (Gulrajani et al. 2017).

DCGAN-64 (with its BatchNorm; the penalty's input gradients are per sample all the
same, see nssgan.stabilizers.gradients), Wasserstein loss + λ·E(‖∇D(x̂)‖ − 1)² with
Table 2's λ = 20, batch 128, 10 epochs, Adam with η = 1e-3, b₁ = 0.3, b₂ = 0.999,
one critic update per generator update as for every model of the paper.
"""

from nssgan.paper_setups import nss_baseline_config


def get_config():
    return nss_baseline_config(
        'wgan_gp',
        dataset='celeb_a',
        num_examples=162_770,
        epochs=10,
        learning_rate=1e-3,
        b1=0.3,
        weight=20.0,
    )
