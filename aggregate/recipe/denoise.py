"""Spectral-gating noise reduction: noisereduce's non-stationary algorithm, made fast."""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import scipy.sparse
from scipy.fft import irfft, rfft

from .config import FeatureConfig
from .filters import window as periodic_window

# ---------------------------------------------------------------------------
# Noise reduction: noisereduce's non-stationary spectral gating, reimplemented.
#
# Same algorithm and parameters as noisereduce.reduce_noise(y, sr) (3.0): an STFT,
# a per-bin noise floor from a forward-backward one-pole low-pass over time, a
# sigmoid mask of how far each bin rises above it, the mask smoothed over ~500 Hz
# x 50 ms, the masked STFT inverted. What noisereduce spends and we do not:
#   - float64 everywhere; float32 changes the signal by ~1e-7;
#   - its 30,000 zero samples of padding on each side and a short clip's zero
#     tail: frames there are all zeros, so are their STFT and their output. We
#     transform only frames that touch a non-zero sample; the noise floor over
#     the zero frames follows in closed form;
#   - the low-pass as a frame-by-frame recursion (scipy's lfilter): we run it as
#     small matrix products over blocks of frames, carrying the state between;
#   - a 2-D FFT convolution to smooth the mask, whose kernel is separable: two
#     banded sparse matrix products instead (``band``).
# Where noisereduce divides 0 by 0 (a bin that is zero throughout, e.g. a silent
# clip) and returns NaN, we treat the bin as far below its floor: mask ~0.
# ---------------------------------------------------------------------------

_BLOCK = 32  # frames per block of the low-pass: small matrix products beat longer ones here (measured)


@dataclass(frozen=True)
class _GatePlan:
    window: np.ndarray  # (win_length,) float32, periodic Hann as scipy.signal.stft uses
    time_kernel: np.ndarray | None  # mask smoothing over frames (None: no smoothing)
    smooth_freq: scipy.sparse.csr_array | None  # (n_bins, n_bins): mask smoothing over bins
    b: float  # the noise-floor low-pass is y[n] = b x[n] + (1 - b) y[n-1]
    lower: np.ndarray  # (_BLOCK, _BLOCK) float32: that low-pass over one block, from rest
    decay: np.ndarray  # (_BLOCK,) float32: (1 - b) ** (1 + i), how the state entering a block decays in it
    norm: np.ndarray  # (hop,) float32: sum of window**2 over overlapping frames, periodic away from the edges
    offset: int  # frame k starts at sample k * hop - offset of the (unpadded) clip
    n_frames: int  # frames of noisereduce's STFT over the padded clip


_GATE_PLANS: dict[str, _GatePlan] = {}


