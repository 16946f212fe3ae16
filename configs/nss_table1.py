"""The NSS paper's preliminary experiment (§5.2, Table 1): FID over the initial time T.

DCGAN-64 as in configs/nss_celeba.py, but with the paper's fixed (η, b₁), chosen so
that the plain DCGAN can be unstable: (2e-4, 0.4) for CelebA and LSUN Church, (5e-4,
0.3) for LSUN Conference, (5e-4, 0.4) for Oxford Flowers. One cell of the table per run:

    --config=configs/nss_table1.py:DATASET,SCHEME,T

with DATASET one of celeba, church, conference, flowers; SCHEME one of nss, ss, ns;
T one of the paper's 0, 32, 64, 128, 256 (T = 0 is the plain DCGAN, whatever the
scheme); e.g. --config=configs/nss_table1.py:church,ss,64. The default is
celeba,nss,256. The paper uses the 3×3 Gaussian kernel throughout; a sampled Gaussian
of width s: --config.stabilizer.<scheme>.kernel_sigma=s.
"""

from nssgan.paper_setups import CELEB_A_IMAGES, nss_paper_config

DATASETS = {  # name: (TFDS name, images, epochs, η, b₁)
    'celeba': ('celeb_a', CELEB_A_IMAGES, 10, 2e-4, 0.4),
    'church': ('lsun/church_outdoor', 126_227, 10, 2e-4, 0.4),
    'conference': ('lsun/conference_room', 229_069, 10, 5e-4, 0.3),
    'flowers': ('oxford_flowers102', 8_189, 100, 5e-4, 0.4),
}
SCHEMES = ('nss', 'ss', 'ns')
TIMES = (0, 32, 64, 128, 256)
USAGE = 'give DATASET,SCHEME,T, e.g. --config=configs/nss_table1.py:church,ss,64'


def get_config(cell: str = 'celeba,nss,256'):
    parts = cell.split(',')
    if len(parts) != 3 or parts[0] not in DATASETS or parts[1] not in SCHEMES:
        raise ValueError(
            f'unknown cell {cell!r}: {USAGE} (DATASET: {", ".join(DATASETS)}; '
            f'SCHEME: {", ".join(SCHEMES)}).'
        )
    name, scheme, time = parts
    if not time.isdigit() or int(time) not in TIMES:
        raise ValueError(f"unknown T {time!r} in {cell!r}: the paper's T are {TIMES}; {USAGE}.")
    dataset, images, epochs, learning_rate, b1 = DATASETS[name]
    config = nss_paper_config(
        dataset=dataset,
        num_examples=images,
        epochs=epochs,
        variant='gan' if int(time) == 0 else scheme,
        config_file='configs/nss_table1.py',
    )
    config.optimizer.g_lr = config.optimizer.d_lr = learning_rate
    config.optimizer.b1 = b1
    if int(time) > 0:
        for section in SCHEMES:  # So that switching the name keeps T.
            config.stabilizer[section].T = int(time)
    return config
