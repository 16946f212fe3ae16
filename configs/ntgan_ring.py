"""Noise-tempered GAN on the embedded 2-D ring (8 Gaussians): the paper's appendix 6.1.

"MLPs consisting of three fully-connected layers with a hidden-layer size of 512", ReLU,
BatchNorm in all but the first D layer and the output layers, Adam with η = 1e-4,
"NTGAN using Gaussian noise": here two hidden layers of 512 (three Dense layers each),
BatchNorm in both G layers and in D's second, fixed noise ε ~ N(0, σ²I) with σ = 1 (the
paper gives no σ; 1 is Table 2 (d)'s), μ ~ U(0, 1), non-saturating loss, β₁ = 0.5,
batch 64, z ∈ R^100. The paper trains 20k iterations; NUM_STEPS = 6,000 keeps a run at
about 1 min 45 s on 2 (shared) CPU cores, as measured (20k: 6 min 40 s); the paper's
length: --config.num_train_steps=20000. Learned noise:
--config.stabilizer.noise_tempered.noise_model=learned_sigma, or =generator (an MLP noise
generator with hidden widths / 8). The plain GAN to compare with:
--config=configs/ntgan_ring.py:gan. No generator EMA (the authors' code, which
evaluates its image models on an EMA, has no ring experiment; the appendix plots the
generator's samples): --config.ema_decay=0.9999 --config.ema_schedule=dfgan to add it.
"""

from nssgan.base_config import base_config
from nssgan.paper_setups import check_variant

NUM_STEPS = 6_000


def get_config(variant: str = 'ntgan'):
    check_variant(variant, ('ntgan', 'gan'), 'configs/ntgan_ring.py')
    config = base_config()
    config.dataset = 'ring'
    config.batch_size = 64
    config.num_train_steps = NUM_STEPS
    config.loss = 'non_saturating'
    config.optimizer.g_lr = 1e-4
    config.optimizer.d_lr = 1e-4
    config.optimizer.b1 = 0.5
    config.optimizer.b2 = 0.999
    config.model.name = 'mlp'
    config.model.latent_dim = 100
    config.model.mlp_hidden = (512, 512)
    config.model.g_batchnorm = True
    config.model.d_norm = 'batch'
    config.stabilizer.name = 'noise_tempered' if variant == 'ntgan' else 'none'
    config.stabilizer.noise_tempered.update(
        noise_model='fixed', sigma=1.0, mu='uniform', batch='both'
    )
    config.log_every = 500
    config.sample_every = 2_000
    config.checkpoint_every = 2_000
    config.num_samples = 512
    return config
