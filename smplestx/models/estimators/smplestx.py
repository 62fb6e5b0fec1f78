"""The SMPLest-X estimator: ViT backbone + SMPL-X transformer head + SMPL-X body model."""

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModel
from torch import nn

from smplestx.models.utils.checkpoint_conversion import (
    CheckpointMismatchError,
    convert_official_state_dict,
    is_official_checkpoint,
    official_network,
    state_dict_mismatch,
    validate_state_dict,
)
from smplestx.registry import MODELS
from smplestx.utils.typing import (
    ConfigType,
    ForwardResults,
    OptConfigType,
    OptMultiConfig,
    OptSampleList,
    SampleList,
)

#: Official test-output keys of ``tensor`` mode -> keys of ``SMPLXTransformerHead.decode``.
TENSOR_OUTPUTS: Dict[str, str] = {
    'smplx_root_pose': 'root_pose',
    'smplx_body_pose': 'body_pose',
    'smplx_lhand_pose': 'lhand_pose',
    'smplx_rhand_pose': 'rhand_pose',
    'smplx_jaw_pose': 'jaw_pose',
    'smplx_shape': 'shape',
    'smplx_expr': 'expr',
    'cam_trans': 'cam_trans',
    'smplx_mesh_cam': 'mesh_cam',
    'smplx_joint_proj': 'joint_proj',
    'smplx_joint_cam': 'joint_cam_wo_ra',
}

#: Top-level entries of an official checkpoint that are not weights.
_OFFICIAL_EXTRAS = ('epoch', 'network', 'optimizer')


