# 3DPW benchmark (test split), SMPL ground truth: spec 7.1 (SMPL-GT branch) and 7.2.
#
# Data: HumanData annot/pw3d_test.npz read with body_model_type='smpl': the ground truth
# is the gendered SMPL mesh (6890 vertices) in the camera frame.
# Metrics (mm, SMPLMeshMetric): the predicted SMPL-X mesh is shifted so that its pelvis
# meets the SMPL pelvis, mapped to SMPL with smplx2smpl.pkl (SMPL-X -> SMPL vertex
# matrix, in the body-model folder), then mpjpe/body (MPJPE, 3DPW's entry of the MPE) and
# pa-mpjpe/body on the 14 LSP joints of the SMPL regressor, mpvpe/all and pa-mpvpe/all
# on the SMPL vertices. This branch of the official evaluation has no known bug.
_base_ = ['./humandata_eval.py']

pw3d_eval_dataloader = dict(
    _base_.eval_dataloader,
    dataset=dict(
        _base_.eval_humandata,
        dataset_name='PW3D',
        ann_file='annot/pw3d_test.npz',
        data_prefix=dict(img_path='img/pw3d'),
        body_model_type='smpl'))
pw3d_evaluator = dict(
    type='SMPLMeshMetric',
    body_model_dir=None,
    smplx2smpl=None,
    smpl_model='smpl/SMPL_NEUTRAL.pkl',
    gt_key='smpl_mesh_cam',
    collect_device='cpu',
    prefix=None,
    collect_dir=None)
