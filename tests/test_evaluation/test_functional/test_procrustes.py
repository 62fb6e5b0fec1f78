import math

import numpy as np
import pytest
import torch

from smplestx.evaluation.functional import (
    procrustes_residuals,
    similarity_procrustes,
    similarity_transform,
)


def _random_rotation(gen: torch.Generator, batch: int) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(batch, 3, 3, dtype=torch.float64, generator=gen))
    q = q * torch.sign(torch.diagonal(r, dim1=1, dim2=2))[:, None, :]
    det = torch.linalg.det(q)
    q[:, :, 0] *= det[:, None]  # make every matrix a proper rotation
    return q


def test_matches_official_rigid_align_per_sample(procrustes_reference):
    gen = torch.Generator().manual_seed(0)
    pred = torch.randn(32, 25, 3, dtype=torch.float64, generator=gen)
    gt = torch.randn(32, 25, 3, dtype=torch.float64, generator=gen)
    out = similarity_procrustes(pred, gt).numpy()
    ref = np.stack([procrustes_reference(p, g) for p, g in zip(pred.numpy(), gt.numpy())])
    # random sets: some of them need the reflection fix
    covs = [(p - p.mean(0)).T @ (g - g.mean(0)) for p, g in zip(pred.numpy(), gt.numpy())]
    reflected = [np.linalg.det(u @ vt) < 0 for u, _, vt in map(np.linalg.svd, covs)]
    assert 0 < sum(reflected) < len(reflected)
    _, rot, _ = similarity_transform(pred, gt)
    assert torch.allclose(torch.linalg.det(rot), torch.ones(32, dtype=torch.float64))
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12)


def test_recovers_random_similarity_transform():
    gen = torch.Generator().manual_seed(1)
    gt = torch.randn(8, 50, 3, dtype=torch.float64, generator=gen)
    rot = _random_rotation(gen, 8)
    scale = torch.rand(8, dtype=torch.float64, generator=gen) * 2 + 0.2
    trans = torch.randn(8, 3, dtype=torch.float64, generator=gen) * 3
    pred = scale[:, None, None] * gt @ rot.transpose(1, 2) + trans[:, None]
    aligned = similarity_procrustes(pred, gt)
    assert (aligned - gt).abs().max() < 1e-10
    s, r, _ = similarity_transform(pred, gt)  # the inverse transform
    torch.testing.assert_close(s, 1 / scale, rtol=1e-10, atol=0)
    torch.testing.assert_close(r, rot.transpose(1, 2), rtol=0, atol=1e-10)


def test_mirror_image_is_not_aligned_by_reflection():
    gen = torch.Generator().manual_seed(2)
    gt = torch.randn(1, 40, 3, dtype=torch.float64, generator=gen) * torch.tensor([3., 2., 1.])
    pred = gt * torch.tensor([1., 1., -1.], dtype=torch.float64)  # a reflection
    _, rot, _ = similarity_transform(pred, gt)
    assert math.isclose(float(torch.linalg.det(rot)[0]), 1.0, abs_tol=1e-12)
    assert (similarity_procrustes(pred, gt) - gt).norm(dim=-1).mean() > 0.1


def test_keeps_dtype_and_rejects_bad_shapes():
    pred = torch.randn(2, 10, 3)
    assert similarity_procrustes(pred, pred + 1).dtype == torch.float32
    with pytest.raises(ValueError, match='same shape'):
        similarity_procrustes(pred, torch.randn(2, 9, 3))
    with pytest.raises(ValueError, match=r'\(B, N, 3\)'):
        similarity_procrustes(torch.randn(10, 3), torch.randn(10, 3))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_matches_cpu():
    gen = torch.Generator().manual_seed(3)
    pred = torch.randn(16, 30, 3, dtype=torch.float64, generator=gen)
    gt = torch.randn(16, 30, 3, dtype=torch.float64, generator=gen)
    out = similarity_procrustes(pred.cuda(), gt.cuda()).cpu()
    torch.testing.assert_close(out, similarity_procrustes(pred, gt), rtol=0, atol=1e-10)


def test_residuals_equal_aligned_minus_gt():
    gen = torch.Generator().manual_seed(4)
    pred = torch.randn(4, 20, 3, generator=gen)
    gt = torch.randn(4, 20, 3, generator=gen)
    expected = similarity_procrustes(pred.double(), gt.double()) - gt.double()
    torch.testing.assert_close(procrustes_residuals(pred, gt), expected, rtol=0, atol=1e-12)
