# The SMPLest-X model: ViT encoder with 80 task tokens, SMPL-X transformer decoder head,
# SMPL-X body model and the official losses, with the released ViT-H sizes. Smaller models
# override the encoder sizes and the head's feat_dim (see configs/smplestx/).
# The SMPL-X folder stays None here: set $SMPLESTX_BODY_MODELS or
# --cfg-options model.head.body_model.body_model_dir=<folder>.
embed_dim = 1280

model = dict(
    type='SMPLestX',
    data_preprocessor=dict(type='SMPLXDataPreprocessor', input_shape=(512, 384), stride=2),
    backbone=dict(
        type='ViT',
        img_size=(256, 192),
        patch_size=16,
        embed_dim=embed_dim,
        depth=32,
        num_heads=16,
        mlp_ratio=4,
        qkv_bias=True,
        drop_path_rate=0.55,
        num_task_tokens=80,
        patch_padding=2,
        use_checkpoint=False,
        attn_impl='sdpa',
        frozen_stages=-1,
        init_cfg=dict(type='ViTPosePretrained',
                      checkpoint='pretrained_models/vitpose_huge.pth')),
    head=dict(
        type='SMPLXTransformerHead',
        feat_dim=embed_dim,
        dim_out=512,
        num_task_tokens=80,
        depth=6,
        num_heads=8,
        head_dim=64,
        attn_impl='sdpa',
        skip_unused_heads=True,
        camera_3d_size=2.5,
        official_cross_quirk=False,
        body_model=dict(
            type='SMPLXBodyModel',
            body_model_dir=None,
            gender='neutral',
            focal=(5000., 5000.),
            princpt=(96., 128.),
            input_body_shape=(256, 192),
            output_hm_shape=(16, 12)),
        loss=dict(
            type='SMPLestXLoss',
            kps3d_weight=100.0,
            kps2d_weight=1.0,
            pose_weight=10.0,
            shape_weight=1.0,
            orient_weight=1.0,
            expr_weight=1.0,
            hand_root_weight=1.0,
            chain_hand_loss=True,
            official_broadcast=False)),
    train_cfg=dict(),
    test_cfg=dict())
