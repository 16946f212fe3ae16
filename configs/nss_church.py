"""NSS-GAN on LSUN Church outdoor (TFDS lsun/church_outdoor, train split: 126,227 images).

The NSS paper's final setup (§5.1, Table 2): DCGAN-64, non-saturating loss, batch
128, 10 epochs, Adam with η = 5e-4, b₁ = 0.3, b₂ = 0.999. Noisy scale-space with
T = 256, β = 20, σ = 0.15, the 3×3 binomial kernel, applied to half of each batch.
The ablations, each with its own Table 2 column of η and b₁: --config=configs/nss_church.py:ss
(scale-space), :ns (noise-space) and :gan (the plain DCGAN); :nss is the default.
(--config.stabilizer.name=ss alone switches the scheme but keeps NSS's η and b₁.)
"""

from nssgan.paper_setups import nss_paper_config


def get_config(variant: str = 'nss'):
    return nss_paper_config(
        dataset='lsun/church_outdoor',
        num_examples=126_227,
        epochs=10,
        variant=variant,
        config_file='configs/nss_church.py',
    )
