"""Batch the 512x384 crops, scale them to [0, 1] and pick the 256x192 network input."""

from typing import Dict, List, Sequence, Tuple, Union

import torch
from mmengine.model import BaseDataPreprocessor

from smplestx.registry import MODELS


@MODELS.register_module()
class SMPLXDataPreprocessor(BaseDataPreprocessor):
    """Stack RGB crops, subsample them by ``stride`` and divide by 255.

    The official model receives the 512x384 crop in [0, 1] and shrinks it with
    ``F.interpolate(img, (256, 192))`` in nearest mode, which keeps the even rows and
    columns: exactly ``img[..., ::2, ::2]``. There is no mean/std normalisation. Here the
    subsampling comes first, so only the pixels the network sees are moved to the device
    and converted (``uint8 -> float32 / 255`` gives the same values as the official
    ``float32 / 255``).

    Args:
        input_shape: (H, W) of the incoming crops.
        stride: Subsampling step (the network input is ``input_shape / stride``).
        non_blocking: Passed to the device copy.
    """

    def __init__(self, input_shape: Sequence[int] = (512, 384), stride: int = 2,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if len(input_shape) != 2 or any(s % stride for s in input_shape):
            raise ValueError(f'input_shape must be (H, W) divisible by stride {stride}, '
                             f'got {tuple(input_shape)}')
        self.input_shape = tuple(int(s) for s in input_shape)
        self.stride = int(stride)

    def _stack(self, inputs: Union[torch.Tensor, List[torch.Tensor]]) -> torch.Tensor:
        batch = torch.stack(list(inputs)) if not isinstance(inputs, torch.Tensor) else inputs
        if batch.ndim != 4 or batch.shape[1] != 3 or tuple(batch.shape[2:]) != self.input_shape:
            raise ValueError(f'SMPLXDataPreprocessor expects RGB crops (3, '
                             f'{self.input_shape[0]}, {self.input_shape[1]}), got a batch of '
                             f'shape {tuple(batch.shape)}')
        if batch.dtype not in (torch.uint8, torch.float32):
            raise TypeError(f'SMPLXDataPreprocessor expects uint8 or float32 images in [0, 255], '
                            f'got {batch.dtype}')
        return batch

    def forward(self, data: Dict, training: bool = False) -> Dict:
        """Prepare a batch for the model.

        Args:
            data: ``inputs`` (a list of (3, H, W) uint8/float32 tensors in [0, 255], or
                a stacked (B, 3, H, W) tensor) and optional ``data_samples``.
            training: Unused (no batch augmentation).

        Returns:
            ``inputs`` (B, 3, H/stride, W/stride) float32 in [0, 1] on the model device
            and the ``data_samples`` moved to that device.
        """
        batch = self._stack(data['inputs'])[..., ::self.stride, ::self.stride]
        batch = batch.to(self.device, non_blocking=self._non_blocking).float() / 255
        data_samples = data.get('data_samples', None)
        if data_samples is not None:
            data_samples = self.cast_data(data_samples)
        return dict(inputs=batch, data_samples=data_samples)

    def output_shape(self) -> Tuple[int, int]:
        """(H, W) of the network input."""
        return (self.input_shape[0] // self.stride, self.input_shape[1] // self.stride)
