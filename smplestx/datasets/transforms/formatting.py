"""Packing the processed sample into the model's ``inputs`` and ``data_samples``."""

from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData

from smplestx.registry import TRANSFORMS
from smplestx.structures import SMPLXDataSample


@TRANSFORMS.register_module()
class PackSMPLXInputs(BaseTransform):
    """Pack the crop and its annotations into ``dict(inputs, data_samples)``.

    ``inputs`` is the crop as a float32 ``(3, H, W)`` RGB tensor in ``[0, 255]``; the model's
    data preprocessor divides by 255 (the official pipeline divides in the dataset). The
    data sample gets the metainfo listed in ``meta_keys`` (those present) and
    ``gt_instances`` built from ``results['gt_instances']`` (a dict written by
    :class:`GenerateSMPLXTargets`), each field as a tensor with a leading instance
    dimension of 1. Without ground truth, ``gt_instances`` is empty.

    Required keys: ``img``.

    Args:
        meta_keys: Keys copied into the data sample's metainfo when present.
    """

    DEFAULT_META_KEYS = ('img_path', 'img_id', 'sample_idx', 'ori_shape', 'img_shape', 'bbox',
                         'bb2img_trans', 'img2bb_trans', 'flip', 'rot', 'scale',
                         'dataset_name', 'focal', 'princpt')

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Return ``dict(inputs=Tensor, data_samples=SMPLXDataSample)``."""
        if 'img' not in results:
            raise KeyError("PackSMPLXInputs needs 'img' in results")
        img = np.asarray(results['img'])
        if img.ndim != 3:
            raise ValueError(f'PackSMPLXInputs: img must be (H, W, C), got {img.shape}')
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float()
        sample = SMPLXDataSample()
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        gt = InstanceData()
        for key, value in (results.get('gt_instances') or {}).items():
            if value is None:
                continue
            gt.set_field(torch.as_tensor(np.asarray(value))[None], key)
        sample.gt_instances = gt
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
