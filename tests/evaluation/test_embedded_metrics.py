"""The metrics of `nssgan.evaluation` that need no Inception weights.

Each metric is checked on real data of its dataset (near-perfect scores) and on
a degenerate generator (collapsed or constant samples: few modes, high KL,
large Fréchet distance). The digit classifier is trained once per session, at
32 px (the digits configs' resolution), into a temporary cache directory.
"""

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.stats

from nssgan import data, evaluation
from nssgan.data import digits as data_digits
from nssgan.evaluation import digit_classifier, digits, modes

from helpers import sqrtm_frechet

SIZE = 32


def real_batch(name, n, seed=0, image_size=SIZE):
    dataset = data.make_dataset(
        name, batch_size=n, image_size=image_size, seed=seed, process_index=0, process_count=1
    )
    return dataset.batch(0)['image']


@pytest.fixture(scope='session')
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp('nssgan-cache'))


@pytest.fixture(scope='session')
def classifier(cache_dir):
    return evaluation.load_classifier(SIZE, cache_dir=cache_dir)


# --- mode histograms --------------------------------------------------------------


def test_mode_statistics_rules():
    uniform = np.repeat(np.arange(8), 5)
    assert modes.mode_statistics(uniform, 8) == {
        'modes_covered': 8.0,
        'modes_hit': 8.0,
        'num_modes': 8.0,
        'kl_to_uniform': 0.0,
    }
    assert modes.kl_to_uniform([7, 0, 0, 0]) == pytest.approx(math.log(4))
    assert modes.kl_to_uniform([3, 3, 0, 0]) == pytest.approx(math.log(2))
    assert math.isnan(modes.kl_to_uniform([0, 0, 0]))
    # Covered: >= max(1, ceil(min_share * n / K)); 7 modes x 100 + 9 samples on an 8th.
    skewed = np.concatenate([np.repeat(np.arange(7), 100), np.full(9, 7)])
    assert modes.coverage_threshold(709, 8) == 9
    assert modes.mode_statistics(skewed, 8)['modes_covered'] == 8
    stats = modes.mode_statistics(skewed[:-1], 8)  # 8 samples < ceil(70.8 / 8) = 9
    assert (stats['modes_covered'], stats['modes_hit']) == (7, 8)
    assert modes.mode_statistics(skewed[:-1], 8, min_share=0.0)['modes_covered'] == 8
    with pytest.raises(ValueError, match='mode indices'):
        modes.mode_counts([8], 8)


# --- mixtures ---------------------------------------------------------------------


@pytest.mark.parametrize('name', ['ring', 'grid', 'submanifold7'])
def test_mixture_real_data_is_near_perfect(name):
    n = 4000
    metrics = evaluation.embedded_metrics(name, real_batch(name, n))
    num_modes = {'ring': 8, 'grid': 25, 'submanifold7': 7}[name]
    assert metrics['num_modes'] == metrics['modes_covered'] == num_modes
    # P(||eps|| <= 3 std) = 1 - exp(-4.5) = 0.9889 for a 2-D Gaussian (sd 0.0017).
    assert metrics['high_quality_fraction'] >= 0.95
    assert metrics['high_quality_fraction'] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    # The empirical KL of uniform data is ~(K - 1) / (2n) <= 0.003 here.
    assert 0 <= metrics['kl_to_uniform'] < 0.01


@pytest.mark.parametrize('name', ['ring', 'grid', 'submanifold7'])
def test_mixture_degenerate_generators(name):
    spec = data.dataset_spec(name, SIZE)
    centers, k = spec.centers, len(spec.centers)
    rng = np.random.default_rng(0)
    noise = 0.5 * spec.mode_std * rng.standard_normal((1000, centers.shape[1]))
    if name == 'submanifold7':  # stay in the data plane
        noise -= np.outer(noise.sum(axis=1) / 3, np.ones(3))
    collapsed = evaluation.embedded_metrics(name, centers[2] + noise)
    assert collapsed['high_quality_fraction'] == 1.0
    assert collapsed['modes_covered'] == collapsed['modes_hit'] == 1
    assert collapsed['kl_to_uniform'] == pytest.approx(math.log(k))
    two = np.concatenate([centers[0] + noise, centers[1] + noise])
    assert evaluation.embedded_metrics(name, two)['kl_to_uniform'] == pytest.approx(math.log(k / 2))
    # Between modes (the midpoint of two neighbouring centres): no sample is good.
    between = (centers[0] + centers[1]) / 2 + noise
    metrics = evaluation.embedded_metrics(name, between)
    assert metrics['high_quality_fraction'] == 0 and metrics['modes_covered'] == 0
    assert math.isnan(metrics['kl_to_uniform'])


