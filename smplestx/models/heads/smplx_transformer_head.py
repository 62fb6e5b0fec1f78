"""SMPL-X transformer decoder head of SMPLest-X: tokens -> SMPL-X parameters -> mesh."""

from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import nn

from smplestx.models.backbones.vit import check_attn_impl
from smplestx.models.heads.transformer_decoder import TransformerDecoder
from smplestx.models.utils.camera import crop_camera_to_image, get_camera_trans
from smplestx.models.utils.rotation import rot6d_to_axis_angle
from smplestx.registry import MODELS
from smplestx.utils.typing import OptConfigType, OptMultiConfig, SampleList

NUM_BODY_JOINTS = 21  # SMPL-X body joints without the pelvis
NUM_HAND_JOINTS = 15
NUM_BETAS = 10
NUM_EXPRESSION = 10
NUM_TASK_TOKENS = 80

#: Linear readouts: (module name, first token, token count, output size). Each reads the
#: flattened (token-major) ``token_conv`` features of its token slice.
READOUTS: Tuple[Tuple[str, int, int, int], ...] = (
    ('dec_body_root_pose', 0, 1, 6),
    ('dec_body_pose', 1, NUM_BODY_JOINTS, NUM_BODY_JOINTS * 6),
    ('dec_body_shape', 22, NUM_BETAS, NUM_BETAS),
    ('dec_body_cam', 32, 1, 3),
    ('dec_hand_root_pose', 33, 2, 12),
    ('dec_hand_pose', 35, 2 * NUM_HAND_JOINTS, 2 * NUM_HAND_JOINTS * 6),
    ('dec_hand_cam', 65, 2, 6),
    ('dec_face_root_pose', 67, 1, 6),
    ('dec_face_expression', 68, NUM_EXPRESSION, NUM_EXPRESSION),
    ('dec_face_jaw_pose', 78, 1, 6),
    ('dec_face_cam', 79, 1, 3),
)

#: Raw output keys of each readout (a readout of both sides is split in half).
READOUT_KEYS: Dict[str, Tuple[str, ...]] = {
    'dec_body_root_pose': ('body_root_pose', ),
    'dec_body_pose': ('body_pose', ),
    'dec_body_shape': ('body_betas', ),
    'dec_body_cam': ('body_cam', ),
    'dec_hand_root_pose': ('lhand_root_pose', 'rhand_root_pose'),
    'dec_hand_pose': ('lhand_pose', 'rhand_pose'),
    'dec_hand_cam': ('lhand_cam', 'rhand_cam'),
    'dec_face_root_pose': ('face_root_pose', ),
    'dec_face_expression': ('face_expression', ),
    'dec_face_jaw_pose': ('face_jaw_pose', ),
    'dec_face_cam': ('face_cam', ),
}

#: 6D rotation outputs of :meth:`SMPLXTransformerHead.forward` -> axis-angle keys of ``decode``.
ROTATION_KEYS: Dict[str, str] = {
    'body_root_pose': 'root_pose',
    'body_pose': 'body_pose',
    'lhand_pose': 'lhand_pose',
    'rhand_pose': 'rhand_pose',
    'face_jaw_pose': 'jaw_pose',
    'lhand_root_pose': 'lhand_root_pose',
    'rhand_root_pose': 'rhand_root_pose',
}

#: Readouts whose outputs no loss and no prediction uses (kept so weights load strictly).
UNUSED_READOUTS = ('dec_hand_cam', 'dec_face_root_pose', 'dec_face_cam')
#: Readouts used only by the training losses.
TRAIN_ONLY_READOUTS = ('dec_hand_root_pose', )