def reduce_noise(y: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Spectral gating of a float32 clip of ``config.n_samples`` samples at ``config.sample_rate``.

    Matches ``noisereduce.reduce_noise(y=y, sr=sr, **config's nr_* values)`` to ~1e-7
    (float32 rounding). Settings the fast path does not cover (stationary gating, clips
    longer than one noisereduce chunk, padding shorter than a window) call noisereduce itself.
    """
    y = np.asarray(y, dtype=np.float32)
    if not _fast_gate_applies(config, y.shape[-1]):
        return _noisereduce(y, config)
    nonzero = y != 0
    if not nonzero.any():
        return y.copy()
    plan = _gate_plan(config)
    win, hop, n_fft = config.nr_win_length, config.nr_hop_length, config.nr_n_fft
    # The frames [k_lo, k_hi) that touch a non-zero sample; all others transform to zeros.
    first, last = int(nonzero.argmax()), y.shape[0] - 1 - int(nonzero[::-1].argmax())
    k_lo = (first - win + plan.offset) // hop + 1
    k_hi = (last + plan.offset) // hop + 1
    n_active = k_hi - k_lo
    start = k_lo * hop - plan.offset  # clip index of the first sample of frame k_lo
    segment = np.zeros((n_active - 1) * hop + win, dtype=np.float32)
    lo, hi = max(start, 0), min(start + segment.shape[0], y.shape[0])
    segment[lo - start : hi - start] = y[lo:hi]

    frames = np.lib.stride_tricks.sliding_window_view(segment, win)[::hop]
    spectrum = rfft(frames * plan.window, n=n_fft, axis=-1)  # (n_active, n_bins) complex64
    magnitude = np.abs(spectrum)
    floor = _noise_floor(magnitude, plan, n_after=plan.n_frames - k_hi)
    np.maximum(floor, np.finfo(np.float32).tiny, out=floor)
    mask = _sigmoid_mask(magnitude, floor, config)
    if plan.smooth_freq is not None:
        # Frames outside the active ones have mask sigmoid(-30) ~ 1e-13: zero, for the smoothing.
        mask = band(n_active, plan.time_kernel) @ mask
        mask = (plan.smooth_freq @ mask.T).T
    if config.nr_prop_decrease != 1.0:
        mask = mask * np.float32(config.nr_prop_decrease) + np.float32(1.0 - config.nr_prop_decrease)
    spectrum *= mask
    pieces = irfft(spectrum, n=n_fft, axis=-1)[:, :win]
    pieces *= plan.window  # in place: a second array this size costs more in page faults than in arithmetic

    # Overlap-add in hop-sized blocks, then undo the window's squared overlap (scipy's istft).
    n_blocks = -(-win // hop)
    if pieces.shape[1] < n_blocks * hop:
        pieces = np.pad(pieces, ((0, 0), (0, n_blocks * hop - pieces.shape[1])))
    blocks = np.zeros((n_active + n_blocks - 1, hop), dtype=np.float32)
    for j in range(n_blocks):
        blocks[j : j + n_active] += pieces[:, j * hop : (j + 1) * hop]
    blocks /= plan.norm
    signal = blocks.reshape(-1)
    out = np.zeros_like(y)
    lo, hi = max(start, 0), min(start + signal.shape[0], y.shape[0])
    out[lo:hi] = signal[lo - start : hi - start]
    return out


def _sigmoid_mask(magnitude: np.ndarray, floor: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """noisereduce's sigmoid((|X| - floor) / floor - thresh) * slope), in place on one temporary."""
    slope, thresh = config.nr_sigmoid_slope_nonstationary, config.nr_thresh_n_mult_nonstationary
    mask = np.divide(magnitude, floor)
    mask *= np.float32(-slope)
    mask += np.float32(slope * (1.0 + thresh))
    np.exp(mask, out=mask)  # at most exp(slope * (thresh + 1)) = exp(30): no overflow in float32
    mask += np.float32(1.0)
    return np.reciprocal(mask, out=mask)


def _noise_floor(magnitude: np.ndarray, plan: _GatePlan, n_after: int) -> np.ndarray:
    """scipy.signal.filtfilt([b], [1, b - 1], |X|, padtype=None) along time, computed over the
    active frames only: none before them is non-zero, ``n_after`` zero frames follow them."""
    b, c = plan.b, 1.0 - plan.b
    # Forward: every frame before is zero, so the state entering is zero.
    forward = _low_pass(magnitude, plan, previous=None)
    # Over the zero frames after, the forward output decays as c**j; filtfilt starts the
    # backward pass there (state c * last value) and sums back. In closed form the backward
    # output at the last active frame is (1 + c**(2 n + 1)) / (1 + c) times the forward one.
    gain = (1.0 + c ** (2 * n_after + 1)) / (1.0 + c)
    previous = np.float32((gain - b) / c) * forward[-1]
    return _low_pass(forward[::-1], plan, previous)[::-1]


def _low_pass(x: np.ndarray, plan: _GatePlan, previous: np.ndarray | None) -> np.ndarray:
    """y[n] = b x[n] + c y[n-1] along axis 0 with y[-1] = ``previous`` (None: 0), blockwise."""
    n, width = x.shape
    n_blocks = -(-n // _BLOCK)
    padded = np.zeros((n_blocks * _BLOCK, width), dtype=np.float32)
    padded[:n] = x
    out = np.matmul(plan.lower, padded.reshape(n_blocks, _BLOCK, width))
    carry = previous
    for block in out:
        if carry is not None:
            block += np.multiply.outer(plan.decay, carry)
        carry = block[-1]
    return out.reshape(-1, width)[:n]


def _fast_gate_applies(config: FeatureConfig, n: int) -> bool:
    # One noisereduce chunk, and padding that keeps every clip sample away from the STFT's edges.
    return (
        not config.nr_stationary
        and n <= config.nr_chunk_size
        and config.nr_hop_length <= config.nr_win_length <= config.nr_n_fft
        and config.nr_padding >= config.nr_win_length + config.nr_hop_length
    )


def _gate_plan(config: FeatureConfig) -> _GatePlan:
    key = config.hash()
    plan = _GATE_PLANS.get(key)
    if plan is not None:
        return plan
    sr, n_fft, win, hop = config.sample_rate, config.nr_n_fft, config.nr_win_length, config.nr_hop_length
    padded = config.n_samples + 2 * config.nr_padding
    # scipy.signal.stft(boundary="zeros", padded=False) over the padded clip
    n_frames = 1 + (padded + 2 * (win // 2) - win) // hop
    # noisereduce's mask smoothing filter is outer(freq ramp, time ramp) / sum: separable.
    n_grad_freq = int(config.nr_freq_mask_smooth_hz / (sr / (n_fft / 2)))
    n_grad_time = int(config.nr_time_mask_smooth_ms / ((hop / sr) * 1000))
    if n_grad_freq < 1 or n_grad_time < 1:
        raise ValueError("nr_freq_mask_smooth_hz / nr_time_mask_smooth_ms are below one bin / one frame")
    smooth = not (n_grad_freq == 1 and n_grad_time == 1)
    t_frames = config.nr_time_constant_s * sr / float(hop)
    b = (np.sqrt(1 + 4 * t_frames**2) - 1) / (2 * t_frames**2)
    lag = np.subtract.outer(np.arange(_BLOCK), np.arange(_BLOCK))
    window = periodic_window("hann", win).astype(np.float32)
    plan = _GatePlan(
        window=window,
        time_kernel=_triangle(n_grad_time) if smooth else None,
        smooth_freq=band(n_fft // 2 + 1, _triangle(n_grad_freq)) if smooth else None,
        b=float(b),
        lower=np.where(lag >= 0, b * (1 - b) ** np.maximum(lag, 0), 0.0).astype(np.float32),
        decay=((1 - b) ** np.arange(1, _BLOCK + 1)).astype(np.float32),
        norm=np.array([np.sum(window[r::hop].astype(np.float64) ** 2) for r in range(hop)], dtype=np.float32),
        offset=win // 2 + config.nr_padding,
        n_frames=n_frames,
    )
    _GATE_PLANS[key] = plan
    return plan


def band(n: int, kernel: np.ndarray) -> scipy.sparse.csr_array:
    """The (n, n) float32 matrix with the odd-length ``kernel`` on its diagonals: a centred "same"
    convolution with zeros outside, as a CSR product (cached: a clip's number of frames recurs)."""
    if kernel.ndim != 1 or kernel.shape[0] % 2 != 1:
        raise ValueError(f"a band needs an odd-length kernel, got shape {kernel.shape}")
    return _band(n, tuple(float(k) for k in kernel))


@lru_cache(maxsize=64)
def _band(n: int, kernel: tuple[float, ...]) -> scipy.sparse.csr_array:
    half = len(kernel) // 2
    offsets = [k for k in range(-half, half + 1) if abs(k) < n]
    return scipy.sparse.diags_array([np.full(n - abs(k), kernel[k + half], dtype=np.float32) for k in offsets],
                                    offsets=offsets, shape=(n, n), format="csr", dtype=np.float32)


def _triangle(n_grad: int) -> np.ndarray:
    """One factor of noisereduce's smoothing filter (2 n_grad + 1 taps), normalised to sum 1."""
    ramp = np.concatenate([np.linspace(0, 1, n_grad + 1, endpoint=False), np.linspace(1, 0, n_grad + 2)])[1:-1]
    return ramp / ramp.sum()


def _noisereduce(y: np.ndarray, config: FeatureConfig) -> np.ndarray:
    import noisereduce

    return noisereduce.reduce_noise(
        y=y, sr=config.sample_rate, stationary=config.nr_stationary, prop_decrease=config.nr_prop_decrease,
        time_constant_s=config.nr_time_constant_s, freq_mask_smooth_hz=config.nr_freq_mask_smooth_hz,
        time_mask_smooth_ms=config.nr_time_mask_smooth_ms,
        thresh_n_mult_nonstationary=config.nr_thresh_n_mult_nonstationary,
        sigmoid_slope_nonstationary=config.nr_sigmoid_slope_nonstationary,
        n_std_thresh_stationary=config.nr_n_std_thresh_stationary, chunk_size=config.nr_chunk_size,
        padding=config.nr_padding, n_fft=config.nr_n_fft, win_length=config.nr_win_length,
        hop_length=config.nr_hop_length,
    ).astype(np.float32, copy=False)


_MAX_PLANS = 32  # a plan per clip length at a view's rate: a worker keeps the last few, not thousands


def reduce_noise_at(y: np.ndarray, rate: int, recipe: FeatureConfig) -> np.ndarray:
    """The recipe's spectral gating (its nr_* settings) of a float32 signal of any length at ``rate``:
    what the views that read a denoised signal use (``DecodedClip.signal``). Equal to
    ``noisereduce.reduce_noise(y=y, sr=rate, **recipe's nr_* values)`` to float32 rounding."""
    y = np.asarray(y, dtype=np.float32)
    if y.shape[0] == 0:
        return y.copy()
    # Only the nr_* fields, the rate and the length matter to the gate; the log-mel fields are set
    # to values the config accepts at this rate and length.
    config = replace(recipe, sample_rate=int(rate), duration_s=y.shape[0] / rate,
                     n_fft=min(recipe.n_fft, y.shape[0]), hop_length=min(recipe.hop_length, y.shape[0]),
                     fmin=min(recipe.fmin, rate / 4), fmax=min(recipe.fmax, rate / 2))
    if len(_GATE_PLANS) > _MAX_PLANS:
        _GATE_PLANS.clear()
    return reduce_noise(y, config)
