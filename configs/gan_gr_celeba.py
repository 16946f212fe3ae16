"""GAN-gr on CelebA: the NSS paper's Table 3 baseline with R1 (Mescheder et al. 2018).

DCGAN-64, non-saturating loss, batch 128, 10 epochs (the NSS paper's §5.1), Adam with
Table 2's η = 5e-4, b₁ = 0.3, b₂ = 0.999; D's loss + λ·E‖∇D(x_r)‖². Table 2's λ for
CelebA is not legible in the paper; λ = 10 is its value for LSUN-Church and the
default of Mescheder's code (reg_param = 10).
"""

from nssgan.paper_setups import CELEB_A_IMAGES, nss_baseline_config


def get_config():
    return nss_baseline_config(
        'gan_gr',
        dataset='celeb_a',
        num_examples=CELEB_A_IMAGES,
        epochs=10,
        learning_rate=5e-4,
        b1=0.3,
        weight=10.0,
    )
