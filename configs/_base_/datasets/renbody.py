# RenBody (HumanData). The 3D joint targets come from the SMPL-X fits instead of the
# annotated keypoints (use_smplx_joints). The official training keeps every 10th sample
# (every 5th for the high-resolution part).
renbody_train = dict(
    type='HumanDataset',
    dataset_name='RenBody',
    data_root='data',
    ann_file='annot/renbody_train.npz',
    data_prefix=dict(img_path='img/renbody'),
    sample_interval=10,
    use_smplx_joints=True,
)
renbody_hires_train = dict(renbody_train, dataset_name='RenBody_HiRes',
                           ann_file='annot/renbody_highrescam_train.npz', sample_interval=5)
