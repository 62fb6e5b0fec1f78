# SynHand (HumanData, hand-focused synthetic data of SMPLest-X; not released). Hand
# poses use flat_hand_mean=True. Evaluation keeps every 10th sample, as the official class.
synhand_train = dict(
    type='HumanDataset',
    dataset_name='SynHand',
    data_root='data',
    ann_file='annot/synhand_20240927_241004_4628_fix_betas.npz',
    data_prefix=dict(img_path='img/synbody'),
    flat_hand_mean=True,
)
synhand_test = dict(synhand_train, ann_file='annot/synhand_20241018_test_241023_1188_fix_betas.npz',
                    sample_interval=10, test_mode=True)
