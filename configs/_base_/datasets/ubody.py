# UBody (HumanData). Crowd samples, samples without keypoints and samples with
# meta.valid_label == 0 are skipped. The official training keeps every 10th sample.
ubody_train = dict(
    type='HumanDataset',
    dataset_name='UBody',
    data_root='data',
    ann_file='annot/ubody_intra_train.npz',
    data_prefix=dict(img_path='img/ubody'),
    sample_interval=10,
    filter_crowd=True,
    filter_zero_keypoints=True,
    filter_invalid_label=True,
)
ubody_test = dict(ubody_train, ann_file='annot/ubody_intra_test.npz', sample_interval=1,
                  test_mode=True)
