"""NSS-GAN on Oxford Flowers 102 (TFDS oxford_flowers102, all 8,189 images of train+validation+test).

The NSS paper's final setup (§5.1, Table 2): DCGAN-64, non-saturating loss, batch
128, 100 epochs, Adam with η = 5e-4, b₁ = 0.3, b₂ = 0.999. The noisy scale-space
scheme (T = 256, σ = 0.15) is selected here once it is registered; until then the
config trains the plain DCGAN baseline with the same optimizer settings.
"""

from nssgan.configs import nss_paper_config


def get_config():
    config = nss_paper_config(dataset='oxford_flowers102', num_examples=8_189, epochs=100,
                              learning_rate=5e-4, b1=0.3)
    config.stabilizer.name = 'none'
    return config
