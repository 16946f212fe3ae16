"""NSS-GAN on LSUN Church outdoor (TFDS lsun/church_outdoor, train split: 126,227 images).

The NSS paper's final setup (§5.1, Table 2): DCGAN-64, non-saturating loss, batch
128, 10 epochs, Adam with η = 5e-4, b₁ = 0.3, b₂ = 0.999. The noisy scale-space
scheme (T = 256, σ = 0.15) is selected here once it is registered; until then the
config trains the plain DCGAN baseline with the same optimizer settings.
"""

from nssgan.configs import nss_paper_config


def get_config():
    config = nss_paper_config(dataset='lsun/church_outdoor', num_examples=126_227, epochs=10,
                              learning_rate=5e-4, b1=0.3)
    config.stabilizer.name = 'none'
    return config