def test_submanifold_quality_is_measured_in_3d():
    real = real_batch('submanifold7', 1000)
    normal = np.ones(3) / np.sqrt(3)
    off_plane = real + 0.05 * normal  # 5 std off the plane, on-plane position exact
    metrics = evaluation.embedded_metrics('submanifold7', off_plane)
    assert metrics['high_quality_fraction'] == 0


# --- Hadamard ---------------------------------------------------------------------


def test_wasserstein1_to_uniform_is_exact():
    w1 = evaluation.wasserstein1_to_uniform
    assert w1(np.zeros(3)) == pytest.approx(0.5)
    # A point mass at c: (1/2) int_{-1}^{1} |c - q| dq = ((1 + c)^2 + (1 - c)^2) / 4.
    assert w1(np.full(5, 0.6)) == pytest.approx((1.6**2 + 0.4**2) / 4)
    assert w1(np.array([-0.5, 0.5])) == pytest.approx(0.25)  # the exact quantiles' midpoints
    x = np.random.default_rng(0).normal(0.2, 0.4, size=(300, 2))
    grid = np.linspace(-1, 1, 400_001)  # a fine stand-in for U(-1, 1)
    for column in range(2):
        assert w1(x)[column] == pytest.approx(
            scipy.stats.wasserstein_distance(x[:, column], grid), abs=1e-5
        )


def test_hadamard_real_data_is_near_perfect():
    real = real_batch('hadamard', 10_000, image_size=8)
    metrics = evaluation.embedded_metrics('hadamard', real)
    for i in range(1, 9):
        assert abs(metrics[f'mean_B{i}']) < 0.03  # standard error 0.006
        assert metrics[f'std_B{i}'] == pytest.approx(1 / np.sqrt(3), abs=0.02)
        assert metrics[f'w1_B{i}'] < 0.02  # E[W1] = 0.006 for n = 10,000
    assert metrics['residual_energy'] < 1e-12 and metrics['residual_fraction'] < 1e-12


def test_hadamard_degenerate_generators():
    zeros = evaluation.embedded_metrics('hadamard', np.zeros((64, 8, 8)))
    assert zeros['w1_mean'] == pytest.approx(0.5) and zeros['std_B5_B8'] == 0
    # SS-like fakes: the four high-sequency coefficients shrunk to a fifth.
    rng = np.random.default_rng(0)
    alphas = rng.uniform(-1, 1, size=(4000, 8)) * np.repeat([1.0, 0.2], 4)
    shrunk = evaluation.embedded_metrics('hadamard', data.hadamard_images(alphas))
    assert shrunk['std_B5_B8'] == pytest.approx(0.2 / np.sqrt(3), abs=0.01)
    assert shrunk['w1_B1'] < 0.05 and min(shrunk[f'w1_B{i}'] for i in range(5, 9)) > 0.35
    # Pixel noise lies mostly outside the 8-D span: E[residual fraction] = 56 / 64.
    noise = evaluation.embedded_metrics('hadamard', rng.uniform(-1, 1, (4000, 8, 8, 1)))
    assert noise['residual_fraction'] == pytest.approx(56 / 64, abs=0.01)
    assert noise['residual_energy'] == pytest.approx(56 / 3, rel=0.02)


# --- Fréchet distance -------------------------------------------------------------


def random_covariance(rng, dim, eigenvalues):
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    return (q * eigenvalues) @ q.T


def frechet_cases():
    rng = np.random.default_rng(0)
    dim = 32
    yield (
        'well-conditioned',
        (
            rng.normal(size=dim),
            np.cov(rng.normal(size=(500, dim)).T),
            rng.normal(size=dim),
            np.cov(2 * rng.normal(size=(500, dim)).T),
        ),
    )
    yield (
        'ill-conditioned',
        (
            np.zeros(dim),
            random_covariance(rng, dim, np.logspace(-12, 2, dim)),
            np.ones(dim),
            random_covariance(rng, dim, np.logspace(-10, 1, dim)),
        ),
    )
    for n in (20, 5):  # fewer samples than dimensions: singular covariances
        f1 = rng.normal(size=(n, dim)) @ rng.normal(size=(dim, dim))
        f2 = 2 * rng.normal(size=(n, dim)) + 1
        yield (
            f'{n} samples',
            (*evaluation.gaussian_statistics(f1), *evaluation.gaussian_statistics(f2)),
        )


