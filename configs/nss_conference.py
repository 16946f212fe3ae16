"""NSS-GAN on LSUN Conference room (TFDS lsun/conference_room, train split: 229,069 images).

The NSS paper's final setup (§5.1, Table 2): DCGAN-64, non-saturating loss, batch
128, 10 epochs, Adam with η = 5e-4, b₁ = 0.3, b₂ = 0.999. The noisy scale-space
scheme (T = 256, σ = 0.15) is selected here once it is registered; until then the
config trains the plain DCGAN baseline with the same optimizer settings.
"""

from nssgan.configs import nss_paper_config


def get_config():
    config = nss_paper_config(dataset='lsun/conference_room', num_examples=229_069, epochs=10,
                              learning_rate=5e-4, b1=0.3)
    config.stabilizer.name = 'none'
    return config
