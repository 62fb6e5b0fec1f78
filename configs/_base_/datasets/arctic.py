# ARCTIC (HumanData). Hand poses were annotated with flat_hand_mean=True and the shape is
# not used for training; the test ground truth comes from meta vertices3d_path files when
# the annotation has them. The official training keeps every 10th sample.
arctic_train = dict(
    type='HumanDataset',
    dataset_name='ARCTIC',
    data_root='data',
    ann_file='annot/arctic_train.npz',
    data_prefix=dict(img_path='img/arctic'),
    sample_interval=10,
    flat_hand_mean=True,
    zero_betas=True,
)
arctic_test = dict(arctic_train, ann_file='annot/arctic_val.npz', sample_interval=1,
                   test_mode=True)