@pytest.mark.parametrize('case', list(frechet_cases()), ids=lambda case: case[0])
def test_frechet_distance_matches_scipy_and_is_symmetric(case):
    mu1, sigma1, mu2, sigma2 = case[1]
    scale = np.trace(sigma1) + np.trace(sigma2)
    d2 = evaluation.frechet_distance(mu1, sigma1, mu2, sigma2)
    assert d2 == pytest.approx(sqrtm_frechet(mu1, sigma1, mu2, sigma2), abs=1e-7 * scale)
    assert evaluation.frechet_distance(mu2, sigma2, mu1, sigma1) == pytest.approx(
        d2, rel=1e-12, abs=1e-12 * scale
    )
    assert 0 <= evaluation.frechet_distance(mu1, sigma1, mu1, sigma1) < 1e-9 * scale


def test_frechet_distance_low_rank_against_an_exact_form():
    # Sigma1 = B B^T with B [40, 9] (10 samples in 40-D, centred: rank 9), so
    # tr (Sigma1^1/2 Sigma2 Sigma1^1/2)^1/2 = sum sqrt(eig(B^T Sigma2 B)), 9 x 9.
    rng = np.random.default_rng(1)
    f1 = rng.normal(size=(10, 40)) * np.linspace(0.1, 3, 40)
    mu1, sigma1 = evaluation.gaussian_statistics(f1)
    mu2, sigma2 = np.zeros(40), random_covariance(rng, 40, np.linspace(0.5, 2, 40))
    u, s, _ = np.linalg.svd((f1 - mu1).T / 3.0, full_matrices=False)  # sqrt(n - 1) = 3
    b = u[:, :9] * s[:9]
    cross = np.sqrt(np.linalg.eigvalsh(b.T @ sigma2 @ b)).sum()
    exact = mu1 @ mu1 + np.trace(sigma1) + np.trace(sigma2) - 2 * cross
    assert evaluation.frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(exact, rel=1e-12)
    # scipy's sqrtm of the singular product is ~1e-8 off here.
    assert sqrtm_frechet(mu1, sigma1, mu2, sigma2) == pytest.approx(exact, rel=1e-6)


