"""Pseudo-labels: the demo's results as a HumanData file that ``HumanDataset`` trains on.

One instance per predicted person: the image (the input image file, or the video frame the
demo saved as ``<input>/frames/<frame>.jpg``), the body box (the person box enlarged 1.2x
about its centre, the HumanData convention; its confidence is the box score), the SMPL-X
parameters, the person's camera (``meta.focal_length``/``principal_point``, the crop's
virtual camera in image pixels, so ``camera_from_meta=True``) and the 144 SMPL-X layer
joints of those parameters in that camera (``keypoints3d``) and projected into the image
(``keypoints2d``). Image paths inside the output folder are relative to it, others
absolute; a config therefore uses the output folder as ``data_root``::

    dict(type='HumanDataset', data_root='outputs/demo', ann_file='humandata.npz',
         data_prefix=dict(img_path=''), camera_from_meta=True)
"""

import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from smplestx.apis.exporters import INDEX_FILE, SMPLX_PARAM_SIZES
from smplestx.evaluation.metrics.inference_writer import read_json
from smplestx.utils.io import atomic_open

#: The HumanData body box is the person box enlarged by this factor (mmhuman3d convention;
#: ``HumanDataset`` pipelines undo it with their ``1.2 * 0.833`` box ratio).
BBOX_PADDING = 1.2
#: SMPL-X parameters of a HumanData file and their per-instance shapes.
_HUMANDATA_SHAPES = {'global_orient': (3, ), 'body_pose': (21, 3), 'left_hand_pose': (15, 3),
                     'right_hand_pose': (15, 3), 'jaw_pose': (3, ), 'leye_pose': (3, ),
                     'reye_pose': (3, ), 'betas': (10, ), 'expression': (10, ),
                     'transl': (3, )}


def _instances(out_dir: str, names: Sequence[str]) -> List[Dict[str, np.ndarray]]:
    rows = []
    for name in names:
        index = read_json(osp.join(out_dir, name, INDEX_FILE))
        if index is None:
            continue
        for frame in index['frames']:
            image = (f'{name}/{frame["image"]}' if frame.get('image') else frame.get('source'))
            if image is None:
                continue
            for person in frame['people']:
                if not person.get('params'):
                    continue
                with np.load(osp.join(out_dir, name, person['params'])) as data:
                    arrays = {k: data[k] for k in data.files}
                arrays['image_path'] = image
                arrays['image_size'] = np.asarray(frame['image_size'])
                rows.append(arrays)
    return rows


def export_humandata(out_dir: str, names: Sequence[str], path: str,
                     body_model_dir: Optional[str] = None, batch_size: int = 256) -> int:
    """Write the finished inputs ``names`` of ``out_dir`` as one HumanData file.

    Args:
        out_dir: The demo's output root.
        names: Output folder names of the inputs to include (unfinished ones are left out).
        path: The ``.npz`` to write (atomically).
        body_model_dir: SMPL-X folder for the joints.
        batch_size: Instances posed at once.

    Returns:
        The number of instances written.
    """
    from smplestx.models.body_models import SMPLXBodyModel

    rows = _instances(out_dir, names)
    num = len(rows)
    smplx_params = {key: np.stack([r[key] for r in rows]).reshape(num, *shape).astype(np.float32)
                    if num else np.zeros((0, *shape), np.float32)
                    for key, shape in _HUMANDATA_SHAPES.items()}
    joints = np.zeros((num, 144, 3), np.float32)
    if num:
        layer = SMPLXBodyModel(body_model_dir)
        with torch.no_grad():
            for start in range(0, num, batch_size):
                part = {k: torch.from_numpy(v[start:start + batch_size].reshape(
                    -1, SMPLX_PARAM_SIZES[k])) for k, v in smplx_params.items()
                    if k not in ('leye_pose', 'reye_pose')}
                joints[start:start + batch_size] = layer(**part)['joints'][:, :144].numpy()
    focal = np.stack([r['focal'] for r in rows]).astype(np.float32) if num else np.zeros((0, 2))
    princpt = (np.stack([r['princpt'] for r in rows]).astype(np.float32) if num
               else np.zeros((0, 2)))
    kps2d = joints[..., :2] / joints[..., 2:3] * focal[:, None] + princpt[:, None]
    ones = np.ones((num, 144, 1), np.float32)
    boxes = np.zeros((num, 5), np.float32)
    for i, row in enumerate(rows):
        x1, y1, x2, y2 = (row['bbox'] if 'bbox' in row else _crop_box(row['crop_bbox']))
        cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1), (y2 - y1)
        w, h = w * BBOX_PADDING, h * BBOX_PADDING
        score = float(row['score']) if np.isfinite(row['score']) else 1.0
        boxes[i] = (cx - w / 2, cy - h / 2, w, h, score)
    sizes = np.stack([r['image_size'] for r in rows]) if num else np.zeros((0, 2), int)
    meta = dict(height=sizes[:, 0].astype(np.int64), width=sizes[:, 1].astype(np.int64),
                gender=['neutral'] * num, focal_length=focal, principal_point=princpt)
    with atomic_open(path, 'wb') as handle:  # HumanData keeps smplx/meta as pickled dicts
        np.savez_compressed(
            handle, image_path=np.array([r['image_path'] for r in rows], dtype=str),
            bbox_xywh=boxes, keypoints2d=np.concatenate([kps2d, ones], -1).astype(np.float32),
            keypoints2d_mask=np.ones(144, np.float32),
            keypoints3d=np.concatenate([joints, ones], -1).astype(np.float32),
            keypoints3d_mask=np.ones(144, np.float32), smplx=smplx_params, meta=meta,
            config=np.array('smplestx-demo-pseudo-labels'),
            __keypoints_compressed__=np.array(False))
    return num


def _crop_box(xywh: np.ndarray) -> tuple:
    x, y, w, h = (float(v) for v in xywh)
    return x, y, x + w, y + h
