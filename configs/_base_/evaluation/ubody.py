# UBody benchmark (intra-scene test split): spec 7.2.
#
# Data: HumanData annot/ubody_intra_test.npz; crowd samples, samples without keypoints and
# samples with meta.valid_label == 0 are skipped. Every sample of the file is evaluated.
# SMPLer-X evaluated every 100th annotation of the raw UBody files (counted before its
# test-video filter), which a HumanData file cannot reproduce exactly;
# --cfg-options test_dataloader.dataset.sample_interval=100 approximates it.
# Metrics (mm, SMPLXMeshMetric): mpvpe/all (PVE, UBody's entry of the MPE), pa-mpvpe/all,
# hand and face PVE/PA-PVE (SMPLest-X Table IX reports these six), plus the joint errors.
# Hands whose pose is not annotated are left out of the hand averages.
_base_ = ['./humandata_eval.py']

ubody_eval_dataloader = dict(
    _base_.eval_dataloader,
    dataset=dict(
        _base_.eval_humandata,
        dataset_name='UBody',
        ann_file='annot/ubody_intra_test.npz',
        data_prefix=dict(img_path='img/ubody')))
ubody_evaluator = _base_.smplx_metric
