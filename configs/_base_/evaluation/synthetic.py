# The small synthetic HumanData set (tools/dataset_converters/make_synthetic_humandata.py,
# default output data/synthetic): smoke tests, CI and the distributed-equality check.
#
# Data: random SMPL-X people rendered with their own pinhole cameras (meta intrinsics);
# every sample. Metrics (mm): the whole SMPL-X protocol of spec 7.1 (SMPLXMeshMetric).
_base_ = ['./humandata_eval.py']

synthetic_eval_dataloader = dict(
    _base_.eval_dataloader,
    dataset=dict(
        _base_.eval_humandata,
        dataset_name='Synthetic',
        data_root='data/synthetic',
        ann_file='synthetic_humandata.npz',
        data_prefix=dict(img_path=''),
        camera_from_meta=True))
synthetic_evaluator = _base_.smplx_metric
