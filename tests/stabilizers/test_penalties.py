"""The gradient-based stabilizers as pure functions: analytic cases, gradient checks,
Theorem 6 of the PGN paper, and parity with the authors' formulas in PyTorch."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from nssgan import stabilizers
from nssgan.stabilizers import gradient_normalization, gradients, penalties

# Analytic cases: a linear D, ∇ₓψ = w for every sample, and a quadratic D, ∇ₓψ = A x.

DIM = 6


def _linear(seed=0):
    rng = np.random.default_rng(seed)
    w = jnp.asarray(rng.standard_normal(DIM), jnp.float32)
    b = 0.3
    return w, (lambda x: x.reshape(x.shape[0], -1) @ w + b)


def _quadratic(seed=0):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((DIM, DIM))
    a = jnp.asarray((m + m.T) / 2, jnp.float32)
    return a, (lambda x: 0.5 * jnp.einsum('ni,ij,nj->n', x, a, x))


def _batch(seed, n=5, shape=(DIM,)):
    return jnp.asarray(np.random.default_rng(seed).standard_normal((n, *shape)), jnp.float32)


def test_input_gradients_are_per_sample_and_checked():
    a, d_fn = _quadratic()
    x = _batch(1)
    logits, grads = gradients.logits_and_input_gradients(d_fn, x)
    np.testing.assert_allclose(logits, d_fn(x), rtol=1e-6)
    np.testing.assert_allclose(grads, x @ a, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='one logit per sample'):
        gradients.input_gradients(lambda x: x, x)


def test_safe_norm_has_zero_gradient_at_zero():
    g = jax.grad(lambda v: jnp.sum(gradients.norms(v)))(jnp.zeros((2, 3)))
    assert np.all(np.isfinite(g)) and np.all(g == 0)
    np.testing.assert_allclose(gradients.norms(jnp.array([[3.0, 4.0]])), [5.0])


def test_roth_penalty_linear_and_quadratic():
    w, d_fn = _linear()
    real, fake = _batch(1), _batch(2)
    sq = float(jnp.sum(w**2))
    expected = np.mean(
        (1 - jax.nn.sigmoid(d_fn(real))) ** 2 * sq + jax.nn.sigmoid(d_fn(fake)) ** 2 * sq
    )
    np.testing.assert_allclose(stabilizers.roth_penalty(d_fn, real, fake), expected, rtol=1e-5)
    a, d_fn = _quadratic()
    g_real, g_fake = real @ a, fake @ a
    expected = np.mean(
        (1 - jax.nn.sigmoid(d_fn(real))) ** 2 * np.sum(g_real**2, 1)
        + jax.nn.sigmoid(d_fn(fake)) ** 2 * np.sum(g_fake**2, 1)
    )
    np.testing.assert_allclose(stabilizers.roth_penalty(d_fn, real, fake), expected, rtol=1e-5)


def test_r1_penalty_linear_and_quadratic():
    w, d_fn = _linear()
    real = _batch(1)
    np.testing.assert_allclose(stabilizers.r1_penalty(d_fn, real), jnp.sum(w**2), rtol=1e-5)
    a, d_fn = _quadratic()
    np.testing.assert_allclose(
        stabilizers.r1_penalty(d_fn, real), np.mean(np.sum((real @ a) ** 2, 1)), rtol=1e-5
    )


def test_wgan_gp_and_dragan_linear_and_quadratic():
    key = jax.random.PRNGKey(3)
    real, fake = _batch(1), _batch(2)
    w, d_fn = _linear()
    expected = (float(jnp.linalg.norm(w)) - 1) ** 2
    np.testing.assert_allclose(
        stabilizers.wgan_gp_penalty(d_fn, real, fake, key), expected, rtol=1e-5
    )
    np.testing.assert_allclose(stabilizers.dragan_penalty(d_fn, real, key), expected, rtol=1e-5)
    a, d_fn = _quadratic()
    for points, value in (
        (
            penalties.wgan_gp_points(key, real, fake),
            stabilizers.wgan_gp_penalty(d_fn, real, fake, key),
        ),
        (penalties.dragan_points(key, real), stabilizers.dragan_penalty(d_fn, real, key)),
    ):
        norms = np.linalg.norm(np.asarray(points) @ np.asarray(a), axis=1)
        np.testing.assert_allclose(value, np.mean((norms - 1) ** 2), rtol=1e-5)


def test_wgan_gp_points_lie_on_segments_with_uniform_alpha():
    real, fake = _batch(1, n=4000), _batch(2, n=4000)
    points = penalties.wgan_gp_points(jax.random.PRNGKey(0), real, fake)
    alpha = np.asarray((points - real)[:, 0] / (fake - real)[:, 0])
    # Every coordinate of a sample uses the same α.
    np.testing.assert_allclose(
        (points - real) / (fake - real), alpha[:, None] * np.ones((1, DIM)), rtol=1e-3, atol=1e-3
    )
    # U[0, 1): mean ½ and variance 1/12 within 5 standard errors.
    assert abs(alpha.mean() - 0.5) < 5 * np.sqrt(1 / 12 / alpha.size)
    assert abs(alpha.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / alpha.size)
    assert alpha.min() >= 0 and alpha.max() < 1


def test_dragan_points_stay_within_half_a_batch_std():
    real = _batch(1, n=256, shape=(4, 4, 3))
    points = penalties.dragan_points(jax.random.PRNGKey(0), real)
    delta = np.asarray(points - real)
    # x̂ − x = α·0.5·std(x)·u with α, u in [0, 1): non-negative, below 0.5·std.
    assert delta.min() >= 0 and delta.max() < 0.5 * float(jnp.std(real))


def test_flip_and_translate_moves_one_pixel_as_drawn():
    n, size = 400, 10
    images = jnp.zeros((n, size, size, 1)).at[:, 4, 3, 0].set(1.0)
    out = np.asarray(penalties.flip_and_translate(jax.random.PRNGKey(0), images, fill=0.0))
    rows, cols = [], []
    for image in out[..., 0]:
        (i,), (j,) = np.nonzero(image)  # the pixel is never shifted out (|shift| ≤ 2)
        rows.append(i - 4)
        cols.append(j)
    # Rows: shift in [−2, 2] (20% of 10), each value drawn.
    assert sorted(set(rows)) == [-2, -1, 0, 1, 2]
    # Columns: 3 + dx unflipped, 6 + dx flipped (10 − 1 − 3), both about half the time.
    flipped = np.mean(np.asarray(cols) >= 5)
    assert set(cols) <= set(range(1, 9)) and abs(flipped - 0.5) < 0.1
    assert out.sum() == n
    # The uncovered border takes the fill value (−1, black in [−1, 1], by default).
    filled = np.asarray(penalties.flip_and_translate(jax.random.PRNGKey(0), images))
    assert np.all(np.isin(filled, [-1.0, 0.0, 1.0])) and np.any(filled == -1.0)


def test_consistency_penalty_matches_its_definition():
    key = jax.random.PRNGKey(1)
    images = _batch(1, n=8, shape=(8, 8, 3))
    w = jnp.asarray(np.random.default_rng(2).standard_normal((8, 8, 3)), jnp.float32)
    d_fn = lambda x: jnp.einsum('nhwc,hwc->n', x, w)  # noqa: E731
    augmented = penalties.flip_and_translate(key, images)
    expected = np.mean((np.asarray(d_fn(augmented)) - np.asarray(d_fn(images))) ** 2)
    np.testing.assert_allclose(
        stabilizers.consistency_penalty(d_fn, images, key), expected, rtol=1e-5
    )
    with pytest.raises(ValueError, match='NHWC'):
        stabilizers.consistency_penalty(d_fn, images.reshape(8, -1), key)


@pytest.mark.parametrize('variant', gradient_normalization.VARIANTS)
def test_gradient_normalize_linear(variant):
    w, d_fn = _linear()
    x = _batch(1)
    f = np.asarray(d_fn(x))
    w = np.asarray(w)
    expected = {
        'gn': f / (np.linalg.norm(w) + np.abs(f)),
        'pgn': (1 - f) / (np.linalg.norm(1 - w) + np.abs(1 - f)),
        'pgn_theory': (1 - f) / (np.linalg.norm(w) + np.abs(1 - f)),
    }[variant]
    out = stabilizers.gradient_normalize(d_fn, variant)(x)
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    assert np.all(np.abs(out) <= 1)


def test_gradient_normalize_rejects_unknown_variant():
    with pytest.raises(ValueError, match="variant='sn'.*pgn, pgn_theory, gn"):
        stabilizers.gradient_normalize(lambda x: x[:, 0], 'sn')


# A small smooth network (tanh) for gradient checks, a ReLU one for Theorem 6.


def _mlp_params(seed, sizes=(DIM, 8, 8, 1)):
    rng = np.random.default_rng(seed)
    return [
        (
            jnp.asarray(rng.standard_normal((m, n)) / np.sqrt(m)),
            jnp.asarray(0.1 * rng.standard_normal(n)),
        )
        for m, n in zip(sizes[:-1], sizes[1:])
    ]


def _mlp(params, x, activation=jnp.tanh):
    h = x.reshape(x.shape[0], -1)
    for i, (w, b) in enumerate(params):
        h = h @ w + b
        if i < len(params) - 1:
            h = activation(h)
    return h[:, 0]


PENALTY_FNS = {
    'roth': lambda d_fn, real, fake, key: stabilizers.roth_penalty(d_fn, real, fake),
    'r1': lambda d_fn, real, fake, key: stabilizers.r1_penalty(d_fn, real),
    'wgan_gp': stabilizers.wgan_gp_penalty,
    'dragan': lambda d_fn, real, fake, key: stabilizers.dragan_penalty(d_fn, real, key),
    'cr': lambda d_fn, real, fake, key: stabilizers.consistency_penalty(
        d_fn, real.reshape(-1, 2, 3, 1), key
    ),
    'gn': lambda d_fn, real, fake, key: jnp.sum(
        stabilizers.gradient_normalize(d_fn, 'gn')(real) ** 2
    ),
    'pgn': lambda d_fn, real, fake, key: jnp.sum(
        stabilizers.gradient_normalize(d_fn, 'pgn')(fake) ** 2
    ),
}


@pytest.mark.parametrize('name', PENALTY_FNS)
def test_penalty_gradients_with_respect_to_parameters(name):
    """Training differentiates each penalty w.r.t. D's parameters: second-order
    autodiff through ∇ₓD, checked against finite differences in float64."""
    with jax.enable_x64(True):
        params = jax.tree.map(lambda a: a.astype(jnp.float64), _mlp_params(0))
        real = _batch(1).astype(jnp.float64)
        fake = _batch(2).astype(jnp.float64)
        key = jax.random.PRNGKey(0)

        def penalty(params):
            return PENALTY_FNS[name](functools.partial(_mlp, params), real, fake, key)

        check_grads(penalty, (params,), order=2, modes=['rev'], atol=1e-6, rtol=1e-5)


def test_pgn_theory_gradient_norm_is_bounded_for_relu_networks():
    """Theorem 6: ‖∇ₓf̂‖ ≤ 1 for a piecewise-linear f (a random ReLU MLP)."""
    for seed in range(3):
        params = _mlp_params(seed, sizes=(DIM, 32, 32, 1))
        params = [(3.0 * w, b) for w, b in params]  # large gradients, to test the bound
        f_hat = stabilizers.gradient_normalize(
            functools.partial(_mlp, params, activation=jax.nn.relu), 'pgn_theory'
        )
        x = _batch(seed + 10, n=512)
        norms = np.asarray(gradients.norms(gradients.input_gradients(f_hat, x)))
        assert norms.max() <= 1 + 1e-5
        assert norms.max() > 0.5  # the bound is not met trivially


# Parity with the authors' code: the same tiny network and weights in PyTorch, the
# formulas as published (GNGAN-PyTorch / EDGAN-PyTorch gradnorm.py, rothk's
# Discriminator_Regularizer, GAN_stability's compute_grad2), compared on the values
# and on the parameter gradients (double backprop).


def _torch_setup():
    torch = pytest.importorskip('torch')
    params = _mlp_params(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(DIM, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 1),
    ).double()
    with torch.no_grad():
        for layer, (w, b) in zip(net[::2], params):
            layer.weight.copy_(torch.from_numpy(np.asarray(w, np.float64).T))
            layer.bias.copy_(torch.from_numpy(np.asarray(b, np.float64)))
    return torch, net, params


def _torch_input(torch, x):
    return torch.from_numpy(np.asarray(x, np.float64)).requires_grad_(True)


def _torch_gn(torch, net, x):
    """GNGAN-PyTorch's normalize_gradient."""
    x.requires_grad_(True)
    f = net(x)
    grad = torch.autograd.grad(f, [x], torch.ones_like(f), create_graph=True, retain_graph=True)[0]
    grad_norm = torch.norm(torch.flatten(grad, start_dim=1), p=2, dim=1)
    grad_norm = grad_norm.view(-1, *[1 for _ in range(len(f.shape) - 1)])
    return f / (grad_norm + torch.abs(f))


