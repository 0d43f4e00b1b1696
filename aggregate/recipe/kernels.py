"""The two compiled routines the recipe takes from scipy, without importing scipy's packages.

``import scipy.fft`` and ``import scipy.sparse`` cost 0.2-0.3 s of CPU together (their
array-API layer imports numpy.testing, numpy.f2py and scipy.special), and every render
worker paid it: on a 400-clip render that was a tenth of what a second worker gains.
The recipe needs only pocketfft's real FFT (``scipy.fft._pocketfft.pypocketfft``) and the
sparse-times-dense product (``scipy.sparse._sparsetools.csr_matvecs``). This module loads
those two extension modules from scipy's folder by file name (1 ms) and calls them with
the arguments ``scipy.fft.rfft``/``irfft`` and ``csr_matrix @ array`` pass them, so the
results are the same bits (tests/test_features.py holds them to scipy's public API).
Where a later scipy moves them, the public API is used instead: slower to import, same values.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

_INVERSE_NORM = 2  # pocketfft's scaling code for "backward" normalisation on the inverse: 1/n


def _load(package: str, module: str):
    """scipy's extension module ``package/module`` loaded by itself, or None where it is not there."""
    spec = importlib.util.find_spec("scipy")  # finds the folder without importing scipy
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(spec.submodule_search_locations[0], *package.split("."))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"{module}{suffix}"
        if path.is_file():
            loader = importlib.machinery.ExtensionFileLoader(module, str(path))
            extension = importlib.util.module_from_spec(importlib.util.spec_from_loader(module, loader))
            try:
                loader.exec_module(extension)
            except ImportError:
                return None
            return extension
    return None


@lru_cache(maxsize=None)
def _pocketfft():
    module = _load("fft._pocketfft", "pypocketfft")
    return module if module is not None and hasattr(module, "r2c") and hasattr(module, "c2r") else None


@lru_cache(maxsize=None)
def _sparsetools():
    module = _load("sparse", "_sparsetools")
    return module if module is not None and hasattr(module, "csr_matvecs") else None


def rfft(x: np.ndarray, n: int | None = None) -> np.ndarray:
    """``scipy.fft.rfft(x, n, axis=-1)`` for a float32 or float64 array (complex64 or complex128 out)."""
    fft = _pocketfft()
    if fft is None:
        import scipy.fft

        return scipy.fft.rfft(x, n=n, axis=-1)
    x = np.asarray(x)
    if n is not None and n != x.shape[-1]:  # scipy's _fix_shape_1d: cut, or pad with zeros
        if n < x.shape[-1]:
            x = x[..., :n]
        else:
            padded = np.zeros(x.shape[:-1] + (n,), x.dtype)
            padded[..., : x.shape[-1]] = x
            x = padded
    return fft.r2c(x, (x.ndim - 1,), True, 0, None, 1)


def irfft(x: np.ndarray, n: int) -> np.ndarray:
    """``scipy.fft.irfft(x, n, axis=-1)`` for a complex64 or complex128 array of ``n // 2 + 1`` bins."""
    fft = _pocketfft()
    if fft is None:
        import scipy.fft

        return scipy.fft.irfft(x, n=n, axis=-1)
    if x.shape[-1] != n // 2 + 1:
        raise ValueError(f"irfft of {n} points needs {n // 2 + 1} bins, got {x.shape[-1]}")
    return fft.c2r(x, (x.ndim - 1,), n, False, _INVERSE_NORM, None, 1)


@dataclass(frozen=True)
class Band:
    """An (n, n) float32 matrix with ``kernel`` on its diagonals (a centred "same" convolution with
    zeros outside), stored as CSR with sorted columns: what ``scipy.sparse.diags(..., format="csr")``
    stores, so that its product sums each row's terms in the same order."""

    indptr: np.ndarray  # (n + 1,) int32
    indices: np.ndarray  # (nnz,) int32
    data: np.ndarray  # (nnz,) float32

    @property
    def n(self) -> int:
        return self.indptr.shape[0] - 1

    def __matmul__(self, x: np.ndarray) -> np.ndarray:
        """This matrix times a float32 (n, m) array: ``csr_matrix @ x``, as scipy computes it."""
        if x.ndim != 2 or x.shape[0] != self.n or x.dtype != np.float32:
            raise ValueError(f"Band of size {self.n} times an array of shape {x.shape} and dtype {x.dtype}")
        tools = _sparsetools()
        if tools is None:
            import scipy.sparse

            return scipy.sparse.csr_matrix((self.data, self.indices, self.indptr), shape=(self.n, self.n)) @ x
        out = np.zeros(x.shape, np.float32)
        tools.csr_matvecs(self.n, self.n, x.shape[1], self.indptr, self.indices, self.data, x.ravel(), out.ravel())
        return out


@lru_cache(maxsize=64)
def _band(n: int, kernel: tuple[float, ...]) -> Band:
    half = len(kernel) // 2
    weights = np.asarray(kernel, dtype=np.float32)
    rows = np.arange(n)
    first, stop = np.maximum(rows - half, 0), np.minimum(rows + half + 1, n)
    counts = stop - first
    indptr = np.zeros(n + 1, np.int32)
    np.cumsum(counts, out=indptr[1:])
    row_of = np.repeat(rows, counts)
    columns = np.repeat(first, counts) + np.arange(indptr[-1]) - np.repeat(indptr[:-1], counts)
    return Band(indptr, columns.astype(np.int32), weights[columns - row_of + half])


def band(n: int, kernel: np.ndarray) -> Band:
    """The (n, n) ``Band`` of an odd-length ``kernel`` (cached: a clip's size recurs)."""
    if kernel.ndim != 1 or kernel.shape[0] % 2 != 1:
        raise ValueError(f"a band needs an odd-length kernel, got shape {kernel.shape}")
    return _band(n, tuple(float(k) for k in kernel))
