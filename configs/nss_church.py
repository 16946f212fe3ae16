"""NSS-GAN on LSUN Church outdoor (TFDS lsun/church_outdoor, train split: 126,227 images).

The NSS paper's final setup (§5.1, Table 2): DCGAN-64, non-saturating loss, batch
128, 10 epochs, Adam with η = 5e-4, b₁ = 0.3, b₂ = 0.999. Noisy scale-space with
T = 256, β = 20, σ = 0.15, the 3×3 binomial kernel, applied to half of each batch.
The ablations: --config.stabilizer.name=ss (scale-space) or =ns (noise-space); the
baseline DCGAN: --config.stabilizer.name=none.
"""

from nssgan.configs import nss_paper_config, scale_space_settings


def get_config():
    config = nss_paper_config(dataset='lsun/church_outdoor', num_examples=126_227, epochs=10,
                              learning_rate=5e-4, b1=0.3)
    config.stabilizer = scale_space_settings('nss')
    return config
