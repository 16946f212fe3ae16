"""The NSS paper's Hadamard experiment (§4.3) with the NSS representation at t = 8.

See nssgan/hadamard_experiment.py for the whole experiment and its plot.
"""

from nssgan.paper_setups import hadamard_config


def get_config():
    return hadamard_config('nss')
