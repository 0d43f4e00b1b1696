"""The recipe's FFT and banded product, loaded from scipy's extension modules by file, give
scipy's public API's bits, and the recipe imports no scipy package (its render workers start light)."""
import subprocess
import sys

import numpy as np
import pytest
import scipy.fft
import scipy.sparse

from aggregate.recipe import kernels
from aggregate.recipe.denoise import _triangle


@pytest.fixture(params=["scipy's extension modules", "scipy's public API (fallback)"])
def loaded(request, monkeypatch):
    if request.param.endswith("(fallback)"):
        monkeypatch.setattr(kernels, "_pocketfft", lambda: None)
        monkeypatch.setattr(kernels, "_sparsetools", lambda: None)
    else:
        assert kernels._pocketfft() is not None and kernels._sparsetools() is not None, \
            "scipy's pypocketfft or _sparsetools was not found where this scipy keeps it"
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("width, n", [(3072, None), (1024, 1024), (700, 1024), (1500, 1024)])
def test_rfft_and_irfft_are_scipys_bits(loaded, dtype, width, n):
    frames = np.random.default_rng(width).standard_normal((37, width)).astype(dtype)
    ours = kernels.rfft(frames, n=n)
    theirs = scipy.fft.rfft(frames, n=n, axis=-1)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    assert np.array_equal(ours, theirs)
    points = n or width
    assert np.array_equal(kernels.irfft(theirs, n=points), scipy.fft.irfft(theirs, n=points, axis=-1))


def test_irfft_refuses_a_wrong_number_of_bins():
    with pytest.raises(ValueError, match="513 bins"):
        kernels.irfft(np.zeros((2, 512), np.complex64), n=1024)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 300, 1079])
@pytest.mark.parametrize("taps", [1, 3, 15])
def test_band_product_is_scipy_sparse_diags_bits(loaded, n, taps):
    kernel = _triangle(taps // 2) if taps > 1 else np.ones(1)
    half = taps // 2
    offsets = range(-half, half + 1)
    reference = scipy.sparse.diags([np.full(n - abs(k), kernel[k + half]) for k in offsets if abs(k) < n],
                                   [k for k in offsets if abs(k) < n], shape=(n, n), format="csr",
                                   dtype=np.float32)
    rng = np.random.default_rng(n)
    band = kernels.band(n, kernel)
    mask = rng.random((n, 513), dtype=np.float32) ** 3
    assert np.array_equal(band @ mask, reference @ mask)
    transposed = rng.random((513, n), dtype=np.float32).T  # not contiguous, as the smoothing over bins passes it
    assert np.array_equal(band @ transposed, reference @ transposed)


def test_band_refuses_what_it_cannot_multiply():
    band = kernels.band(5, np.ones(3))
    with pytest.raises(ValueError, match="shape"):
        band @ np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match="dtype"):
        band @ np.zeros((5, 2), np.float64)
    with pytest.raises(ValueError, match="odd-length"):
        kernels.band(5, np.ones(4))


def test_the_recipe_imports_no_scipy_package():
    code = ("import sys; from aggregate.recipe import render_clip, load_clip, log_mel; "
            "from aggregate.recipe.denoise import reduce_noise; "
            "print(sorted(m for m in sys.modules if m == 'scipy' or m.startswith('scipy.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
