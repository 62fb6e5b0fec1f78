# EHF (evaluation only, 100 images of 1200x1600), as a HumanData file with SMPL-X ground
# truth in the camera frame.
ehf_test = dict(
    type='HumanDataset',
    dataset_name='EHF',
    data_root='data',
    ann_file='annot/ehf_test.npz',
    data_prefix=dict(img_path='img/ehf'),
    img_shape=(1200, 1600),
    test_mode=True,
)
