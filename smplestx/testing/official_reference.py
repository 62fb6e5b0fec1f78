"""A faithful, unoptimised re-implementation of the official SMPLest-X forward pass.

Used as the baseline of ``tools/analysis_tools/benchmark_model.py`` and as an independent
cross-check in tests. It follows the official code step by step: explicit softmax
attention with the official scaling order, a contiguous copy of the patch features,
``token_conv`` on all 272 tokens, every readout (including the dead ones) and, in
:func:`official_decode`, every conversion the official test mode computes (four camera
translations, all 6D -> axis-angle conversions and the unused rotation matrices).
Parameter names equal the official ``encoder.*`` / ``decoder.*`` ones.
"""

from typing import Dict, Mapping, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from smplestx.models.utils.camera import get_camera_trans
from smplestx.models.utils.rotation import batch_rodrigues, rot6d_to_axis_angle


class _RefEncoderAttention(nn.Module):

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads)**-0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, -1))


class _RefMlp(nn.Module):

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class _RefBlock(nn.Module):

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = _RefEncoderAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = _RefMlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _RefPatchEmbed(nn.Module):

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=16, stride=16, padding=2)


class ReferenceEncoder(nn.Module):
    """The official ``ViT`` forward (inference: no drop path, no checkpointing)."""

    def __init__(self, embed_dim: int, depth: int, num_heads: int, mlp_ratio: float = 4.0,
                 num_task_tokens: int = 80) -> None:
        super().__init__()
        self.num_task_tokens = num_task_tokens
        self.patch_embed = _RefPatchEmbed(embed_dim)
        self.task_tokens = nn.Parameter(torch.zeros(1, num_task_tokens, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 193, embed_dim))
        self.blocks = nn.ModuleList(_RefBlock(embed_dim, num_heads, mlp_ratio)
                                    for _ in range(depth))
        self.last_norm = nn.LayerNorm(embed_dim, eps=1e-6)

    def forward(self, img: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return the patch features (B, C, Hp, Wp) and the task tokens (B, 80, C)."""
        b = img.shape[0]
        x = self.patch_embed.proj(img)
        hp, wp = x.shape[2], x.shape[3]
        x = x.flatten(2).transpose(1, 2)
        task_tokens = self.task_tokens.repeat(b, 1, 1)
        x = x + self.pos_embed[:, 1:] + self.pos_embed[:, :1]
        x = torch.cat((task_tokens, x), dim=1)
        for blk in self.blocks:
            x = blk(x)
        x = self.last_norm(x)
        tokens = x[:, :self.num_task_tokens]
        xp = x[:, self.num_task_tokens:].permute(0, 2, 1).reshape(b, -1, hp, wp).contiguous()
        return xp, tokens


class _RefSelfAttention(nn.Module):

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.heads = 8
        self.scale = 64**-0.5
        self.to_qkv = nn.Linear(dim, 1536, bias=False)
        self.to_out = nn.Sequential(nn.Linear(512, dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = (_heads(t, self.heads) for t in self.to_qkv(x).chunk(3, dim=-1))
        attn = (torch.matmul(q, k.transpose(-1, -2)) * self.scale).softmax(dim=-1)
        return self.to_out(_merge(torch.matmul(attn, v)))


class _RefCrossAttention(nn.Module):

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.heads = 8
        self.scale = 64**-0.5
        self.to_kv = nn.Linear(dim, 1024, bias=False)
        self.to_q = nn.Linear(dim, 512, bias=False)
        self.to_out = nn.Sequential(nn.Linear(512, dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        k, v = self.to_kv(context).chunk(2, dim=-1)
        q, k, v = (_heads(t, self.heads) for t in (self.to_q(x), k, v))
        attn = (torch.matmul(q, k.transpose(-1, -2)) * self.scale).softmax(dim=-1)
        return self.to_out(_merge(torch.matmul(attn, v)))


def _heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    b, n, _ = t.shape
    return t.reshape(b, n, heads, -1).permute(0, 2, 1, 3)


def _merge(t: torch.Tensor) -> torch.Tensor:
    b, _, n, _ = t.shape
    return t.permute(0, 2, 1, 3).reshape(b, n, -1)


class _RefPreNorm(nn.Module):

    def __init__(self, dim: int, fn: nn.Module) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        return self.fn(self.norm(x), **kwargs)


class _RefFeedForward(nn.Module):

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Dropout(0.0),
                                 nn.Linear(dim, dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _RefLayers(nn.Module):

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList([_RefPreNorm(dim, _RefSelfAttention(dim)),
                           _RefPreNorm(dim, _RefCrossAttention(dim)),
                           _RefPreNorm(dim, _RefFeedForward(dim))]) for _ in range(6))


class _RefTransformer(nn.Module):

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.to_token_embedding = nn.Linear(80, dim)
        self.pos_embedding = nn.Parameter(torch.randn(1, 1, dim))
        self.transformer = _RefLayers(dim)


_READOUT_SHAPES = (('dec_body_root_pose', 1, 6), ('dec_body_pose', 21, 126),
                   ('dec_body_shape', 10, 10), ('dec_body_cam', 1, 3),
                   ('dec_hand_root_pose', 2, 12), ('dec_hand_pose', 30, 180),
                   ('dec_hand_cam', 2, 6), ('dec_face_root_pose', 1, 6),
                   ('dec_face_expression', 10, 10), ('dec_face_jaw_pose', 1, 6),
                   ('dec_face_cam', 1, 3))


class ReferenceDecoder(nn.Module):
    """The official ``TransformerDecoderHead`` forward."""

    def __init__(self, feat_dim: int, dim_out: int = 512) -> None:
        super().__init__()
        self.transformer = _RefTransformer(feat_dim)
        self.token_conv = nn.Linear(feat_dim, dim_out)
        for name, count, out in _READOUT_SHAPES:
            self.add_module(name, nn.Linear(count * dim_out, out))

    def forward(self, token: torch.Tensor, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Decode task tokens (B, 80, C) and patch features (B, C, Hp, Wp) to raw outputs."""
        b = x.shape[0]
        x = x.flatten(2).permute(0, 2, 1)
        tokens = torch.cat((token, x), dim=1)
        tokens += self.transformer.pos_embedding[:, :tokens.shape[1]]
        for self_attn, cross_attn, ff in self.transformer.transformer.layers:
            tokens = self_attn(tokens) + tokens
            tokens = cross_attn(tokens, context=x) + tokens
            tokens = ff(tokens) + tokens
        out = self.token_conv(tokens)[:, :80, :]
        starts = (0, 1, 22, 32, 33, 35, 65, 67, 68, 78, 79)
        res = {}
        for (name, count, _), start in zip(_READOUT_SHAPES, starts):
            res[name] = getattr(self, name)(out[:, start:start + count, :].reshape(b, -1))
        return {
            'body_root_pose': res['dec_body_root_pose'], 'body_pose': res['dec_body_pose'],
            'body_betas': res['dec_body_shape'], 'body_cam': res['dec_body_cam'],
            'lhand_root_pose': res['dec_hand_root_pose'][:, :6],
            'rhand_root_pose': res['dec_hand_root_pose'][:, 6:],
            'lhand_pose': res['dec_hand_pose'][:, :90], 'rhand_pose': res['dec_hand_pose'][:, 90:],
            'lhand_cam': res['dec_hand_cam'][:, :3], 'rhand_cam': res['dec_hand_cam'][:, 3:],
            'face_root_pose': res['dec_face_root_pose'],
            'face_expression': res['dec_face_expression'],
            'face_jaw_pose': res['dec_face_jaw_pose'], 'face_cam': res['dec_face_cam'],
        }


class OfficialReferenceNet(nn.Module):
    """Official encoder + decoder on the 512x384 input (nearest resize inside).

    Args:
        embed_dim: Encoder width (= decoder ``feat_dim``).
        depth: Encoder blocks.
        num_heads: Encoder heads.
        dim_out: Decoder ``token_conv`` width.
    """

    def __init__(self, embed_dim: int, depth: int, num_heads: int, dim_out: int = 512) -> None:
        super().__init__()
        self.encoder = ReferenceEncoder(embed_dim, depth, num_heads)
        self.decoder = ReferenceDecoder(embed_dim, dim_out)

    def load_smplestx_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Load ``backbone.*``/``head.*`` weights of a smplestx model (strict)."""
        renamed = {}
        for key, value in state_dict.items():
            for ours, theirs in (('backbone.', 'encoder.'), ('head.', 'decoder.')):
                if key.startswith(ours):
                    renamed[theirs + key[len(ours):]] = value
        self.load_state_dict(renamed, strict=True)

    def forward(self, img: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Raw decoder outputs for (B, 3, 512, 384) images in [0, 1]."""
        body_img = F.interpolate(img, (256, 192))
        img_feat, task_tokens = self.encoder(body_img)
        return self.decoder(task_tokens, img_feat)


def official_decode(raw: Dict[str, torch.Tensor], body_model: nn.Module,
                    camera_3d_size: float = 2.5) -> Dict[str, torch.Tensor]:
    """Everything the official test mode computes after the decoder, used or not.

    Args:
        raw: Output of :class:`OfficialReferenceNet`.
        body_model: An ``SMPLXBodyModel``.
        camera_3d_size: The camera depth prior.

    Returns:
        The official test-output dict (without ``img``).
    """
    cam = dict(focal=body_model.focal, input_body_shape=body_model.input_body_shape,
               camera_3d_size=camera_3d_size)
    trans = {k: get_camera_trans(raw[k], **cam)
             for k in ('body_cam', 'lhand_cam', 'rhand_cam', 'face_cam')}
    b = raw['body_root_pose'].shape[0]
    aa = {k: rot6d_to_axis_angle(raw[k].reshape(-1, 6)).reshape(b, -1)
          for k in ('body_root_pose', 'body_pose', 'lhand_root_pose', 'rhand_root_pose',
                    'lhand_pose', 'rhand_pose', 'face_root_pose', 'face_jaw_pose')}
    # The official test mode also builds these rotation matrices and never uses them.
    rotmats = {k: batch_rodrigues(v.reshape(-1, 3)).reshape(b, -1) for k, v in aa.items()}
    torch.cat([rotmats[k] for k in ('body_root_pose', 'body_pose', 'lhand_pose', 'rhand_pose',
                                    'face_jaw_pose')], 1)
    coord = body_model.get_coord(aa['body_root_pose'], aa['body_pose'], aa['lhand_pose'],
                                 aa['rhand_pose'], aa['face_jaw_pose'], raw['body_betas'],
                                 raw['face_expression'], trans['body_cam'])
    return {
        'smplx_joint_proj': coord['joint_proj'], 'smplx_mesh_cam': coord['mesh_cam'],
        'smplx_root_pose': aa['body_root_pose'], 'smplx_body_pose': aa['body_pose'],
        'smplx_lhand_pose': aa['lhand_pose'], 'smplx_rhand_pose': aa['rhand_pose'],
        'smplx_jaw_pose': aa['face_jaw_pose'], 'smplx_shape': raw['body_betas'],
        'smplx_expr': raw['face_expression'], 'cam_trans': trans['body_cam'],
        'smplx_joint_cam': coord['joint_cam_wo_ra'],
    }
