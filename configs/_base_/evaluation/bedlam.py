# BEDLAM benchmark (validation split, synthetic): generic HumanData protocol, spec 7.1.
#
# Data: HumanData annot/bedlam_validation.npz with SMPL-X ground truth; every sample.
# Metrics (mm, SMPLXMeshMetric): mpvpe/all, pa-mpvpe/all, hand/face vertex errors and the
# joint errors. (BEDLAM's own test set is scored by its server in the AGORA format; the
# AGORASubmission metric of ./agora.py writes that format.)
_base_ = ['./humandata_eval.py']

bedlam_eval_dataloader = dict(
    _base_.eval_dataloader,
    dataset=dict(
        _base_.eval_humandata,
        dataset_name='BEDLAM',
        ann_file='annot/bedlam_validation.npz',
        data_prefix=dict(img_path='img/bedlam')))
bedlam_evaluator = _base_.smplx_metric
