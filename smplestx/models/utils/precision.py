"""Inference precision of the SMPLest-X network: fp32, bf16, fp16, int8 or ``auto``.

Only the GEMM-heavy part of the model changes precision: the ViT backbone and the head's
transformer decoder (:func:`low_precision_parts`). ``token_conv``, the linear readouts, the
6D -> axis-angle rotations, the camera and the SMPL-X layer always run in fp32, so the
outputs are fp32 tensors in every mode. Weights are converted once, when the model is
loaded, never per call:

* ``fp32``: nothing changes; the default, and exact (the official parity tests hold).
* ``bf16`` / ``fp16``: the parameters of those parts are cast to the half type; the
  backbone casts its input, the head casts the decoder output back to fp32.
* ``int8``: PyTorch's dynamic quantization of every ``nn.Linear`` of those parts
  (per-channel int8 weights, activations quantized per call; CPU only).
* ``auto``: the fastest mode this device supports (:func:`auto_precision`).
"""

import contextlib
import dataclasses
import warnings
from typing import Dict, Iterator, List, Optional, Union

import torch
from mmengine.logging import print_log
from torch import nn

#: Precision names accepted by ``--precision`` and ``precision=``.
PRECISIONS = ('fp32', 'bf16', 'fp16', 'int8', 'auto')
#: Weight dtype of each concrete mode (int8 keeps fp32 parameters outside the linears).
WEIGHT_DTYPES: Dict[str, torch.dtype] = {
    'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16,
    'int8': torch.float32}

_NOTICES_SHOWN: set = set()


@dataclasses.dataclass(frozen=True)
class PrecisionChoice:
    """A concrete precision for one device.

    Attributes:
        name: ``'fp32'``, ``'bf16'``, ``'fp16'`` or ``'int8'``.
        requested: What was asked for (``'auto'`` or the same name).
        reason: Why ``auto`` chose ``name``, or a note on the hardware; may be empty.
    """

    name: str
    requested: str
    reason: str = ''

    @property
    def weight_dtype(self) -> torch.dtype:
        """The dtype of the converted parameters (fp32 for int8: only linears change)."""
        return WEIGHT_DTYPES[self.name]

    def describe(self) -> str:
        """One line: ``precision bf16 (auto: ...)``."""
        text = f'precision {self.name}'
        if self.requested == 'auto':
            text += ' (auto)'
        return text + (f': {self.reason}' if self.reason else '')


def check_precision(name: str) -> str:
    """Return ``name`` if it is one of :data:`PRECISIONS`.

    Raises:
        ValueError: For any other value, naming the valid ones.
    """
    if name not in PRECISIONS:
        raise ValueError(f'precision must be one of {", ".join(PRECISIONS)}; got {name!r}')
    return name


def cpu_features() -> Dict[str, bool]:
    """The CPU features that decide the fast modes (from PyTorch's own CPU detection)."""
    probes = {
        'amx_bf16': '_is_amx_tile_supported',
        'avx512_bf16': '_is_avx512_bf16_supported',
        'vnni': '_is_vnni_supported',
        'avx512': '_is_avx512_supported',
        'avx2': '_is_avx2_supported',
        'amx_fp16': '_is_amx_fp16_supported',
    }
    features = {}
    for name, probe in probes.items():
        fn = getattr(torch.cpu, probe, None)
        try:
            features[name] = bool(fn()) if fn is not None else False
        except RuntimeError:
            features[name] = False
    return features


def cpu_name() -> str:
    """The CPU model as PyTorch reads it (``/proc/cpuinfo`` as a fallback)."""
    with contextlib.suppress(AttributeError, RuntimeError):
        name = torch._C._cpu._get_cpu_capability().get('cpu_name')
        if name:
            return str(name)
    with contextlib.suppress(OSError):
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    import platform
    return platform.processor() or platform.machine()


def describe_cpu() -> str:
    """One line: CPU model, vector capability, fast-mode features and the kernels used."""
    feats = [name for name, ok in cpu_features().items() if ok]
    onednn = 'oneDNN' if torch.backends.mkldnn.is_available() else 'no oneDNN'
    return (f'{cpu_name()}; PyTorch CPU capability {torch.backends.cpu.get_cpu_capability()}; '
            f'features: {", ".join(feats) or "none"}; kernels: {onednn} (bf16/fp16 linears), '
            f'quantized engine {torch.backends.quantized.engine!r} (int8 linears)')


def _notice_once(message: str) -> None:
    """Log ``message`` as a warning the first time it comes up in this process."""
    if message not in _NOTICES_SHOWN:
        _NOTICES_SHOWN.add(message)
        print_log(message, logger='current', level=30)


def auto_precision(device: Union[str, torch.device] = 'cpu') -> PrecisionChoice:
    """The fastest mode of ``device`` and why.

    CUDA: bf16 where the GPU supports it, else fp16. CPU: bf16 with AMX (bf16 matrix
    tiles; measured about twice as fast as int8 on an Intel Xeon with AMX); else int8 on
    x86 with AVX2 (fbgemm/oneDNN int8 kernels; VNNI speeds them up), which measured faster
    than bf16 even on a CPU with AVX512-BF16 but no AMX (an AMD EPYC); else fp32. Figures
    in docs/benchmarks.md.
    """
    device = torch.device(device)
    if device.type == 'cuda':
        if torch.cuda.is_bf16_supported():
            return PrecisionChoice('bf16', 'auto', 'this GPU supports bf16')
        return PrecisionChoice('fp16', 'auto', 'this GPU has no bf16; fp16 instead')
    if device.type != 'cpu':
        return PrecisionChoice('fp32', 'auto', f'no fast mode known for {device.type}')
    feats = cpu_features()
    if feats['amx_bf16']:
        return PrecisionChoice('bf16', 'auto', 'this CPU has AMX (bf16 matrix tiles)')
    if feats['avx2']:
        kernels = 'AVX512-VNNI' if feats['vnni'] and feats['avx512'] else \
            'VNNI' if feats['vnni'] else 'AVX2'
        bf16 = ' (faster here than its AVX512-BF16)' if feats['avx512_bf16'] else ''
        return PrecisionChoice('int8', 'auto', f'this CPU has no AMX; int8 linear layers '
                               f'with {kernels}{bf16}')
    return PrecisionChoice('fp32', 'auto', 'this CPU has neither AMX nor AVX2')


