"""PGN-GAN on STL-10 (TFDS stl10, the 100k unlabelled images resized to 48 px, 500k steps).

The PGN paper's unconditional setup, run as GNGAN-PyTorch's configs (which the
paper's code, sumorday/EDGAN-PyTorch, shares): see `nssgan.paper_setups.gngan_config`.
Choose the architecture after a colon: `--config=configs/pgn_stl10.py:cnn` (default),
`:resnet`, `:cnn_cr`, `:resnet_cr`. The loss is the hinge loss, as the paper's text
says; add `_bce` (e.g. `:cnn_bce`) for the BCE loss of GNGAN-PyTorch's CNN config files,
which the paper's code shares. GN-GAN instead of PGN:
`--config.stabilizer.name=gn`; PGN as in the paper's Theorem 6 (‖∇ₓf̂‖ ≤ 1):
`--config.stabilizer.name=pgn_theory`.
"""

from nssgan.paper_setups import gngan_config


def get_config(arch: str = 'cnn'):
    return gngan_config(dataset='stl10', image_size=48, arch=arch)
