# 3DPW (HumanData). Evaluation uses the gendered SMPL ground truth (body_model_type='smpl');
# training uses the SMPL-X fits.
pw3d_train = dict(
    type='HumanDataset',
    dataset_name='PW3D',
    data_root='data',
    ann_file='annot/pw3d_train.npz',
    data_prefix=dict(img_path='img/pw3d'),
)
pw3d_test = dict(pw3d_train, ann_file='annot/pw3d_test.npz', body_model_type='smpl',
                 test_mode=True)
