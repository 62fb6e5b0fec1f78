"""Comparison tolerances for float32 results computed by different kernels.

Two float32 computations of the same network differ in their last bits when they run on other
GEMM kernels (AVX2 vs AVX-512/AMX builds of MKL and oneDNN), other thread counts, other batch
compositions or another attention implementation: each dot product of length ``K`` is summed
in another order, which moves it by up to ``~sqrt(K)`` rounding steps of the *operands'*
magnitude, and the network carries such steps through dozens of layers. An error of this kind
is proportional to the magnitude of the whole quantity, not of each element: a near-zero
coordinate computed from metre-sized operands carries a metre-sized rounding error. The
comparisons here therefore scale the tolerance with the largest magnitude of the expected
tensor (``scale``), and keep an absolute floor for quantities that are all close to zero.

:data:`FP32_NETWORK_RTOL` (1e-5, about 84 float32 rounding steps of the quantity's scale) is
the budget for a network forward: it is the tolerance recommended by the official fixture's
README, and about 4x the largest deviation seen between machines (2.2e-6 of the scale on
``smplx_joint_proj``, AVX-512/AMX Xeon against the fixture made on another CPU).
"""

from typing import Optional, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]

#: Machine epsilon of float32 (one rounding step relative to the value).
FP32_EPS = float(np.finfo(np.float32).eps)
#: Relative budget (of the tensor's scale) for float32 network outputs from other kernels.
FP32_NETWORK_RTOL = 1e-5
#: Absolute floor for quantities whose scale is below 1 (radians, metres, unit vectors).
FP32_NETWORK_ATOL = 1e-5


def _as_numpy(value: ArrayLike) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:
            value = value.float()
        return value.numpy()
    return np.asarray(value)


def scale_tolerance(expected: ArrayLike, rtol: float = FP32_NETWORK_RTOL,
                    atol: float = FP32_NETWORK_ATOL) -> float:
    """``atol + rtol * max|expected|``: the allowed deviation for a whole tensor.

    Args:
        expected: Reference values (finite entries set the scale).
        rtol: Tolerance relative to the largest magnitude of ``expected``.
        atol: Absolute floor.

    Returns:
        The tolerance.
    """
    ref = np.abs(_as_numpy(expected).astype(np.float64))
    finite = ref[np.isfinite(ref)]
    return float(atol + rtol * (finite.max() if finite.size else 0.0))


def assert_close_at_scale(actual: ArrayLike, expected: ArrayLike,
                          rtol: float = FP32_NETWORK_RTOL, atol: float = FP32_NETWORK_ATOL,
                          msg: Optional[str] = None) -> None:
    """Assert ``|actual - expected| <= atol + rtol * max|expected|`` everywhere.

    Shapes must agree and non-finite entries must sit at the same places with the same value.

    Args:
        actual: Values to check.
        expected: Reference values.
        rtol: Tolerance relative to the largest magnitude of ``expected``.
        atol: Absolute floor.
        msg: Name of the quantity, shown on failure.
    """
    got = _as_numpy(actual).astype(np.float64)
    ref = _as_numpy(expected).astype(np.float64)
    name = f'{msg}: ' if msg else ''
    assert got.shape == ref.shape, f'{name}shape {got.shape} != {ref.shape}'
    finite = np.isfinite(ref)
    np.testing.assert_array_equal(got[~finite], ref[~finite], err_msg=f'{name}non-finite')
    tol = scale_tolerance(ref, rtol, atol)
    diff = np.abs(got[finite] - ref[finite])
    worst = float(diff.max()) if diff.size else 0.0
    scale = float(np.abs(ref[finite]).max()) if diff.size else 0.0
    assert worst <= tol, (f'{name}max |difference| {worst:.3g} exceeds {tol:.3g} '
                          f'(atol {atol:g} + rtol {rtol:g} x scale {scale:.3g})')
