# The small synthetic set written by tools/dataset_converters/make_synthetic_humandata.py
# (default output data/synthetic): for smoke tests, CI and the README.
synthetic_train = dict(
    type='HumanDataset',
    dataset_name='Synthetic',
    data_root='data/synthetic',
    ann_file='synthetic_humandata.npz',
    data_prefix=dict(img_path=''),
    camera_from_meta=True,
)
synthetic_test = dict(synthetic_train, test_mode=True)
