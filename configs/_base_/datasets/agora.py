# AGORA (HumanData). Samples with meta.annot_valid == 0 and kids (non-zero
# smplx.betas_extra) are skipped; betas_neutral replaces betas when present.
# File names are placeholders: point them at your converted HumanData files.
agora_train = dict(
    type='HumanDataset',
    dataset_name='AGORA',
    data_root='data',
    ann_file='annot/agora_train.npz',
    data_prefix=dict(img_path='img/agora'),
    img_shape=(2160, 3840),
    filter_annot_valid=True,
    skip_kids=True,
    use_betas_neutral=True,
)
agora_val = dict(agora_train, ann_file='annot/agora_validation.npz', test_mode=True)
