r"""Time the vectorised SMPL-X mesh metric against a per-sample loop of the official protocol.

The loop side re-implements the official ``HumanDataset.evaluate`` SMPL-X branch one
sample at a time with numpy (float32 meshes and regressors, float64 hand regressors, as
there); the vectorised side is :class:`SMPLXMeshMetric` (``process`` in batches, then
``compute_metrics``). Both get the same N random meshes built from the body model's
template; the script also checks that they agree before it prints the speed ratio.

Example (small, for a shared CPU)::

    python tools/analysis_tools/benchmark_metrics.py \
        --body-model-dir ../shared/fixtures/body_models --num-samples 64 --batch-size 32

Measured once (synthetic SMPL-X fixture, V = 10475; a 2-core CPU shared with other jobs,
load average ~7.5; 1 torch thread, numpy's OpenBLAS at its default; the command above):
loop 7.66 s, vectorised 0.457 s for 64 samples, speed-up 16.8x; the two agreed within
7.4e-05 mm. Absolute times on that loaded machine varied by 2-3x between runs, the ratio
between 11x and 17x.
"""

import argparse
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from smplestx.evaluation.metrics import SMPLXMeshMetric
from smplestx.models.body_models.assets import SMPLXAssets, load_smplx_assets
from smplestx.utils.body_model_files import resolve_body_model_dir


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--body-model-dir', default=None,
                        help='SMPL-X folder (default $SMPLESTX_BODY_MODELS)')
    parser.add_argument('--num-samples', type=int, default=64)
    parser.add_argument('--batch-size', type=int, default=32, help='metric batch size')
    parser.add_argument('--repeats', type=int, default=3,
                        help='timed runs (interleaved); the best of each counts')
    parser.add_argument('--device', default='cpu', help='device of the vectorised metric')
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    return parser.parse_args(argv)