@MODELS.register_module()
class SMPLestX(BaseModel):
    """One-stage whole-body SMPL-X estimator (SMPLest-X).

    Modes of :meth:`forward`: ``'loss'`` returns the dict of ``loss_*`` terms,
    ``'predict'`` returns the data samples with ``pred_instances``, and ``'tensor'``
    returns the official test-output dict (see :data:`TENSOR_OUTPUTS`).

    An official checkpoint (``{'epoch', 'network', 'optimizer'}`` or its ``network``
    dict) can be loaded directly, e.g. with ``load_from=`` or
    ``mmengine.runner.load_checkpoint``: a load-state-dict pre-hook converts it and
    raises if any key or shape does not match, even when the loader is non-strict.

    Args:
        backbone: Backbone config (``ViT``).
        head: Head config (``SMPLXTransformerHead``).
        data_preprocessor: Preprocessor config or module; defaults to
            ``SMPLXDataPreprocessor``.
        train_cfg: Passed to ``head.loss``.
        test_cfg: Passed to ``head.predict``.
        allow_missing_prefixes: State-dict key prefixes of modules that official
            checkpoints do not have (e.g. ``('head.uncertainty.', )`` for a project head
            built on top of the pretrained one). When an official checkpoint is loaded,
            keys under these prefixes are left out of the strict comparison, so they keep
            their initialisation and the loader reports exactly them as missing;
            everything else must still match. Each prefix must name at least one key.
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 head: ConfigType,
                 data_preprocessor: Optional[Union[ConfigType, nn.Module]] = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 allow_missing_prefixes: Sequence[str] = (),
                 init_cfg: OptMultiConfig = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='SMPLXDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.head = MODELS.build(head)
        self.train_cfg = dict(train_cfg or {})
        self.test_cfg = dict(test_cfg or {})
        self.allow_missing_prefixes = self._check_prefixes(allow_missing_prefixes)
        self.register_load_state_dict_pre_hook(self._prepare_checkpoint)

    def _check_prefixes(self, prefixes: Sequence[str]) -> Tuple[str, ...]:
        """Validate ``allow_missing_prefixes`` against the model's state-dict keys."""
        if isinstance(prefixes, str):
            prefixes = (prefixes, )
        if not prefixes:
            return ()
        keys = list(self.state_dict())
        for prefix in prefixes:
            if not isinstance(prefix, str) or not prefix:
                raise ValueError(f'allow_missing_prefixes entries must be non-empty strings, '
                                 f'got {prefix!r}')
            if not any(key.startswith(prefix) for key in keys):
                raise ValueError(f'allow_missing_prefixes entry {prefix!r} matches no '
                                 f'state-dict key of the model')
        return tuple(prefixes)

    def extract_feat(self, inputs: torch.Tensor) -> Any:
        """Run the backbone on the (B, 3, 256, 192) network input."""
        return self.backbone(inputs)

    def forward(self, inputs: torch.Tensor, data_samples: OptSampleList = None,
                mode: str = 'tensor') -> ForwardResults:
        """Dispatch to :meth:`loss`, :meth:`predict` or :meth:`_forward`.

        Args:
            inputs: The preprocessed images (B, 3, 256, 192) in [0, 1].
            data_samples: One ``SMPLXDataSample`` per crop (required for ``loss`` and
                ``predict``).
            mode: ``'loss'``, ``'predict'`` or ``'tensor'``.

        Returns:
            The loss dict, the data samples with predictions, or the output dict.
        """
        if mode == 'loss':
            return self.loss(inputs, self._samples(data_samples, inputs, mode))
        if mode == 'predict':
            return self.predict(inputs, self._samples(data_samples, inputs, mode))
        if mode == 'tensor':
            return self._forward(inputs)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    @staticmethod
    def _samples(data_samples: OptSampleList, inputs: torch.Tensor, mode: str) -> SampleList:
        if data_samples is None or len(data_samples) != inputs.shape[0]:
            count = 'none' if data_samples is None else len(data_samples)
            raise ValueError(f'mode {mode!r} needs one data sample per image: got {count} for '
                             f'{inputs.shape[0]} images')
        return data_samples

    def loss(self, inputs: torch.Tensor, data_samples: SampleList) -> Dict[str, torch.Tensor]:
        """Compute the training losses (``loss_*`` entries)."""
        return self.head.loss(self.extract_feat(inputs), data_samples, train_cfg=self.train_cfg)

    def predict(self, inputs: torch.Tensor, data_samples: SampleList) -> SampleList:
        """Predict SMPL-X per crop into ``data_samples[i].pred_instances``."""
        return self.head.predict(self.extract_feat(inputs), data_samples,
                                 test_cfg=self.test_cfg)

    def _forward(self, inputs: torch.Tensor,
                 data_samples: OptSampleList = None) -> Dict[str, torch.Tensor]:
        """The official test-mode output dict (without the input image)."""
        decoded = self.head.decode(self.head(self.extract_feat(inputs)))
        return {key: decoded[src] for key, src in TENSOR_OUTPUTS.items()}

    # ---------------------------------------------------------------- checkpoints
    def _check_shapes(self, state_dict: Dict[str, Any]) -> None:
        """Raise when a weight of ``state_dict`` has another shape than the model's."""
        expected = self.state_dict()
        if not any(key in expected and hasattr(value, 'shape')
                   and tuple(value.shape) != tuple(expected[key].shape)
                   for key, value in state_dict.items()):
            return
        raise CheckpointMismatchError(
            f'checkpoint does not fit the model: {state_dict_mismatch(state_dict, expected)}. '
            f'To load only part of it (e.g. the backbone), use init_cfg=dict(type='
            f"'Pretrained', checkpoint=..., prefix='backbone.') on that part")

    def _prepare_checkpoint(self, module: nn.Module, state_dict: Dict[str, Any],
                                  prefix: str, local_metadata: Dict, strict: bool,
                                  missing_keys: List[str], unexpected_keys: List[str],
                                  error_msgs: List[str]) -> None:
        """Convert an official checkpoint in ``state_dict`` in place and validate it.

        Any other state dict is checked for shape mismatches, which mean a checkpoint of
        another model: they raise :class:`CheckpointMismatchError` even when the load is
        not strict (MMEngine's ``load_from`` is not), instead of leaving those weights
        randomly initialised behind a warning. Missing and unexpected keys are left to the
        caller's ``strict``.
        """
        own = {k[len(prefix):]: k for k in state_dict if k.startswith(prefix)}
        if not is_official_checkpoint({k: state_dict[full] for k, full in own.items()}):
            self._check_shapes({k: state_dict[full] for k, full in own.items()})
            return
        if 'network' in own:
            network = official_network({'network': state_dict[own['network']]})
            removed = [own[k] for k in _OFFICIAL_EXTRAS if k in own]
        else:
            network = {k: state_dict[full] for k, full in own.items()}
            removed = list(own.values())
        converted = convert_official_state_dict(network)
        validate_state_dict(converted, self.state_dict(), source='official SMPLest-X checkpoint',
                            ignore=self.allow_missing_prefixes)
        for key in removed:
            del state_dict[key]
        state_dict.update({prefix + k: v for k, v in converted.items()})
