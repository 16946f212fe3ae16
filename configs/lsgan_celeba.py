"""LSGAN on CelebA: the NSS paper's Table 3 baseline (Mao et al. 2017).

DCGAN-64, least-squares loss (a-b-c = 0-1-1), batch 128, 10 epochs, Adam with b₁ =
0.4 (Table 2). Table 2's η for LSGAN on CelebA is not legible in the paper; η = 5e-5
is its value for every other dataset.
"""

from nssgan.paper_setups import CELEB_A_IMAGES, nss_baseline_config


def get_config():
    return nss_baseline_config(
        'lsgan',
        dataset='celeb_a',
        num_examples=CELEB_A_IMAGES,
        epochs=10,
        learning_rate=5e-5,
        b1=0.4,
    )