def test_frechet_distance_closed_forms():
    # 1-D: (mu1 - mu2)^2 + (s1 - s2)^2; commuting (diagonal) covariances likewise.
    assert evaluation.frechet_distance([1.0], [[4.0]], [-1.0], [[9.0]]) == pytest.approx(5.0)
    a, b = np.array([1.0, 4.0, 0.0]), np.array([9.0, 1.0, 2.0])
    assert evaluation.frechet_distance(
        np.zeros(3), np.diag(a), np.zeros(3), np.diag(b)
    ) == pytest.approx(np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
    with pytest.raises(ValueError, match='dimensions'):
        evaluation.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


# --- the digit classifier ---------------------------------------------------------


def test_classifier_accuracy_and_cache(classifier, cache_dir, monkeypatch, tmp_path):
    assert classifier.test_accuracy >= 0.95  # measured 0.986 (354 of 359 held-out digits)
    _, test = digit_classifier.train_test_split(data_digits.load_digits(SIZE)[1])
    assert len(test) == 359
    path = digit_classifier.cache_path(SIZE, cache_dir)
    assert path.endswith(f'digit_classifier_{digit_classifier.CLASSIFIER_VERSION}_32px.npz')
    # A fresh process (memo cleared) loads the file instead of training.
    digit_classifier._load_or_train.cache_clear()
    monkeypatch.setattr(
        digit_classifier,
        'train_classifier',
        lambda size: pytest.fail('retrained despite the cache'),
    )
    reloaded = evaluation.load_classifier(SIZE, cache_dir=cache_dir)
    assert reloaded.test_accuracy == classifier.test_accuracy
    images = data_digits.load_digits(SIZE)[0][:50]
    np.testing.assert_array_equal(reloaded.predict(images)[0], classifier.predict(images)[0])
    # A file that does not fit the network, or is no npz, is ignored.
    assert digit_classifier._load(path, 16) is None
    (tmp_path / 'junk.npz').write_text('junk')
    assert digit_classifier._load(str(tmp_path / 'junk.npz'), SIZE) is None
    monkeypatch.setenv('NSSGAN_CACHE', '/somewhere')
    assert digit_classifier.cache_path(8) == (
        f'/somewhere/digit_classifier_{digit_classifier.CLASSIFIER_VERSION}_8px.npz'
    )


def test_digits_real_data_is_near_perfect(classifier, cache_dir):
    images, labels = data_digits.load_digits(SIZE)
    metrics = evaluation.embedded_metrics('digits', images, cache_dir=cache_dir)
    assert metrics['classifier_accuracy'] == classifier.test_accuracy
    assert metrics['modes_covered'] == metrics['num_modes'] == 10
    assert metrics['confident_fraction'] >= 0.95  # measured 0.99
    assert metrics['kl_to_uniform'] < 0.01  # classes hold 174-183 images: KL 0.0002
    assert metrics['frechet_distance'] < 1e-3  # the reference is these very images
    # Disjoint halves (898 / 899 images): measured 6.2, against ~1,000 for collapse.
    perm = np.random.default_rng(0).permutation(len(images))
    half1, half2 = (classifier.predict(images[p])[1] for p in np.split(perm, [898]))
    assert evaluation.frechet_distance_from_features(half1, half2) < 20
    assert (
        evaluation.embedded_metrics('digits', images[perm[:898]], cache_dir=cache_dir)[
            'frechet_distance'
        ]
        < 10
    )


def test_digits_degenerate_generators(cache_dir):
    images, labels = data_digits.load_digits(SIZE)
    one_class = evaluation.embedded_metrics('digits', images[labels == 3], cache_dir=cache_dir)
    assert one_class['modes_covered'] == 1
    assert one_class['kl_to_uniform'] > math.log(10) - 0.1
    assert one_class['frechet_distance'] > 500  # measured 980
    constant = evaluation.embedded_metrics(
        'digits', np.full((200, SIZE, SIZE, 1), -1.0), cache_dir=cache_dir
    )
    assert constant['modes_covered'] <= 1 and constant['frechet_distance'] > 500
    if constant['modes_hit']:
        assert constant['kl_to_uniform'] == pytest.approx(math.log(10))


def test_color_digits(classifier, cache_dir):
    real = real_batch('color_digits', 10_000, seed=1)
    metrics = evaluation.embedded_metrics('color_digits', real, cache_dir=cache_dir)
    assert metrics['num_modes'] == 1000
    # ~9.4 confident samples per mode: a mode or two may be empty by chance.
    assert metrics['modes_covered'] >= 990  # measured 999
    assert metrics['confident_fraction'] >= 0.9  # ~0.99^3
    assert metrics['kl_to_uniform'] < 0.1  # bias (K - 1) / 2n = 0.053; measured 0.056
    assert metrics['frechet_distance'] < 10  # measured 2.1
    # Two disjoint real sets of 5,000.
    features = [digits.classify(classifier, x)[2] for x in np.split(real, 2)]
    assert evaluation.frechet_distance_from_features(*features) < 30  # measured 10.7
    # Collapse: one triple; grey digits (R = G = B): 10 modes, correlated channels.
    single = np.repeat(np.repeat(real[:1, ..., :1], 3, axis=-1), 500, axis=0)
    collapsed = evaluation.embedded_metrics('color_digits', single, cache_dir=cache_dir)
    assert collapsed['modes_covered'] == 1
    assert collapsed['kl_to_uniform'] == pytest.approx(math.log(1000))
    assert collapsed['frechet_distance'] > 1000  # measured 4,700
    grey = evaluation.embedded_metrics(
        'color_digits', np.repeat(real[:2000, ..., :1], 3, axis=-1), cache_dir=cache_dir
    )
    assert grey['modes_covered'] <= 10 and grey['kl_to_uniform'] > math.log(100) - 0.1
    assert grey['frechet_distance'] > 1000  # measured 2,300


# --- the entry point --------------------------------------------------------------


def test_embedded_metrics_rejects_what_it_cannot_score():
    for name in ('photo_patches', 'cifar10', 'nonsense'):
        with pytest.raises(
            ValueError, match='It scores hadamard, digits, color_digits, ring, grid, submanifold7'
        ):
            evaluation.embedded_metrics(name, np.zeros((4, 8, 8, 3)))
    with pytest.raises(ValueError, match=r'\[N, 32, 32, 1\]'):
        evaluation.embedded_metrics('digits', np.zeros((4, 32, 32, 3)))
    with pytest.raises(ValueError, match='image_size=16'):
        evaluation.embedded_metrics('digits', np.zeros((4, 32, 32, 1)), image_size=16)
    with pytest.raises(data.DatasetError, match='exactly 8'):
        evaluation.embedded_metrics('hadamard', np.zeros((4, 16, 16, 1)))
    with pytest.raises(ValueError, match=r'\[N > 0, 2\]'):
        evaluation.embedded_metrics('ring', np.zeros((4, 3)))
