"""NSS-GAN on CelebA (TFDS celeb_a, all 202,599 aligned faces: train+validation+test).

The NSS paper's final setup (§5.1, Table 2): DCGAN-64, non-saturating loss, batch
128, 10 epochs, Adam with η = 5e-4, b₁ = 0.4, b₂ = 0.999. Noisy scale-space with
T = 256, β = 20, σ = 0.15, the 3×3 binomial kernel, applied to half of each batch.
The ablations, each with its own Table 2 column of η and b₁: --config=configs/nss_celeba.py:ss
(scale-space), :ns (noise-space) and :gan (the plain DCGAN); :nss is the default.
(--config.stabilizer.name=ss alone switches the scheme but keeps NSS's η and b₁.)
The paper trains on "about 200K" CelebA images, i.e. all of them, so 10 epochs are
15,828 steps; on the train split alone: --config.data_split=train
--config.num_train_steps=12716.
"""

from nssgan.paper_setups import CELEB_A_IMAGES, nss_paper_config


def get_config(variant: str = 'nss'):
    return nss_paper_config(
        dataset='celeb_a',
        num_examples=CELEB_A_IMAGES,
        epochs=10,
        variant=variant,
        config_file='configs/nss_celeba.py',
    )