def _torch_pgn(torch, net, x):
    """EDGAN-PyTorch's PGN: (1 − f) / (‖1 − ∇f‖ + |1 − f|)."""
    x.requires_grad_(True)
    f = net(x)
    grad = torch.autograd.grad(f, [x], torch.ones_like(f), create_graph=True, retain_graph=True)[0]
    grad_norm = torch.norm(torch.flatten(1 - grad, start_dim=1), p=2, dim=1)
    grad_norm = grad_norm.view(-1, *[1 for _ in range(len(f.shape) - 1)])
    return (1 - f) / (grad_norm + torch.abs(1 - f))


def _torch_roth(torch, net, real, fake):
    """rothk/Stabilizing_GANs' Discriminator_Regularizer, in PyTorch."""
    d1_logits, d2_logits = net(real), net(fake)
    d1, d2 = torch.sigmoid(d1_logits), torch.sigmoid(d2_logits)
    g1 = torch.autograd.grad(d1_logits.sum(), real, create_graph=True)[0]
    g2 = torch.autograd.grad(d2_logits.sum(), fake, create_graph=True)[0]
    n1 = torch.norm(g1.reshape(g1.shape[0], -1), dim=1, keepdim=True)
    n2 = torch.norm(g2.reshape(g2.shape[0], -1), dim=1, keepdim=True)
    return torch.mean((1.0 - d1) ** 2 * n1**2 + d2**2 * n2**2)


