"""Mixed precision that also works on the CPU (MMEngine's AmpOptimWrapper is GPU-only)."""

from contextlib import contextmanager
from typing import Iterator, Optional, Union

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from smplestx.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class DeviceAmpOptimWrapper(OptimWrapper):
    """Autocast on the device the model lives on, with a loss scaler only for fp16.

    Args:
        dtype: ``'bfloat16'`` or ``'float16'``; ``None`` picks bf16 on the CPU and fp16
            on CUDA (where bf16 is supported it can be chosen explicitly).
        loss_scale: ``'dynamic'``, a float (static) or GradScaler kwargs; used for fp16
            only (bf16 has fp32's range and needs no scaling).
        **kwargs: Passed to :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, dtype: Optional[Union[str, torch.dtype]] = None,
                 loss_scale: Union[str, float, dict] = 'dynamic', **kwargs) -> None:
        super().__init__(**kwargs)
        self.device_type = 'cuda' if torch.cuda.is_available() else 'cpu'
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype)
        if dtype is None:
            dtype = torch.float16 if self.device_type == 'cuda' else torch.bfloat16
        if dtype not in (torch.float16, torch.bfloat16):
            raise ValueError(f'DeviceAmpOptimWrapper: dtype must be float16 or bfloat16, '
                             f'got {dtype}')
        self.cast_dtype = dtype
        self.loss_scaler = None
        if dtype == torch.float16:
            if isinstance(loss_scale, dict):
                scaler_kwargs = dict(loss_scale)
            elif isinstance(loss_scale, float):
                scaler_kwargs = dict(init_scale=loss_scale, growth_interval=2**31)
            else:
                scaler_kwargs = {}
            self.loss_scaler = torch.amp.GradScaler(self.device_type, **scaler_kwargs)

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        """Back-propagate the (scaled, for fp16) loss."""
        if self.loss_scaler is not None:
            loss = self.loss_scaler.scale(loss)
        loss.backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        """Unscale (fp16), clip if configured, and step."""
        if self.loss_scaler is None:
            super().step(**kwargs)
            return
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update()

    def state_dict(self) -> dict:
        """Optimizer state plus the loss scaler's."""
        state = self.optimizer.state_dict()
        if self.loss_scaler is not None:
            state['loss_scaler'] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the optimizer and, when saved, the loss scaler."""
        state_dict = dict(state_dict)
        scaler_state = state_dict.pop('loss_scaler', None)
        if scaler_state is not None and self.loss_scaler is not None:
            self.loss_scaler.load_state_dict(scaler_state)
        self.optimizer.load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Gradient-accumulation context plus autocast to ``cast_dtype``."""
        with super().optim_context(model), torch.autocast(
                device_type=self.device_type, dtype=self.cast_dtype):
            yield
