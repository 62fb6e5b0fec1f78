# SMPLest-X ViT-S (not released officially; ViTPose-S encoder, feat_dim = C).
# Everything but the encoder size is the shared recipe in ../_base_/smplestx_h40_recipe.py.
_base_ = ['../_base_/smplestx_h40_recipe.py']

embed_dim = 384

model = dict(
    backbone=dict(
        embed_dim=embed_dim,
        depth=12,
        num_heads=12,
        drop_path_rate=0.1,
        init_cfg=dict(type='ViTPosePretrained',
                      checkpoint='pretrained_models/vitpose_small.pth')),
    head=dict(feat_dim=embed_dim))