@MODELS.register_module()
class SMPLXTransformerHead(BaseModule):
    """Transformer decoder over [task tokens; image tokens] with linear SMPL-X readouts.

    The 80 task tokens and the 192 image tokens are decoded together (self-attention over
    all 272, cross-attention to the image tokens), projected by ``token_conv`` and read out
    slice by slice (see :data:`READOUTS`). Rotations come out in 6D; :meth:`decode` turns
    them into axis-angle, places the SMPL-X body in the crop's virtual camera and poses it.

    Args:
        feat_dim: Token width C of the backbone.
        dim_out: Width of ``token_conv`` (512 in SMPLest-X).
        num_task_tokens: Must be 80 (the readout slices are fixed).
        depth: Decoder layers.
        num_heads: Decoder heads.
        head_dim: Width per decoder head.
        attn_impl: ``'sdpa'`` (default) or ``'explicit'`` (the official softmax path).
        skip_unused_heads: In eval mode, skip the readouts that nothing uses (hand and
            face cameras, face root pose, hand root poses). Training runs them all.
        body_model: Config of the SMPL-X body model (``SMPLXBodyModel``); needed by
            :meth:`decode`, :meth:`predict` and :meth:`loss`.
        loss: Config of the loss module (``SMPLestXLoss``); needed by :meth:`loss`.
        camera_3d_size: Metric size behind the depth prior of the camera translation.
        official_cross_quirk: Reproduce the official 6D conversion bug for batches of
            exactly 3 (``torch.cross`` over the batch axis).
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 feat_dim: int,
                 dim_out: int = 512,
                 num_task_tokens: int = NUM_TASK_TOKENS,
                 depth: int = 6,
                 num_heads: int = 8,
                 head_dim: int = 64,
                 attn_impl: str = 'sdpa',
                 skip_unused_heads: bool = True,
                 body_model: OptConfigType = None,
                 loss: OptConfigType = None,
                 camera_3d_size: float = 2.5,
                 official_cross_quirk: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_task_tokens != NUM_TASK_TOKENS:
            raise ValueError(f'SMPLXTransformerHead reads fixed slices of {NUM_TASK_TOKENS} task '
                             f'tokens; got num_task_tokens={num_task_tokens}')
        self.feat_dim = feat_dim
        self.num_task_tokens = num_task_tokens
        self.skip_unused_heads = skip_unused_heads
        self.camera_3d_size = camera_3d_size
        self.official_cross_quirk = official_cross_quirk
        self.transformer = TransformerDecoder(
            feat_dim, num_task_tokens, depth=depth, num_heads=num_heads, head_dim=head_dim,
            mlp_dim=feat_dim, context_dim=feat_dim, attn_impl=check_attn_impl(attn_impl))
        self.token_conv = nn.Linear(feat_dim, dim_out)
        for name, _, count, out in READOUTS:
            self.add_module(name, nn.Linear(count * dim_out, out))
        self.body_model = MODELS.build(body_model) if body_model is not None else None
        self.loss_module = MODELS.build(loss) if loss is not None else None

    # ------------------------------------------------------------------ network
    def set_attn_impl(self, attn_impl: str) -> None:
        """Switch every decoder attention between ``'sdpa'`` and ``'explicit'``."""
        check_attn_impl(attn_impl)
        for module in self.transformer.modules():
            if hasattr(module, 'attn_impl'):
                module.attn_impl = attn_impl

    def active_readouts(self) -> List[str]:
        """Names of the readouts :meth:`forward` runs in the current mode."""
        skip = ()
        if self.skip_unused_heads and not self.training:
            skip = UNUSED_READOUTS + TRAIN_ONLY_READOUTS
        return [name for name, *_ in READOUTS if name not in skip]

    def forward(self, feats: Tuple[torch.Tensor, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Decode the backbone output into raw SMPL-X parameters.

        Args:
            feats: ``(img_feat (B, C, Hp, Wp), task_tokens (B, 80, C))`` from the backbone.

        Returns:
            The raw outputs with the official key names: 6D rotations
            (``body_root_pose`` (B, 6), ``body_pose`` (B, 126), ``lhand_pose`` and
            ``rhand_pose`` (B, 90), ``lhand_root_pose``, ``rhand_root_pose``,
            ``face_root_pose``, ``face_jaw_pose`` (B, 6)), ``body_betas`` and
            ``face_expression`` (B, 10) and weak cameras ``body_cam``, ``lhand_cam``,
            ``rhand_cam``, ``face_cam`` (B, 3). Skipped readouts are absent.
        """
        img_feat, task_tokens = feats
        batch = img_feat.shape[0]
        # The decoder may run in another precision than the backbone (no-ops when equal).
        dtype = self.transformer.pos_embedding.dtype
        img_tokens = img_feat.flatten(2).transpose(1, 2).to(dtype)
        tokens = torch.cat((task_tokens.to(dtype), img_tokens), dim=1)
        # One contiguous copy of the context instead of one per cross-attention layer.
        context = img_tokens.contiguous()
        tokens = self.transformer(tokens, context, num_out_tokens=self.num_task_tokens)
        # The readouts stay fp32 when the decoder runs in low precision (a no-op in fp32).
        tokens = self.token_conv(tokens.to(self.token_conv.weight.dtype))
        active = set(self.active_readouts())
        raw = {}
        for name, start, count, _ in READOUTS:
            if name not in active:
                continue
            out = getattr(self, name)(tokens[:, start:start + count].reshape(batch, -1))
            keys = READOUT_KEYS[name]
            for key, part in zip(keys, out.chunk(len(keys), dim=1)):
                raw[key] = part
        return raw

    # ------------------------------------------------------------------ geometry
    def _require(self, attr: str, what: str) -> nn.Module:
        module = getattr(self, attr)
        if module is None:
            raise RuntimeError(f'SMPLXTransformerHead was built without `{attr}`; {what} '
                               f'needs it (set head.{attr.replace("_module", "")} in the config)')
        return module

    def rotations_to_axis_angle(self, raw: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Convert the predicted 6D rotations of ``raw`` to axis-angle.

        All rotations go through one batched conversion; the arithmetic is per rotation, so
        this equals converting each part on its own up to the last bit of vectorised
        kernels. With ``official_cross_quirk`` each part is converted separately, because
        the quirk depends on the number of rotations per call.

        Args:
            raw: The output of :meth:`forward`.

        Returns:
            ``root_pose`` (B, 3), ``body_pose`` (B, 63), ``lhand_pose``, ``rhand_pose``
            (B, 45), ``jaw_pose`` (B, 3), plus ``lhand_root_pose`` and ``rhand_root_pose``
            (B, 3) when ``raw`` has them.
        """
        parts = [(out_key, raw[raw_key]) for raw_key, out_key in ROTATION_KEYS.items()
                 if raw_key in raw]
        batch = parts[0][1].shape[0]
        if self.official_cross_quirk:
            return {key: rot6d_to_axis_angle(rot.reshape(-1, 6), official_cross_quirk=True)
                    .reshape(batch, -1) for key, rot in parts}
        counts = [rot.shape[1] // 6 for _, rot in parts]
        flat = torch.cat([rot.reshape(batch, -1, 6) for _, rot in parts], dim=1)
        axis_angle = rot6d_to_axis_angle(flat)
        return {key: aa.reshape(batch, -1)
                for (key, _), aa in zip(parts, axis_angle.split(counts, dim=1))}

    def decode_params(self, raw: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """The parameter part of :meth:`decode`: poses, shape, expression, camera.

        Args:
            raw: The output of :meth:`forward`.

        Returns:
            The axis-angle poses of :meth:`rotations_to_axis_angle`, ``shape``, ``expr``
            (B, 10) and ``cam_trans`` (B, 3); no SMPL-X layer call.
        """
        body_model = self._require('body_model', 'decode_params()')
        out = self.rotations_to_axis_angle(raw)
        out.update(
            shape=raw['body_betas'],
            expr=raw['face_expression'],
            cam_trans=get_camera_trans(raw['body_cam'], focal=tuple(body_model.focal),
                                       input_body_shape=tuple(body_model.input_body_shape),
                                       camera_3d_size=self.camera_3d_size))
        return out

    def decode(self, raw: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Turn raw outputs into axis-angle poses, camera translation and posed SMPL-X.

        Follows the official ``Model.forward``: 6D -> axis-angle for the root, 21 body
        joints, 15 joints per hand and the jaw; ``t = [cx, cy, k * sigmoid(cz)]`` from
        ``body_cam``; SMPL-X posed with ``transl = t`` (see ``SMPLXBodyModel.get_coord``).
        Hand root poses are converted only when present (training).

        Args:
            raw: The output of :meth:`forward`.

        Returns:
            ``root_pose`` (B, 3), ``body_pose`` (B, 63), ``lhand_pose``, ``rhand_pose``
            (B, 45), ``jaw_pose`` (B, 3) (axis-angle), ``shape``, ``expr`` (B, 10),
            ``cam_trans`` (B, 3), ``joint_proj`` (B, J, 2) (heatmap units),
            ``joint_cam`` (B, J, 3) (part-relative), ``joint_cam_wo_ra`` (B, J, 3)
            (pelvis-relative), ``mesh_cam`` (B, V, 3), ``root_cam`` (B, 1, 3), plus
            ``lhand_root_pose``/``rhand_root_pose`` (B, 3) when the raw dict has them.
        """
        body_model = self._require('body_model', 'decode()')
        out = self.decode_params(raw)
        out.update(body_model.get_coord(out['root_pose'], out['body_pose'], out['lhand_pose'],
                                        out['rhand_pose'], out['jaw_pose'], out['shape'],
                                        out['expr'], out['cam_trans']))
        return out

    # ------------------------------------------------------------------ predict / loss
    def predict(self, feats: Tuple[torch.Tensor, torch.Tensor], data_samples: SampleList,
                test_cfg: OptConfigType = None) -> SampleList:
        """Predict SMPL-X for every crop and store it in ``pred_instances``.

        Args:
            feats: The backbone output.
            data_samples: One ``SMPLXDataSample`` per crop; when its metainfo has
                ``bbox`` (processed xywh in the original image), image-space
                ``keypoints_2d``, ``focal`` and ``princpt`` are added.
            test_cfg: Unused; kept for the MMEngine head interface.

        Returns:
            The same data samples with ``pred_instances`` filled (leading dim 1):
            ``global_orient`` (1, 3), ``body_pose`` (1, 21, 3), ``left_hand_pose``,
            ``right_hand_pose`` (1, 15, 3), ``jaw_pose`` (1, 3), ``betas``,
            ``expression`` (1, 10), ``transl`` (1, 3), ``vertices`` (1, V, 3),
            ``joints`` (1, J, 3) (camera frame), ``keypoints_2d_hm`` (1, J, 2).
        """
        out = self.decode(self.forward(feats))
        return self.pack_predictions(out, data_samples)

    def pack_predictions(self, out: Dict[str, torch.Tensor],
                         data_samples: SampleList) -> SampleList:
        """Store decoded outputs (see :meth:`decode`) in the data samples."""
        body_model = self._require('body_model', 'predict()')
        joints_abs = camera_frame_joints(out)
        hm_h, hm_w = body_model.output_hm_shape[-2:]
        for i, sample in enumerate(data_samples):
            pred = InstanceData()
            pred.global_orient = out['root_pose'][i:i + 1]
            pred.body_pose = out['body_pose'][i:i + 1].reshape(1, NUM_BODY_JOINTS, 3)
            pred.left_hand_pose = out['lhand_pose'][i:i + 1].reshape(1, NUM_HAND_JOINTS, 3)
            pred.right_hand_pose = out['rhand_pose'][i:i + 1].reshape(1, NUM_HAND_JOINTS, 3)
            pred.jaw_pose = out['jaw_pose'][i:i + 1]
            pred.betas = out['shape'][i:i + 1]
            pred.expression = out['expr'][i:i + 1]
            pred.transl = out['cam_trans'][i:i + 1]
            pred.vertices = out['mesh_cam'][i:i + 1]
            pred.joints = joints_abs[i:i + 1]
            pred.keypoints_2d_hm = out['joint_proj'][i:i + 1]
            bbox = sample.metainfo.get('bbox', None)
            if bbox is not None:
                bbox = torch.as_tensor(bbox, dtype=out['joint_proj'].dtype,
                                       device=out['joint_proj'].device).reshape(-1)[:4]
                scale = torch.stack((bbox[2] / hm_w, bbox[3] / hm_h))
                pred.keypoints_2d = out['joint_proj'][i:i + 1] * scale + bbox[:2]
                focal, princpt = crop_camera_to_image(
                    bbox, tuple(body_model.focal), tuple(body_model.princpt),
                    tuple(body_model.input_body_shape))
                pred.focal = torch.as_tensor(focal, dtype=bbox.dtype,
                                             device=bbox.device).reshape(1, 2)
                pred.princpt = torch.as_tensor(princpt, dtype=bbox.dtype,
                                               device=bbox.device).reshape(1, 2)
            sample.pred_instances = pred
        return data_samples

    def loss(self, feats: Tuple[torch.Tensor, torch.Tensor], data_samples: SampleList,
             train_cfg: OptConfigType = None) -> Dict[str, torch.Tensor]:
        """Compute the SMPLest-X losses.

        Args:
            feats: The backbone output.
            data_samples: One ``SMPLXDataSample`` per crop whose ``gt_instances`` hold
                the official target and mask names with a leading dim 1 (see
                :data:`TARGET_KEYS` and :data:`META_KEYS`).
            train_cfg: Unused; kept for the MMEngine head interface.

        Returns:
            The loss dict of the loss module (``loss_*`` entries).
        """
        loss_module = self._require('loss_module', 'loss()')
        out = self.decode(self.forward(feats))
        device = out['shape'].device
        targets = gather_instances(data_samples, TARGET_KEYS, device)
        meta_info = gather_instances(data_samples, META_KEYS, device)
        return loss_module(out, targets, meta_info)


#: Ground-truth fields the loss reads from ``gt_instances``.
TARGET_KEYS = ('joint_img', 'joint_cam', 'smplx_joint_cam', 'smplx_pose', 'smplx_shape',
               'smplx_expr', 'lhand_root', 'rhand_root')
#: Validity and truncation fields the loss reads from ``gt_instances``.
META_KEYS = ('joint_valid', 'joint_trunc', 'smplx_joint_valid', 'smplx_joint_trunc',
             'smplx_pose_valid', 'smplx_shape_valid', 'smplx_expr_valid', 'is_3D')


def camera_frame_joints(decoded: Dict[str, torch.Tensor]) -> torch.Tensor:
    """(B, J, 3) camera-frame joints of :meth:`SMPLXTransformerHead.decode`'s output."""
    return decoded['joint_cam_wo_ra'] + decoded['root_cam']


def gather_instances(data_samples: SampleList, keys: Sequence[str],
                     device: Optional[torch.device] = None) -> Dict[str, torch.Tensor]:
    """Concatenate ``gt_instances`` fields of all samples along the instance dim.

    Args:
        data_samples: Data samples, each with ``gt_instances`` holding ``keys``.
        keys: Field names.
        device: Device of the result (default: where the fields are).

    Returns:
        ``{key: tensor (B, ...)}``.

    Raises:
        KeyError: Naming the first missing field and sample.
    """
    out = {}
    for key in keys:
        parts = []
        for i, sample in enumerate(data_samples):
            gt = sample.get('gt_instances', None)
            if gt is None or key not in gt:
                raise KeyError(f'data_samples[{i}].gt_instances has no `{key}` '
                               f'(needed by the SMPLest-X loss)')
            parts.append(torch.as_tensor(gt.get(key), device=device))
        out[key] = torch.cat(parts, dim=0)
    return out

