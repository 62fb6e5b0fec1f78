# ARCTIC benchmark (validation split, hand-object interaction): spec 7.2.
#
# Data: HumanData annot/arctic_val.npz. Hand poses were annotated with
# flat_hand_mean=True (converted on loading) and the shape is not used. When the file has
# meta vertices3d_path, the ground-truth mesh is read from those .npy files (official);
# otherwise it is posed from the SMPL-X parameters.
# Metrics (mm, SMPLXMeshMetric): mpvpe/all (PVE) and pa-mpvpe/all, and the hand-focused
# hand PVE/PA-PVE and hand joint errors of the generic protocol (spec 7.1).
_base_ = ['./humandata_eval.py']

arctic_eval_dataloader = dict(
    _base_.eval_dataloader,
    dataset=dict(
        _base_.eval_humandata,
        dataset_name='ARCTIC',
        ann_file='annot/arctic_val.npz',
        data_prefix=dict(img_path='img/arctic'),
        flat_hand_mean=True,
        zero_betas=True))
arctic_evaluator = _base_.smplx_metric
