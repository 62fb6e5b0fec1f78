"""Model inputs and training samples built from the official reference case's ``io.npz``."""

from typing import Dict, List

import numpy as np
import torch
from mmengine.structures import InstanceData

from smplestx.models.heads.smplx_transformer_head import META_KEYS, TARGET_KEYS
from smplestx.structures import SMPLXDataSample


def official_crops(official_io: Dict[str, np.ndarray]) -> List[torch.Tensor]:
    """The fixture's [0, 1] crops as the (3, H, W) uint8 tensors a data loader yields."""
    return [torch.from_numpy(np.round(x * 255).astype(np.uint8))
            for x in official_io['inputs/img']]


def official_train_samples(official_io: Dict[str, np.ndarray]) -> List[SMPLXDataSample]:
    """One data sample per crop with the official training targets and masks."""
    samples = []
    for i in range(official_io['inputs/img'].shape[0]):
        gt = InstanceData()
        for key in TARGET_KEYS:
            gt.set_field(torch.from_numpy(official_io[f'train/targets/{key}'][i:i + 1]), key)
        for key in META_KEYS:
            gt.set_field(torch.from_numpy(official_io[f'train/meta_info/{key}'][i:i + 1]), key)
        samples.append(SMPLXDataSample(gt_instances=gt))
    return samples
