"""DRAGAN on CelebA: the NSS paper's Table 3 baseline (Kodali et al. 2017).

DCGAN-64, non-saturating loss + λ·E(‖∇D(x̂)‖ − 1)² around perturbed reals (as the
official code), Table 2's λ = 10 and b₁ = 0.4, batch 128, 10 epochs. Table 2's η for
DRAGAN on CelebA is not legible in the paper; η = 2e-4 is its value for LSUN-Conference
and Oxford Flowers.
"""

from nssgan.paper_setups import CELEB_A_IMAGES, nss_baseline_config


def get_config():
    return nss_baseline_config(
        'dragan',
        dataset='celeb_a',
        num_examples=CELEB_A_IMAGES,
        epochs=10,
        learning_rate=2e-4,
        b1=0.4,
        weight=10.0,
    )
