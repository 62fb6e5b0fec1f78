# BEDLAM (HumanData). The official training keeps every 5th sample.
bedlam_train = dict(
    type='HumanDataset',
    dataset_name='BEDLAM',
    data_root='data',
    ann_file='annot/bedlam_train.npz',
    data_prefix=dict(img_path='img/bedlam'),
    sample_interval=5,
)
bedlam_val = dict(bedlam_train, ann_file='annot/bedlam_validation.npz', sample_interval=1,
                  test_mode=True)