def _torch_r1(torch, net, real):
    """GAN_stability's compute_grad2(d_out, x_in).mean()."""
    d_out = net(real)
    grad = torch.autograd.grad(d_out.sum(), real, create_graph=True)[0]
    return grad.pow(2).reshape(real.shape[0], -1).sum(1).mean()


@pytest.mark.parametrize('name', ['gn', 'pgn', 'roth', 'r1'])
def test_parity_with_reference_pytorch(name):
    torch, net, params = _torch_setup()
    real_np, fake_np = _batch(1), _batch(2)
    real, fake = _torch_input(torch, real_np), _torch_input(torch, fake_np)
    if name in ('gn', 'pgn'):
        out = (_torch_gn if name == 'gn' else _torch_pgn)(torch, net, real)
        value = out.sum()
    elif name == 'roth':
        value = out = _torch_roth(torch, net, real, fake)
    else:
        value = out = _torch_r1(torch, net, real)
    value.backward()
    # A parameter the value does not depend on (R1: the last bias) has no grad.
    torch_grads = [
        tuple(
            np.zeros(p.shape) if p.grad is None else p.grad.numpy()
            for p in (layer.weight, layer.bias)
        )
        for layer in net[::2]
    ]
    torch_grads = [(w.T, b) for w, b in torch_grads]

    with jax.enable_x64(True):
        params = jax.tree.map(lambda a: a.astype(jnp.float64), params)
        real_j, fake_j = (jnp.asarray(a, jnp.float64) for a in (real_np, fake_np))

        def ours(params):
            d_fn = functools.partial(_mlp, params)
            if name in ('gn', 'pgn'):
                return stabilizers.gradient_normalize(d_fn, name)(real_j)
            if name == 'roth':
                return stabilizers.roth_penalty(d_fn, real_j, fake_j)
            return stabilizers.r1_penalty(d_fn, real_j)

        result = ours(params)
        grads = jax.grad(lambda p: jnp.sum(ours(p)))(params)
    np.testing.assert_allclose(
        np.asarray(result).ravel(), out.detach().numpy().ravel(), rtol=1e-10, atol=1e-12
    )
    for (gw, gb), (tw, tb) in zip(grads, torch_grads):
        np.testing.assert_allclose(gw, tw, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(gb, tb, rtol=1e-9, atol=1e-12)
