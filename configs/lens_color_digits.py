"""DCGAN with a lens on the embedded Color-MNIST-like digits (lens paper §4.1.2).

The lens paper (Sajjadi et al. 2018) trains DCGAN with and without a lens on Color
MNIST: three random digits stacked as R, G, B (1,000 modes), 32×32 px, the
non-saturating loss, BatchNorm in G and D, Adam, batches of 32 and 64 (§2.4, §4.1.2,
Fig. 6, Fig. 9). Here `color_digits` stacks scikit-learn's 8×8 digits the same way,
so it runs without a download.

A run takes about 4 minutes on 2 CPU cores (measured 3 min 42 s, 700 steps, with the
cores shared with other jobs, load ≈ 4), hence three departures from the paper, each a
command-line override away:
* a 16-channel lens (8 residual blocks, as in Fig. 4): the 64-channel default costs
  ~5 s per step on 2 cores (--config.stabilizer.lens.features=64);
* 700 generator steps and K = 250, so λ_t reaches 0 early and G spends the rest of
  the run on the plain GAN, as after the paper's K = 10k
  (--config.num_train_steps, --config.stabilizer.lens.K);
* DCGAN-32 with width 32 and η = 2e-4 for G, D and the lens (the paper: η = 1e-4 for
  every network over 10⁵-step runs; --config.optimizer.g_lr/d_lr,
  --config.stabilizer.lens.lr).
Batch 32 (one of the paper's two), Adam b₁ = 0.5, b₂ = 0.999 (DCGAN's). The baseline
without a lens: --config=configs/lens_color_digits.py:none (the same seed gives G and D
the same initial weights, as in the paper's comparisons).
"""

from nssgan.base_config import base_config
from nssgan.paper_setups import check_variant


def get_config(variant: str = 'lens'):
    check_variant(variant, ('lens', 'none'), 'configs/lens_color_digits.py')
    config = base_config()
    config.dataset = 'color_digits'
    config.image_size = 32
    config.batch_size = 32
    config.num_train_steps = 700
    config.loss = 'non_saturating'
    config.optimizer.g_lr = 2e-4
    config.optimizer.d_lr = 2e-4
    config.model.name = 'dcgan'
    config.model.g_width = 32
    config.model.d_width = 32
    config.stabilizer.name = variant
    config.stabilizer.lens.update(K=250, features=16, lr=2e-4)
    config.log_every = 100
    config.sample_every = 100
    config.checkpoint_every = 350
    return config
