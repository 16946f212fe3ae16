"""NSS-GAN (DCGAN-32) on the embedded scikit-learn digits: the README's first command.

Needs no download. On 2 CPU cores it draws recognisable digits within minutes. The
noisy scale-space anneals t from 256 to 0 over the first ~30% of training.
"""

from nssgan.paper_setups import digits_config


def get_config():
    return digits_config('nss')
