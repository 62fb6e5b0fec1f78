# AGORA benchmark: validation set evaluated locally, test set exported for the server.
#
# AGORA-val (agora_val_eval_dataloader / agora_val_evaluator). Data: HumanData
# annot/agora_validation.npz (3840x2160 images); samples with meta.annot_valid == 0 and
# kids (non-zero betas_extra) are skipped, betas_neutral replaces betas. Metrics (mm,
# SMPLXMeshMetric): mpvpe/all (PVE, AGORA's entry of the MPE), pa-mpvpe/all, hand and face
# PVE/PA-PVE as SMPLer-X's AGORA.py reports them, plus the body/hand joint errors of the
# generic protocol (spec 7.1).
#
# AGORA-test (agora_test_eval_dataloader / agora_test_evaluator): the test images have no
# public ground truth; the numbers (NMVE, NMJE, MVE, MPJPE with F1 detection matching)
# come from the AGORA evaluation server. Data: the HumanData file annot/agora_test.npz
# with the person boxes (its keypoints and SMPL-X fields may be zeros: no targets are built).
# AGORASubmission writes one <image stem>_personId_<k>.pkl per box (SMPL-X parameters and
# the 144 SMPL-X joints projected to 3840x2160 pixels) under `out_dir`/predictions and
# zips them to `out_dir`/predictions.zip, the file to upload:
#   python tools/test.py configs/smplestx/smplestx_vit-h_test-agora-test-256x192.py CKPT \
#       --cfg-options test_evaluator.out_dir=work_dirs/agora_submission
# To score AGORA-val with the official agora_evaluation code as well, add an
# AGORASubmission to the val evaluator (test_evaluator = [val metric, submission]).
_base_ = ['./humandata_eval.py']

agora_val_eval_dataloader = dict(
    _base_.eval_dataloader,
    dataset=dict(
        _base_.eval_humandata,
        dataset_name='AGORA',
        ann_file='annot/agora_validation.npz',
        data_prefix=dict(img_path='img/agora'),
        img_shape=(2160, 3840)))
agora_val_evaluator = _base_.smplx_metric

agora_test_eval_dataloader = dict(
    _base_.eval_dataloader,
    dataset=dict(
        _base_.eval_humandata,
        dataset_name='AGORA_test',
        ann_file='annot/agora_test.npz',
        data_prefix=dict(img_path='img/agora'),
        img_shape=(2160, 3840),
        pipeline=_base_.eval_pipeline_no_gt))
agora_test_evaluator = dict(
    type='AGORASubmission',
    out_dir='work_dirs/agora_test_submission',
    body_model_dir=None,
    resolution=(2160, 3840),
    with_mesh=False,
    make_zip=True,
    collect_device='cpu',
    prefix=None,
    collect_dir=None)
