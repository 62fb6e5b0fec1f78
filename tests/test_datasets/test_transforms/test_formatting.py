import numpy as np
import torch

from smplestx.datasets.transforms import AffineCrop, GetBBox, LoadImage, PackSMPLXInputs
from smplestx.structures import SMPLXDataSample


def test_pack_inference_sample():
    img = np.random.default_rng(0).integers(0, 256, (100, 80, 3), dtype=np.uint8)
    results = dict(img=img, bbox=np.array([10, 10, 40, 60.]), img_path='x.jpg',
                   dataset_name='demo')
    for t in (LoadImage(), GetBBox(), AffineCrop(), PackSMPLXInputs()):
        results = t(results)
    inputs, sample = results['inputs'], results['data_samples']
    assert inputs.dtype == torch.float32 and inputs.shape == (3, 512, 384)
    assert float(inputs.max()) > 1.0  # [0, 255], not divided
    assert isinstance(sample, SMPLXDataSample)
    for key in ('img_path', 'ori_shape', 'bbox', 'bb2img_trans', 'img2bb_trans', 'flip',
                'dataset_name', 'focal', 'princpt'):
        assert key in sample.metainfo, key
    assert sample.ori_shape == (100, 80) and sample.flip is False
    assert len(sample.gt_instances.keys()) == 0


def test_pack_gt_fields_get_leading_dim():
    results = dict(img=np.zeros((512, 384, 3), np.float32),
                   gt_instances=dict(smplx_pose=np.zeros(159, np.float32),
                                     joint_valid=np.ones((137, 1), np.float32),
                                     is_3D=np.float32(1.0), missing=None))
    sample = PackSMPLXInputs()(results)['data_samples']
    gt = sample.gt_instances
    assert gt.smplx_pose.shape == (1, 159) and gt.joint_valid.shape == (1, 137, 1)
    assert gt.is_3D.shape == (1, ) and 'missing' not in gt
    assert isinstance(gt.smplx_pose, torch.Tensor)
