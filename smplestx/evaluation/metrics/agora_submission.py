"""Files for the AGORA test server: one pickle per predicted person.

The format follows the AGORA evaluation code (``agora_evaluation``,
``docs/prediction_format.md`` and ``check_pred_format.py``): for an image ``NAME.png``
with K predictions, files ``NAME_personId_0.pkl`` ... ``NAME_personId_{K-1}.pkl`` in a
``predictions`` folder, zipped for upload. Each holds a dict of numpy arrays:

- ``joints`` (J, 2): projected joints in 3840x2160 pixels, in the SMPL-X layer order (the
  server matches predictions to people with the first 24). Here J = 144, all joints of the
  SMPL-X layer with face contour, as SMPLer-X writes them; its ``(1, J, 2)`` shape fails
  ``check_pred_format`` (which wants 2-D), so the leading 1 is dropped.
- ``params``: ``transl``, ``global_orient``, ``body_pose`` (1, 63), ``left_hand_pose``,
  ``right_hand_pose`` (1, 45), ``jaw_pose``, ``leye_pose``, ``reye_pose`` (1, 3, eyes zero),
  ``betas`` (1, 10), ``expression`` (1, 10): axis-angle (``pose2rot`` True, the default),
  hand poses relative to the hand mean (``flat_hand_mean=False``, as the server's
  ``smplx.create`` defaults), neutral gender and 10 betas (the defaults). ``transl`` is the
  translation in the crop's virtual camera (the server aligns roots).
- with ``with_mesh``: ``verts`` (10475, 3) and ``allSmplJoints3d`` (127, 3) in metres (the
  "uploading joints and vertices" variant; larger files).

Joints are projected with the image-space camera of the crop (``pred_instances.focal`` /
``princpt``), ``u = X / (Z + 1e-4) * f + c``, which equals the official projection through
the heatmap and ``bb2img_trans``. The arrays are pickled so that they load with numpy 1.x
as well as 2.x.
"""

import io
import os
import os.path as osp
import pickle
import shutil
import tempfile
import zipfile
from collections import defaultdict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from smplestx.registry import METRICS
from smplestx.utils.io import atomic_write_bytes

from .sample_fields import get_field, instance_field

#: ``(name, shape)`` of the SMPL-X parameters read from ``pred_instances``.
PARAM_SHAPES: Tuple[Tuple[str, Tuple[int, ...]], ...] = (
    ('global_orient', (1, 3)), ('body_pose', (1, 63)), ('left_hand_pose', (1, 45)),
    ('right_hand_pose', (1, 45)), ('jaw_pose', (1, 3)), ('betas', (1, 10)),
    ('expression', (1, 10)), ('transl', (1, 3)))
#: SMPL-X joints without the face contour, the ``allSmplJoints3d`` set of AGORA.
NUM_AGORA_JOINTS_3D = 127
#: Depth offset of the official projection.
PROJECTION_EPS = 1e-4
#: Fixed member date, so that equal predictions give an identical zip.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class _PortablePickler(pickle.Pickler):
    """Pickles arrays as ``numpy.array(nested list, dtype)``.

    numpy 2 pickles arrays through ``numpy._core``, a module numpy < 1.26 does not have;
    ``numpy.array`` exists in every version, and float32 values survive the round trip
    through Python floats exactly.
    """

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, np.ndarray):
            return np.array, (obj.tolist(), obj.dtype.str)
        return NotImplemented


def portable_pickle_bytes(obj: Any) -> bytes:
    """Pickle ``obj`` (protocol 4) with arrays loadable by any numpy version."""
    buffer = io.BytesIO()
    _PortablePickler(buffer, protocol=4).dump(obj)
    return buffer.getvalue()


def project_points(points: torch.Tensor, focal: torch.Tensor,
                   princpt: torch.Tensor) -> torch.Tensor:
    """Pinhole projection ``X / (Z + 1e-4) * f + c`` of (B, N, 3) points.

    Args:
        points: Camera-frame points (B, N, 3).
        focal: Focal lengths (B, 2) in pixels.
        princpt: Principal points (B, 2) in pixels.

    Returns:
        Pixel coordinates (B, N, 2).
    """
    depth = points[..., 2:] + PROJECTION_EPS
    return points[..., :2] / depth * focal[:, None] + princpt[:, None]


