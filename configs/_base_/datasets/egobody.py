# EgoBody (HumanData): the Kinect views for training (every 10th sample, as in the
# official config) and the egocentric EgoSet for evaluation.
egobody_kinect_train = dict(
    type='HumanDataset',
    dataset_name='EgoBody_Kinect',
    data_root='data',
    ann_file='annot/egobody_kinect_train.npz',
    data_prefix=dict(img_path='img/egobody'),
    sample_interval=10,
)
egobody_egocentric_test = dict(
    type='HumanDataset',
    dataset_name='EgoBody_Egocentric',
    data_root='data',
    ann_file='annot/egobody_egocentric_test.npz',
    data_prefix=dict(img_path='img/egobody'),
    test_mode=True,
)
