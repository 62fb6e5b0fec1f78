"""A faithful, unoptimised re-implementation of the official SMPLest-X forward pass.

Used as the baseline of ``tools/analysis_tools/benchmark_model.py`` and as an independent
cross-check in tests, so it must do all the work the official test mode does:

* encoder: explicit softmax attention with the official scaling order, the task tokens
  expanded as einops ``repeat`` does, the contiguous channel-first copy of the patch
  features;
* decoder: the same explicit attention with the einops-style head split/merge copies,
  ``token_conv`` on all 272 tokens and every readout, including the dead ones;
* :func:`official_decode`: four camera translations, eight 6D -> axis-angle conversions and
  eight axis-angle -> matrix conversions (most never used in test mode) with the official
  operation sequences of ``utils/transforms.py``, then the official ``get_coord`` (SMPL-X
  layer call with zero eye poses, index-list joint selection, projection, part-relative
  joints).

Parameter names equal the official ``encoder.*`` / ``decoder.*`` ones.
"""

import math
from typing import Dict, Mapping, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from smplestx.structures.keypoint.smplx_conventions import (
    LWRIST_IDX,
    NECK_IDX,
    ROOT_IDX,
    RWRIST_IDX,
    SMPLX_137_FROM_144,
    SMPLX_137_PARTS,
)


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
        task_tokens = self.task_tokens.expand(b, -1, -1)  # einops ``repeat`` returns a view
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

    def load_smplestx_state_dict(self, state_dict: Mapping[str, torch.Tensor],
                                 share: bool = False) -> None:
        """Load ``backbone.*``/``head.*`` weights of a smplestx model (strict).

        Args:
            state_dict: The smplestx model's state dict.
            share: Use the given tensors as the weights instead of copying them (saves
                the memory of a second copy of a large model in the benchmark).
        """
        renamed = {}
        for key, value in state_dict.items():
            for ours, theirs in (('backbone.', 'encoder.'), ('head.', 'decoder.')):
                if key.startswith(ours):
                    renamed[theirs + key[len(ours):]] = value
        self.load_state_dict(renamed, strict=True, assign=share)

    def forward(self, img: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Raw decoder outputs for (B, 3, 512, 384) images in [0, 1]."""
        body_img = F.interpolate(img, (256, 192))
        img_feat, task_tokens = self.encoder(body_img)
        return self.decoder(task_tokens, img_feat)


# ----------------------------------------------------------------------------- decoding
# The official ``utils/transforms.py`` conversions, operation for operation (3x4 padding,
# repeated scale rows, float masks, in-place accumulation), so that the reference does the
# same work. Only the device handling differs (no ``.cuda()``).


def _official_rotmat34_to_quaternion(mat34: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """(N, 3, 4) -> (N, 4) quaternions, as ``rotation_matrix_to_quaternion``."""
    m = torch.transpose(mat34, 1, 2)
    on_d2 = m[:, 2, 2] < eps
    d0_gt_d1 = m[:, 0, 0] > m[:, 1, 1]
    d0_lt_neg_d1 = m[:, 0, 0] < -m[:, 1, 1]
    traces = (1 + m[:, 0, 0] - m[:, 1, 1] - m[:, 2, 2], 1 - m[:, 0, 0] + m[:, 1, 1] - m[:, 2, 2],
              1 - m[:, 0, 0] - m[:, 1, 1] + m[:, 2, 2], 1 + m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2])
    cands = (
        torch.stack([m[:, 1, 2] - m[:, 2, 1], traces[0], m[:, 0, 1] + m[:, 1, 0],
                     m[:, 2, 0] + m[:, 0, 2]], -1),
        torch.stack([m[:, 2, 0] - m[:, 0, 2], m[:, 0, 1] + m[:, 1, 0], traces[1],
                     m[:, 1, 2] + m[:, 2, 1]], -1),
        torch.stack([m[:, 0, 1] - m[:, 1, 0], m[:, 2, 0] + m[:, 0, 2],
                     m[:, 1, 2] + m[:, 2, 1], traces[2]], -1),
        torch.stack([traces[3], m[:, 1, 2] - m[:, 2, 1], m[:, 2, 0] - m[:, 0, 2],
                     m[:, 0, 1] - m[:, 1, 0]], -1),
    )
    reps = [t.repeat(4, 1).t() for t in traces]
    d2, d01, d0n1 = on_d2.float(), d0_gt_d1.float(), d0_lt_neg_d1.float()
    masks = (d2 * d01, d2 * (1 - d01), (1 - d2) * d0n1, (1 - d2) * (1 - d0n1))
    masks = [mask.view(-1, 1).type_as(cand) for mask, cand in zip(masks, cands)]
    q = cands[0] * masks[0] + cands[1] * masks[1] + cands[2] * masks[2] + cands[3] * masks[3]
    q /= torch.sqrt(reps[0] * masks[0] + reps[1] * masks[1] + reps[2] * masks[2] +
                    reps[3] * masks[3])
    q *= 0.5
    return q


def _official_quaternion_to_axis_angle(quat: torch.Tensor) -> torch.Tensor:
    """(..., 4) -> (..., 3), as the ceres-based ``quaternion_to_angle_axis``."""
    q1, q2, q3 = quat[..., 1], quat[..., 2], quat[..., 3]
    sin_sq = q1 * q1 + q2 * q2 + q3 * q3
    sin_theta = torch.sqrt(sin_sq)
    cos_theta = quat[..., 0]
    two_theta = 2.0 * torch.where(cos_theta < 0.0, torch.atan2(-sin_theta, -cos_theta),
                                  torch.atan2(sin_theta, cos_theta))
    k = torch.where(sin_sq > 0.0, two_theta / sin_theta, 2.0 * torch.ones_like(sin_theta))
    axis_angle = torch.zeros_like(quat)[..., :3]
    axis_angle[..., 0] += q1 * k
    axis_angle[..., 1] += q2 * k
    axis_angle[..., 2] += q3 * k
    return axis_angle


def official_rot6d_to_axis_angle(x: torch.Tensor) -> torch.Tensor:
    """The official ``rot6d_to_axis_angle`` on (N, 6) or (N, 6k) rows -> (N*k, 3).

    Includes its ``torch.cross`` without ``dim`` (the first axis of size 3: the batch axis
    when exactly three rotations are converted at once).
    """
    mat32 = x.view(-1, 3, 2)
    a1, a2 = mat32[:, :, 0], mat32[:, :, 1]
    b1 = F.normalize(a1)
    b2 = F.normalize(a2 - torch.einsum('bi,bi->b', b1, a2).unsqueeze(-1) * b1)
    b3 = torch.cross(b1, b2, dim=0 if b1.shape[0] == 3 else 1)
    mat = torch.stack((b1, b2, b3), dim=-1)
    mat34 = torch.cat([mat, torch.zeros((mat.shape[0], 3, 1), dtype=x.dtype, device=x.device)],
                      2)
    axis_angle = _official_quaternion_to_axis_angle(
        _official_rotmat34_to_quaternion(mat34)).reshape(-1, 3)
    axis_angle[torch.isnan(axis_angle)] = 0.0
    return axis_angle


def official_batch_rodrigues(theta: torch.Tensor) -> torch.Tensor:
    """(N, 3) axis-angle -> (N, 3, 3), as the official quaternion-based ``batch_rodrigues``."""
    angle = torch.unsqueeze(torch.norm(theta + 1e-8, p=2, dim=1), -1)
    axis = torch.div(theta, angle)
    half = angle * 0.5
    quat = torch.cat([torch.cos(half), torch.sin(half) * axis], dim=1)
    quat = quat / quat.norm(p=2, dim=1, keepdim=True)
    w, x, y, z = quat[:, 0], quat[:, 1], quat[:, 2], quat[:, 3]
    w2, x2, y2, z2 = w.pow(2), x.pow(2), y.pow(2), z.pow(2)
    wx, wy, wz = w * x, w * y, w * z
    xy, xz, yz = x * y, x * z, y * z
    return torch.stack([w2 + x2 - y2 - z2, 2 * xy - 2 * wz, 2 * wy + 2 * xz,
                        2 * wz + 2 * xy, w2 - x2 + y2 - z2, 2 * yz - 2 * wx,
                        2 * xz - 2 * wy, 2 * wx + 2 * yz, w2 - x2 - y2 + z2],
                       dim=1).view(theta.shape[0], 3, 3)


def official_camera_trans(cam: torch.Tensor, focal: Sequence[float],
                          input_body_shape: Sequence[int],
                          camera_3d_size: float) -> torch.Tensor:
    """The official ``Model.get_camera_trans`` (a fresh float32 depth-scale tensor per call)."""
    gamma = torch.sigmoid(cam[:, 2])
    k = torch.FloatTensor([math.sqrt(focal[0] * focal[1] * camera_3d_size * camera_3d_size /
                                     (input_body_shape[0] * input_body_shape[1]))]).view(-1)
    t_z = k.to(cam.device) * gamma
    return torch.cat((cam[:, :2], t_z[:, None]), 1)


def official_get_coord(body_model: nn.Module, root_pose: torch.Tensor, body_pose: torch.Tensor,
                       lhand_pose: torch.Tensor, rhand_pose: torch.Tensor, jaw_pose: torch.Tensor,
                       shape: torch.Tensor, expr: torch.Tensor,
                       cam_trans: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The official ``Model.get_coord`` (137 joints) on ``body_model``'s SMPL-X layer.

    The layer is called with the official arguments (zero eye poses, ``transl``); the joint
    subset, projection and part-relative steps use index lists and concatenations as the
    official code does.
    """
    batch = root_pose.shape[0]
    eye = torch.zeros((1, 3), dtype=root_pose.dtype, device=root_pose.device).repeat(batch, 1)
    output = body_model.smplx_layer(
        betas=shape, body_pose=body_pose, global_orient=root_pose, right_hand_pose=rhand_pose,
        transl=cam_trans, left_hand_pose=lhand_pose, jaw_pose=jaw_pose, leye_pose=eye,
        reye_pose=eye, expression=expr)
    mesh_cam = output.vertices
    joints = output.joints[:, list(SMPLX_137_FROM_144), :]
    (fx, fy), (cx, cy) = body_model.focal, body_model.princpt
    (in_h, in_w), (hm_h, hm_w) = body_model.input_body_shape, body_model.output_hm_shape[-2:]
    u = joints[:, :, 0] / (joints[:, :, 2] + 1e-4) * fx + cx
    v = joints[:, :, 1] / (joints[:, :, 2] + 1e-4) * fy + cy
    joint_proj = torch.stack((u / in_w * hm_w, v / in_h * hm_h), 2)
    root_cam = joints[:, ROOT_IDX, None, :]
    joint_cam = joints - root_cam
    joint_cam_wo_ra = joint_cam.clone()
    for part, anchor in (('lhand', LWRIST_IDX), ('rhand', RWRIST_IDX), ('face', NECK_IDX)):
        idx = list(SMPLX_137_PARTS[part])
        rel = joint_cam[:, idx, :] - joint_cam[:, anchor, None, :]
        joint_cam = torch.cat((joint_cam[:, :idx[0], :], rel, joint_cam[:, idx[-1] + 1:, :]), 1)
    return {'joint_proj': joint_proj, 'joint_cam': joint_cam,
            'joint_cam_wo_ra': joint_cam_wo_ra, 'mesh_cam': mesh_cam, 'root_cam': root_cam}


def official_decode(raw: Dict[str, torch.Tensor], body_model: nn.Module,
                    camera_3d_size: float = 2.5) -> Dict[str, torch.Tensor]:
    """Everything the official test mode computes after the decoder, used or not.

    Four camera translations, eight 6D -> axis-angle conversions, eight axis-angle ->
    matrix conversions and their concatenations (never used in test mode), then the
    official ``get_coord``.

    Args:
        raw: Output of :class:`OfficialReferenceNet`.
        body_model: An ``SMPLXBodyModel`` (its ``smplx_layer`` and camera constants).
        camera_3d_size: The camera depth prior.

    Returns:
        The official test-output dict (without ``img``).
    """
    cam = dict(focal=body_model.focal, input_body_shape=body_model.input_body_shape,
               camera_3d_size=camera_3d_size)
    trans = {k: official_camera_trans(raw[k], **cam)
             for k in ('body_cam', 'lhand_cam', 'rhand_cam', 'face_cam')}
    b = raw['body_root_pose'].shape[0]
    aa = {k: official_rot6d_to_axis_angle(raw[k].reshape(-1, 6)).reshape(b, -1)
          for k in ('body_root_pose', 'body_pose', 'lhand_root_pose', 'rhand_root_pose',
                    'lhand_pose', 'rhand_pose', 'face_root_pose', 'face_jaw_pose')}
    rotmats = {k: official_batch_rodrigues(v.reshape(-1, 3)).reshape(b, -1)
               for k, v in aa.items()}
    torch.cat((rotmats['body_root_pose'], rotmats['body_pose']), 1)
    torch.cat([rotmats[k] for k in ('body_root_pose', 'body_pose', 'lhand_pose', 'rhand_pose',
                                    'face_jaw_pose')], 1)
    coord = official_get_coord(body_model, aa['body_root_pose'], aa['body_pose'],
                               aa['lhand_pose'], aa['rhand_pose'], aa['face_jaw_pose'],
                               raw['body_betas'], raw['face_expression'], trans['body_cam'])
    return {
        'smplx_joint_proj': coord['joint_proj'], 'smplx_mesh_cam': coord['mesh_cam'],
        'smplx_root_pose': aa['body_root_pose'], 'smplx_body_pose': aa['body_pose'],
        'smplx_lhand_pose': aa['lhand_pose'], 'smplx_rhand_pose': aa['rhand_pose'],
        'smplx_jaw_pose': aa['face_jaw_pose'], 'smplx_shape': raw['body_betas'],
        'smplx_expr': raw['face_expression'], 'cam_trans': trans['body_cam'],
        'smplx_joint_cam': coord['joint_cam_wo_ra'],
    }