def _procrustes_np(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Similarity-align one point set onto another (official ``rigid_align`` maths)."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    u, sing, vt = np.linalg.svd((src - mu_s).T @ (dst - mu_d) / len(src))
    rot = vt.T @ u.T
    if np.linalg.det(rot) < 0:
        sing[-1] *= -1
        vt[2] *= -1
        rot = vt.T @ u.T
    scale = sing.sum() / src.var(axis=0).sum()
    return scale * src @ rot.T + (mu_d - scale * rot @ mu_s)


def _dist_mm(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(((a - b)**2).sum(axis=1)).mean() * 1000)


def loop_evaluate(preds: np.ndarray, gts: np.ndarray, lvalid: np.ndarray, rvalid: np.ndarray,
                  assets: SMPLXAssets) -> Dict[str, float]:
    """Per-sample official protocol (SMPL-X GT, all official quirks); returns the means."""
    jreg, j14 = assets.J_regressor, assets.j14_regressor
    lists: Dict[str, List[float]] = {}

    def add(key: str, value: float) -> None:
        lists.setdefault(key, []).append(value)

    for pred, gt, lv, rv in zip(preds, gts, lvalid, rvalid):
        jp, jg = jreg @ pred, jreg @ gt
        aligned = pred - jp[0] + jg[0]
        add('mpvpe/all', _dist_mm(aligned, gt))
        add('pa-mpvpe/all', _dist_mm(_procrustes_np(pred, gt), gt))
        j14_gt = j14 @ gt
        add('mpjpe/body', _dist_mm(j14 @ aligned, j14_gt))
        add('pa-mpjpe/body', _dist_mm(_procrustes_np(j14 @ pred, j14_gt), j14_gt))
        face = assets.face_vertex_ids
        add('mpvpe/face', _dist_mm(pred[face] - jp[12] + jg[12], gt[face]))
        add('pa-mpvpe/face', _dist_mm(_procrustes_np(pred[face], gt[face]), gt[face]))
        per_hand: Dict[str, Dict[str, float]] = {}
        for side, key, wrist in (('lhand', 'left', 20), ('rhand', 'right', 21)):
            ids, hreg = assets.hand_vertex_ids[key], assets.hand_regressors[key]
            gt_hand = gt[ids] - jg[wrist]
            pred_joints = (hreg @ pred)[1:] - jp[wrist]
            gt_joints = (hreg @ gt)[1:]  # official: camera-frame GT here
            per_hand[side] = {
                'mpvpe': _dist_mm(pred[ids] - jp[wrist], gt_hand),
                'pa-mpvpe': _dist_mm(_procrustes_np(pred[ids], gt_hand), gt_hand),
                'mpjpe': _dist_mm(pred_joints, gt_joints),
                'pa-mpjpe': _dist_mm(_procrustes_np(pred_joints, gt_joints), gt_joints),
            }
        with np.errstate(invalid='ignore', divide='ignore'):
            for name in ('mpvpe', 'pa-mpvpe', 'mpjpe'):
                for side, valid in (('lhand', lv), ('rhand', rv)):
                    if valid:
                        add(f'{name}/{side}', per_hand[side][name])
                add(f'{name}/hands', np.float64(per_hand['lhand'][name] * lv
                                                + per_hand['rhand'][name] * rv) / (lv + rv))
            outlier = False
            for side, valid in (('lhand', lv), ('rhand', rv)):
                value = per_hand[side]['pa-mpjpe']
                if valid and value < 100:
                    add(f'pa-mpjpe/{side}', value)
                if valid and value > 100:
                    outlier = True
                    break
            if not outlier:
                add('pa-mpjpe/hands', np.float64(per_hand['lhand']['pa-mpjpe'] * lv
                                                 + per_hand['rhand']['pa-mpjpe'] * rv) / (lv + rv))
    with np.errstate(invalid='ignore'):
        return {k: float(np.mean(v)) for k, v in lists.items()}


def vectorised_evaluate(metric: SMPLXMeshMetric, preds: np.ndarray, gts: np.ndarray,
                        lvalid: np.ndarray, rvalid: np.ndarray, batch_size: int,
                        device: str) -> Dict[str, float]:
    """Feed the metric batch by batch (tensors on ``device``) and reduce."""
    metric.results.clear()
    for start in range(0, len(preds), batch_size):
        stop = start + batch_size
        samples = [
            dict(pred_instances=dict(vertices=torch.from_numpy(p)[None].to(device)),
                 gt_instances=dict(smplx_mesh_cam=torch.from_numpy(g)[None].to(device),
                                   lhand_valid=torch.tensor([lv]), rhand_valid=torch.tensor([rv])))
            for p, g, lv, rv in zip(preds[start:stop], gts[start:stop], lvalid[start:stop],
                                    rvalid[start:stop])
        ]
        metric.process({}, samples)
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    return metric.compute_metrics(metric.results)


def make_inputs(template: np.ndarray, num: int, seed: int = 0):
    """Random float32 GT/pred meshes near the template (metres) and hand validity flags."""
    rng = np.random.default_rng(seed)
    gts = template[None] + rng.normal(scale=0.02, size=(num, ) + template.shape)
    gts += np.array([0.0, 0.2, 5.0])
    preds = gts + rng.normal(scale=0.03, size=gts.shape) + rng.normal(size=(num, 1, 3))
    lvalid = (rng.random(num) > 0.2).astype(np.float32)
    rvalid = (rng.random(num) > 0.2).astype(np.float32)
    rvalid[lvalid == 0] = 1.0  # keep every sample with a valid hand: both means finite
    return preds.astype(np.float32), gts.astype(np.float32), lvalid, rvalid


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the benchmark and print timings and the ratio."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    root = resolve_body_model_dir(args.body_model_dir)
    assets = load_smplx_assets(root)
    with np.load(f'{root}/smplx/SMPLX_NEUTRAL.npz') as data:
        template = data['v_template'].astype(np.float64)
    preds, gts, lvalid, rvalid = make_inputs(template, args.num_samples)
    metric = SMPLXMeshMetric(root, **SMPLXMeshMetric.OFFICIAL)

    ours = vectorised_evaluate(metric, preds, gts, lvalid, rvalid, args.batch_size, args.device)
    ref = loop_evaluate(preds, gts, lvalid, rvalid, assets)
    worst = max(abs(ours[k] - v) for k, v in ref.items())
    print(f'agreement: max |vectorised - loop| = {worst:.2e} mm over {len(ref)} metrics '
          f'(loop works in float32 like the official code)')

    # interleave the two so that a change in machine load hits both alike
    t_loop, t_vec = float('inf'), float('inf')
    for _ in range(args.repeats):
        start = time.perf_counter()
        loop_evaluate(preds, gts, lvalid, rvalid, assets)
        t_loop = min(t_loop, time.perf_counter() - start)
        start = time.perf_counter()
        vectorised_evaluate(metric, preds, gts, lvalid, rvalid, args.batch_size, args.device)
        t_vec = min(t_vec, time.perf_counter() - start)
    n = args.num_samples
    print(f'N={n}, V={template.shape[0]}, batch {args.batch_size}, device {args.device}, '
          f'{args.threads} thread(s), best of {args.repeats}')
    print(f'loop (official-style): {t_loop:.3f} s ({t_loop / n * 1e3:.2f} ms/sample)')
    print(f'vectorised metric:     {t_vec:.3f} s ({t_vec / n * 1e3:.2f} ms/sample)')
    print(f'speed-up: {t_loop / t_vec:.1f}x')


if __name__ == '__main__':
    main()