def resolve_precision(name: Optional[str], device: Union[str, torch.device] = 'cpu'
                      ) -> PrecisionChoice:
    """Validate a precision name and make it concrete for ``device``.

    A mode the hardware runs without dedicated instructions (bf16 on a CPU without
    AVX512-BF16/AMX, fp16 on a CPU without AMX-FP16) is allowed: it gives the same
    deviation, only slowly, which is said once per process.

    Args:
        name: One of :data:`PRECISIONS`; ``None`` means ``'fp32'``.
        device: Where the model runs.

    Returns:
        The concrete choice.

    Raises:
        ValueError: For an unknown name, or int8 on a GPU (dynamic int8 is CPU-only).
    """
    name = check_precision('fp32' if name is None else name)
    device = torch.device(device)
    if name == 'auto':
        choice = auto_precision(device)
        _notice_once(f'{choice.describe()} on {device.type}')
        return choice
    if name == 'int8' and device.type != 'cpu':
        raise ValueError(f'precision int8 (dynamic quantization) runs on the CPU only; on '
                         f'{device.type} use bf16 or fp16')
    if device.type == 'cpu' and name in ('bf16', 'fp16'):
        feats = cpu_features()
        native = (feats['amx_bf16'] or feats['avx512_bf16']) if name == 'bf16' \
            else feats['amx_fp16']
        if not native:
            reason = (f'this CPU has no {name} hardware ({cpu_name()}): {name} runs, but '
                      f'slower than fp32; the fast CPU mode here is '
                      f'{auto_precision("cpu").name}')
            _notice_once(f'precision {name}: {reason}')
            return PrecisionChoice(name, name, reason)
    return PrecisionChoice(name, name)


def low_precision_parts(model: nn.Module) -> List[nn.Module]:
    """The modules whose precision changes: the backbone and the head's ``transformer``.

    Raises:
        TypeError: If ``model`` has no ``backbone``.
    """
    backbone = getattr(model, 'backbone', None)
    if not isinstance(backbone, nn.Module):
        raise TypeError(f'{type(model).__name__} has no backbone; precision modes need an '
                        f'estimator with .backbone and .head.transformer')
    parts = [backbone]
    transformer = getattr(getattr(model, 'head', None), 'transformer', None)
    if isinstance(transformer, nn.Module):
        parts.append(transformer)
    return parts


def cast_low_precision_parts(model: nn.Module, dtype: torch.dtype) -> None:
    """Cast the floating-point parameters of :func:`low_precision_parts` to ``dtype``.

    Cheap on a model built on the meta device, so :func:`~smplestx.apis.init_model` calls
    it before loading: each checkpoint tensor is then converted once, or used as it is
    when the checkpoint already holds ``dtype``.
    """
    for part in low_precision_parts(model):
        part.to(dtype)


@contextlib.contextmanager
def _quiet_quantization_deprecation() -> Iterator[None]:
    """Hide the deprecation warnings of ``torch.ao.quantization`` (still shipped, working).

    The eager dynamic quantization API is what PyTorch itself provides for int8 linears on
    the CPU; its replacement (torchao) is not a dependency of this project.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', category=DeprecationWarning)
        warnings.filterwarnings('ignore', message='.*torch.ao.quantization.*')
        warnings.filterwarnings('ignore', message='.*quantize.*deprecated.*')
        yield


def quantize_linears_int8(module: nn.Module) -> None:
    """Replace every ``nn.Linear`` below ``module`` with a dynamic int8 linear (in place).

    Weights are quantized once, per output channel; activations per call (per tensor).
    """
    with _quiet_quantization_deprecation():
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
        quantize_dynamic(module, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8,
                         inplace=True)


def apply_precision(model: nn.Module, precision: Union[str, PrecisionChoice],
                    device: Union[str, torch.device] = 'cpu') -> PrecisionChoice:
    """Convert ``model`` (loaded, in fp32 or already cast) to ``precision``, in place.

    Args:
        model: An estimator with ``backbone`` and ``head.transformer``.
        precision: A name (resolved for ``device``) or a resolved choice.
        device: Where the model will run.

    Returns:
        The concrete choice; also stored as ``model.precision`` (its name).

    Raises:
        ValueError: For an unknown name or a mode the device cannot run.
        RuntimeError: If the model was already converted to another mode.
    """
    choice = precision if isinstance(precision, PrecisionChoice) else \
        resolve_precision(precision, device)
    current = getattr(model, 'precision', 'fp32')
    if current not in ('fp32', choice.name):
        raise RuntimeError(f'the model is already in precision {current}; load it again to '
                           f'use {choice.name}')
    if choice.name in ('bf16', 'fp16'):
        cast_low_precision_parts(model, choice.weight_dtype)
    elif choice.name == 'int8' and current != 'int8':
        for part in low_precision_parts(model):
            quantize_linears_int8(part)
    model.precision = choice.name
    return choice
