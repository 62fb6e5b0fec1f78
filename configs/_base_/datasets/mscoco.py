# MSCOCO (COCO-WholeBody as HumanData, 2D keypoints with SMPL-X pseudo ground truth).
# Crowd samples and samples without keypoints are skipped.
mscoco_train = dict(
    type='HumanDataset',
    dataset_name='MSCOCO',
    data_root='data',
    ann_file='annot/mscoco_train.npz',
    data_prefix=dict(img_path='img/mscoco'),
    filter_crowd=True,
    filter_zero_keypoints=True,
)
