# SMPLest-X ViT-H: the released SMPLest-X-H model (687,223,152 parameters).
# Everything but the encoder size is the shared recipe in ../_base_/smplestx_h40_recipe.py.
_base_ = ['../_base_/smplestx_h40_recipe.py']

embed_dim = 1280

model = dict(
    backbone=dict(
        embed_dim=embed_dim,
        depth=32,
        num_heads=16,
        drop_path_rate=0.55,
        init_cfg=dict(type='ViTPosePretrained',
                      checkpoint='pretrained_models/vitpose_huge.pth')),
    head=dict(feat_dim=embed_dim))
