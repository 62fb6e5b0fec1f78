"""Read meshes and flags from data samples given as dicts or ``SMPLXDataSample``s."""

from typing import Any, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor


def get_field(container: Any, key: str) -> Any:
    """Return ``container[key]`` (mapping) or ``container.key`` (data element), else None."""
    if container is None:
        return None
    if isinstance(container, Mapping):
        return container.get(key)
    return getattr(container, key, None)


def instance_field(sample: Any, instances: str, key: str, required: bool = True) -> Any:
    """Return ``sample.<instances>.<key>``, raising a clear error when it is missing.

    Args:
        sample: A data sample (dict from ``to_dict()`` or a data element).
        instances: ``'pred_instances'`` or ``'gt_instances'``.
        key: The field name.
        required: Raise when missing (else return None).

    Returns:
        The field value, or None when absent and not required.

    Raises:
        KeyError: If a required field is missing.
    """
    value = get_field(get_field(sample, instances), key)
    if value is None and required:
        raise KeyError(f'data sample has no {instances}.{key}; the metric needs it')
    return value


def stack_meshes(meshes: Sequence[Any], name: str, device: Optional[torch.device] = None
                 ) -> Tensor:
    """Stack per-sample meshes of shape (1, V, 3) or (V, 3) into a (B, V, 3) tensor.

    Args:
        meshes: One mesh per sample (tensor or array).
        name: Field name used in error messages.
        device: Target device (default: that of the first mesh).

    Returns:
        The stacked tensor of shape (B, V, 3).

    Raises:
        ValueError: If a mesh is not (V, 3) / (1, V, 3) or the vertex counts differ.
    """
    out = []
    for mesh in meshes:
        mesh = torch.as_tensor(mesh)
        if mesh.ndim == 3 and mesh.shape[0] == 1:
            mesh = mesh[0]
        if mesh.ndim != 2 or mesh.shape[-1] != 3:
            raise ValueError(f'{name} must have shape (1, V, 3) or (V, 3), got '
                             f'{tuple(mesh.shape)}')
        if out and mesh.shape != out[0].shape:
            raise ValueError(f'{name}: vertex counts differ within a batch '
                             f'({mesh.shape[0]} vs {out[0].shape[0]})')
        out.append(mesh.to(device if device is not None else out[0].device
                            if out else mesh.device))
    return torch.stack(out)


def stack_pred_and_gt_meshes(data_samples: Sequence[Any], gt_key: str) -> Tuple[Tensor, Tensor]:
    """Stack ``pred_instances.vertices`` and ``gt_instances.<gt_key>`` of a batch.

    Returns:
        ``(pred, gt)`` as (B, V, 3) tensors, the ground truth on the prediction's device.
    """
    pred = stack_meshes([instance_field(s, 'pred_instances', 'vertices') for s in data_samples],
                        'pred_instances.vertices')
    gt = stack_meshes([instance_field(s, 'gt_instances', gt_key) for s in data_samples],
                      f'gt_instances.{gt_key}', pred.device)
    return pred, gt


def flag_value(value: Any, default: bool = True) -> bool:
    """Interpret a validity flag stored as bool, number, array or (1,) tensor."""
    if value is None:
        return default
    flat = torch.as_tensor(value).reshape(-1)
    if flat.numel() != 1:
        raise ValueError(f'validity flag must hold one value, got shape {tuple(flat.shape)}')
    return bool(flat[0] > 0)
