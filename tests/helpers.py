"""Small configs shared by the training tests."""

from nssgan.configs import base_config


def tiny_dcgan_config(**overrides):
    """DCGAN-32 on digits with 8-channel layers: compiles and runs in seconds."""
    config = base_config()
    config.dataset = 'digits'
    config.image_size = 32
    config.batch_size = 16
    config.num_train_steps = 4
    config.model.latent_dim = 16
    config.model.g_width = 8
    config.model.d_width = 8
    config.log_every = 2
    config.sample_every = 2
    config.checkpoint_every = 2
    config.num_samples = 16
    config.update(overrides)
    return config


def tiny_mlp_config(**overrides):
    """A small MLP GAN on the 8-Gaussian ring."""
    config = base_config()
    config.dataset = 'ring'
    config.batch_size = 32
    config.num_train_steps = 4
    config.model.name = 'mlp'
    config.model.latent_dim = 8
    config.model.mlp_hidden = (32, 32)
    config.log_every = 2
    config.sample_every = 2
    config.checkpoint_every = 2
    config.num_samples = 32
    config.update(overrides)
    return config
