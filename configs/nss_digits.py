"""NSS-GAN (DCGAN-32) on the embedded digits; SS/NS/none via --config.stabilizer.name.

The same run as configs/default.py, under the scheme's own name.
"""

from nssgan.paper_setups import digits_config


def get_config():
    return digits_config('nss')
