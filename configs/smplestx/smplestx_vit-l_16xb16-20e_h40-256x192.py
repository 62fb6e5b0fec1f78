# SMPLest-X ViT-L (not released officially; ViTPose-L encoder, feat_dim = C).
# Everything but the encoder size is the shared recipe in ../_base_/smplestx_h40_recipe.py.
_base_ = ['../_base_/smplestx_h40_recipe.py']

embed_dim = 1024

model = dict(
    backbone=dict(
        embed_dim=embed_dim,
        depth=24,
        num_heads=16,
        drop_path_rate=0.5,
        init_cfg=dict(type='ViTPosePretrained',
                      checkpoint='pretrained_models/vitpose_large.pth')),
    head=dict(feat_dim=embed_dim))
