# Talkshow (HumanData). Flat parameter arrays are reshaped generically and the right hand
# is read from right_hand_pose (the official code copies the left hand). Every 10th sample.
talkshow_train = dict(
    type='HumanDataset',
    dataset_name='Talkshow',
    data_root='data',
    ann_file='annot/talkshow_train.npz',
    data_prefix=dict(img_path='img/talkshow'),
    sample_interval=10,
)
