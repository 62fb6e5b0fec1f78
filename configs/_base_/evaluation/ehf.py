# EHF benchmark (evaluation only): SMPLer-X / SMPLest-X whole-body protocol, spec 7.1-7.2.
#
# Data: the 100 EHF images (1200x1600) as a HumanData file (annot/ehf_test.npz) whose
# SMPL-X ground truth is in the camera frame; one person per image, HumanData boxes
# (1.2-padded) cropped with the official ratio 1.2 * 0.833.
# Metrics (mm, SMPLXMeshMetric): mpvpe/all (PVE, EHF's entry of the mean primary error
# MPE) and pa-mpvpe/all; hands (778 MANO vertices / 20 joints, wrist-relative) and face
# (FLAME vertices, neck-aligned), each with its Procrustes (PA) variant; mpjpe/body and
# pa-mpjpe/body on the 14 LSP joints (SMPLX_to_J14).
# Versus SMPLer-X's EHF.py: it compares with the scanned *_align.ply meshes and keeps the
# wrist in the hand PA-MPJPE (21 joints); here the ground truth is the mesh of the
# HumanData SMPL-X parameters and the hand joints exclude the wrist (as SMPLest-X's
# HumanDataset.evaluate). --official-eval restores that function's bugs (see
# humandata_eval.py).
_base_ = ['./humandata_eval.py']

ehf_eval_dataloader = dict(
    _base_.eval_dataloader,
    dataset=dict(
        _base_.eval_humandata,
        dataset_name='EHF',
        ann_file='annot/ehf_test.npz',
        data_prefix=dict(img_path='img/ehf'),
        img_shape=(1200, 1600)))
ehf_evaluator = _base_.smplx_metric
