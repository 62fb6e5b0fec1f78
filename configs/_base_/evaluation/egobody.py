# EgoBody benchmark (EgoSet, the egocentric test views): spec 7.2.
#
# Data: HumanData annot/egobody_egocentric_test.npz with SMPL-X ground truth.
# Metrics (mm, SMPLXMeshMetric): mpvpe/all (PVE, EgoBody's entry of the MPE) and
# pa-mpvpe/all, plus the hand/face vertex and joint errors of the generic protocol.
_base_ = ['./humandata_eval.py']

egobody_eval_dataloader = dict(
    _base_.eval_dataloader,
    dataset=dict(
        _base_.eval_humandata,
        dataset_name='EgoBody_Egocentric',
        ann_file='annot/egobody_egocentric_test.npz',
        data_prefix=dict(img_path='img/egobody')))
egobody_evaluator = _base_.smplx_metric
