# SMPLest-X ViT-B (not released officially; ViTPose-B encoder, feat_dim = C).
# Everything but the encoder size is the shared recipe in ../_base_/smplestx_h40_recipe.py.
_base_ = ['../_base_/smplestx_h40_recipe.py']

embed_dim = 768

model = dict(
    backbone=dict(
        embed_dim=embed_dim,
        depth=12,
        num_heads=12,
        drop_path_rate=0.3,
        init_cfg=dict(type='ViTPosePretrained',
                      checkpoint='pretrained_models/vitpose_base.pth')),
    head=dict(feat_dim=embed_dim))