def submission_name(img_path: str, person_id: int) -> str:
    """``<image stem>_personId_<k>.pkl``, the name the AGORA server pairs with an image."""
    stem = osp.splitext(osp.basename(str(img_path)))[0]
    return f'{stem}_personId_{person_id}.pkl'


def _field_batch(samples: Sequence[Any], key: str, shape: Tuple[int, ...]) -> torch.Tensor:
    values = []
    for sample in samples:
        value = torch.as_tensor(instance_field(sample, 'pred_instances', key))
        values.append(value.detach().to('cpu', torch.float32).reshape(shape))
    return torch.cat(values)


@METRICS.register_module()
class AGORASubmission(BaseMetric):
    """Write the AGORA test-server submission (see the module docstring for the format).

    ``process`` computes, per sample, the parameters and projected joints (running the
    neutral SMPL-X layer on the predicted parameters for the 144 layer-order joints);
    ``compute_metrics`` (main process, after the results of all ranks are collected in
    dataset order) numbers the people of each image in dataset order, writes
    ``<out_dir>/predictions/*.pkl`` (replacing that folder) and, with ``make_zip``,
    ``<out_dir>/predictions.zip`` holding ``predictions/*.pkl``. It returns the counts
    ``num_predictions`` and ``num_images`` (prefix ``agora``).

    Inputs per data sample: ``pred_instances`` with the SMPL-X parameters, ``focal`` and
    ``princpt`` (present when the sample's metainfo has the processed ``bbox``), and
    ``vertices`` with ``with_mesh``; metainfo ``img_path``, ``sample_idx`` and
    ``ori_shape`` (H, W) (from ``LoadImage``).

    Args:
        out_dir: Output folder.
        body_model_dir: Folder with ``smplx/`` (default ``$SMPLESTX_BODY_MODELS``).
        resolution: ``(H, W)`` the joints are expressed in: each sample's joints are
            scaled from its ``ori_shape`` (AGORA: 2160x3840, also for predictions made on
            the 1280x720 images). ``None`` keeps image pixels.
        with_mesh: Also store ``verts`` and ``allSmplJoints3d``.
        make_zip: Also write ``predictions.zip``.
        collect_device: Device for collecting results across ranks.
        prefix: Prefix of the returned counts (default ``agora``).
        collect_dir: Temporary folder for the CPU collection.
    """

    default_prefix: Optional[str] = 'agora'

    def __init__(self,
                 out_dir: str,
                 body_model_dir: Optional[str] = None,
                 resolution: Optional[Sequence[int]] = (2160, 3840),
                 with_mesh: bool = False,
                 make_zip: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if not out_dir:
            raise ValueError('AGORASubmission needs out_dir (folder for the predictions)')
        if resolution is not None and (len(resolution) != 2 or min(resolution) <= 0):
            raise ValueError(f'AGORASubmission: resolution must be (H, W) or None, got '
                             f'{resolution!r}')
        from smplestx.models.body_models import SMPLXBodyModel
        self.out_dir = str(out_dir)
        self.resolution = tuple(int(v) for v in resolution) if resolution is not None else None
        self.with_mesh = with_mesh
        self.make_zip = make_zip
        self.body_model = SMPLXBodyModel(body_model_dir, gender='neutral').eval()

    # ------------------------------------------------------------------------------ process
    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Compute the submission entries of a batch and append them to ``results``.

        Args:
            data_batch: The data-loader batch (unused).
            data_samples: Samples as dicts (``to_dict()``) or ``SMPLXDataSample``s.
        """
        if not data_samples:
            return
        params = {name: _field_batch(data_samples, name, shape) for name, shape in PARAM_SHAPES}
        for key in ('focal', 'princpt'):
            if instance_field(data_samples[0], 'pred_instances', key, required=False) is None:
                raise KeyError(f'AGORASubmission needs pred_instances.{key}: give the data '
                               f'samples the processed body box (metainfo bbox)')
        focal = _field_batch(data_samples, 'focal', (1, 2))
        princpt = _field_batch(data_samples, 'princpt', (1, 2))
        with torch.no_grad():
            joints3d = self.body_model(**params)['joints']
        joints2d = project_points(joints3d, focal, princpt)
        for i, sample in enumerate(data_samples):
            entry = self._entry(sample, joints2d[i].numpy(), {k: v[i:i + 1].numpy()
                                                              for k, v in params.items()})
            if self.with_mesh:
                verts = torch.as_tensor(instance_field(sample, 'pred_instances', 'vertices'))
                entry['data']['verts'] = verts.detach().cpu().reshape(-1, 3).numpy()
                entry['data']['allSmplJoints3d'] = joints3d[i, :NUM_AGORA_JOINTS_3D].numpy()
            self.results.append(entry)

    def _entry(self, sample: Any, joints: np.ndarray, params: Dict[str, np.ndarray]) -> dict:
        img_path = get_field(sample, 'img_path')
        sample_idx = get_field(sample, 'sample_idx')
        if img_path is None or sample_idx is None:
            raise KeyError('AGORASubmission needs img_path and sample_idx in the data sample '
                           'metainfo')
        if self.resolution is not None:
            ori_shape = get_field(sample, 'ori_shape')
            if ori_shape is None:
                raise KeyError('AGORASubmission needs ori_shape (H, W) in the metainfo to '
                               'rescale the joints; set resolution=None to keep image pixels')
            height, width = (float(v) for v in ori_shape[:2])
            joints = joints * np.array([self.resolution[1] / width,
                                        self.resolution[0] / height], dtype=np.float32)
        zeros = np.zeros((1, 3), dtype=np.float32)
        data = dict(
            params=dict(transl=params['transl'], global_orient=params['global_orient'],
                        body_pose=params['body_pose'], left_hand_pose=params['left_hand_pose'],
                        right_hand_pose=params['right_hand_pose'], jaw_pose=params['jaw_pose'],
                        leye_pose=zeros, reye_pose=zeros.copy(), betas=params['betas'],
                        expression=params['expression']),
            joints=np.ascontiguousarray(joints, dtype=np.float32))
        return dict(img_path=str(img_path), sample_idx=int(sample_idx), data=data)

    # ------------------------------------------------------------------------------ compute
    def compute_metrics(self, results: List[dict]) -> Dict[str, int]:
        """Write the files of all ranks' results.

        Args:
            results: The entries of all samples, collected in dataset order.

        Returns:
            ``num_predictions`` and ``num_images``.

        Raises:
            RuntimeError: If a sample index occurs twice (a sample counted twice).
        """
        results = sorted(results, key=lambda r: r['sample_idx'])
        indices = [r['sample_idx'] for r in results]
        if len(set(indices)) != len(indices):
            raise RuntimeError('AGORASubmission: a sample index occurs twice in the collected '
                               'results; refusing to write duplicate predictions')
        files: Dict[str, bytes] = {}
        per_image: Dict[str, int] = defaultdict(int)
        for entry in results:
            image = osp.basename(entry['img_path'])
            name = submission_name(image, per_image[image])
            if name in files:
                raise RuntimeError(f'AGORASubmission: two images map to {name}; image names '
                                   f'must be unique without their folders')
            per_image[image] += 1
            files[name] = portable_pickle_bytes(entry['data'])
        self._write(files)
        print_log(f'AGORA submission: {len(files)} predictions for {len(per_image)} images in '
                  f'{osp.join(self.out_dir, "predictions")}', logger='current')
        return dict(num_predictions=len(files), num_images=len(per_image))

    def _write(self, files: Dict[str, bytes]) -> None:
        """Replace ``<out_dir>/predictions`` with ``files`` and zip them."""
        os.makedirs(self.out_dir, exist_ok=True)
        target = osp.join(self.out_dir, 'predictions')
        tmp = tempfile.mkdtemp(prefix='.predictions-', dir=self.out_dir)
        try:
            for name, data in files.items():
                with open(osp.join(tmp, name), 'wb') as handle:
                    handle.write(data)
            if osp.isdir(target):
                shutil.rmtree(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if self.make_zip:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
                for name in sorted(files):
                    info = zipfile.ZipInfo(f'predictions/{name}', date_time=_ZIP_DATE)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, files[name])
            atomic_write_bytes(osp.join(self.out_dir, 'predictions.zip'), buffer.getvalue())
