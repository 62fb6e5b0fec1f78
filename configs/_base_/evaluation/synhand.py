# SynHand benchmark (SMPLest-X's hand-focused synthetic test set; not publicly released).
#
# Data: HumanData annot/synhand_20241018_test_241023_1188_fix_betas.npz, hand poses
# annotated with flat_hand_mean=True; every 10th sample is evaluated, as the official
# SynHand class does (test_sample_interval 10).
# Metrics (mm, SMPLXMeshMetric, the official HumanDataset.evaluate protocol of spec 7.1):
# pa-mpvpe/all (the number SMPLest-X reports), mpvpe/all, hand PVE/PA-PVE and hand joint
# errors, face and body errors. --official-eval restores that function's three bugs.
_base_ = ['./humandata_eval.py']

synhand_eval_dataloader = dict(
    _base_.eval_dataloader,
    dataset=dict(
        _base_.eval_humandata,
        dataset_name='SynHand',
        ann_file='annot/synhand_20241018_test_241023_1188_fix_betas.npz',
        data_prefix=dict(img_path='img/synbody'),
        sample_interval=10,
        flat_hand_mean=True))
synhand_evaluator = _base_.smplx_metric
