"""ViTPose-style Vision Transformer with learnable task tokens (the SMPLest-X encoder).

Parameter names below the module equal the official encoder's, so an official
checkpoint maps onto it by renaming the prefix ``module.encoder.`` to ``backbone.``.
"""

from typing import Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from timm.layers import DropPath, trunc_normal_
from torch import nn
from torch.utils.checkpoint import checkpoint

from smplestx.registry import MODELS
from smplestx.utils.typing import OptMultiConfig

ATTN_IMPLS = ('sdpa', 'explicit')


def check_attn_impl(attn_impl: str) -> str:
    """Return ``attn_impl`` if it names a known attention implementation.

    Args:
        attn_impl: ``'sdpa'`` (fused ``scaled_dot_product_attention``) or
            ``'explicit'`` (softmax of the scaled scores, as the official code).

    Returns:
        The validated name.

    Raises:
        ValueError: For any other value.
    """
    if attn_impl not in ATTN_IMPLS:
        raise ValueError(f'attn_impl must be one of {ATTN_IMPLS}, got {attn_impl!r}')
    return attn_impl


class PatchEmbed(nn.Module):
    """Non-overlapping-stride patch embedding with ViTPose's extra padding.

    Args:
        in_channels: Image channels.
        embed_dim: Token width.
        patch_size: Kernel size and stride of the projection.
        padding: Zero padding of the projection (2 in ViTPose and SMPLest-X).
    """

    def __init__(self, in_channels: int, embed_dim: int, patch_size: int, padding: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, embed_dim, kernel_size=patch_size,
                              stride=patch_size, padding=padding)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """Embed an image batch.

        Args:
            x: Images (B, C_in, H, W).

        Returns:
            Tokens (B, Hp*Wp, C), row-major over the grid, and the grid size (Hp, Wp).
        """
        x = self.proj(x)
        grid = (x.shape[2], x.shape[3])
        return x.flatten(2).transpose(1, 2), grid


class ViTAttention(nn.Module):
    """Multi-head self-attention with a fused qkv projection.

    Args:
        dim: Token width.
        num_heads: Number of heads; ``dim`` must be divisible by it.
        qkv_bias: Whether the qkv projection has a bias.
        attn_impl: ``'sdpa'`` or ``'explicit'``.
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True,
                 attn_impl: str = 'sdpa') -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'embed_dim {dim} is not divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.scale = (dim // num_heads)**-0.5
        self.attn_impl = check_attn_impl(attn_impl)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend over all tokens of ``x`` (B, N, C) and return (B, N, C)."""
        batch, num_tokens, dim = x.shape
        qkv = self.qkv(x).reshape(batch, num_tokens, 3, self.num_heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if self.attn_impl == 'sdpa':
            out = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
        else:
            weights = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
            out = weights @ v
        return self.proj(out.transpose(1, 2).reshape(batch, num_tokens, dim))


class Mlp(nn.Module):
    """Two-layer MLP with exact GELU.

    Args:
        dim: Input and output width.
        hidden_dim: Hidden width.
    """

    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply fc1, GELU and fc2."""
        return self.fc2(self.act(self.fc1(x)))


class ViTBlock(nn.Module):
    """Pre-norm transformer block (LayerNorm eps 1e-6) with stochastic depth.

    Args:
        dim: Token width.
        num_heads: Attention heads.
        mlp_ratio: MLP hidden width as a multiple of ``dim``.
        qkv_bias: Whether the qkv projection has a bias.
        drop_path: Stochastic-depth rate of both residual branches.
        attn_impl: ``'sdpa'`` or ``'explicit'``.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 drop_path: float = 0.0, attn_impl: str = 'sdpa') -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = ViTAttention(dim, num_heads, qkv_bias=qkv_bias, attn_impl=attn_impl)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the attention and MLP residual branches."""
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


@MODELS.register_module()
class ViT(BaseModule):
    """ViTPose-style ViT that also encodes learnable task tokens (SMPLest-X encoder).

    The patch tokens get ``pos_embed[:, 1:] + pos_embed[:, :1]`` (the pretraining cls
    slot is broadcast onto every patch, as in ViTPose); the task tokens get no
    positional embedding and are prepended afterwards.

    Args:
        img_size: Input size (H, W); fixed, the positional embedding is not resized.
        patch_size: Patch size and stride.
        in_channels: Image channels.
        embed_dim: Token width C.
        depth: Number of blocks.
        num_heads: Attention heads.
        mlp_ratio: MLP hidden width as a multiple of C.
        qkv_bias: Whether the qkv projections have a bias.
        drop_path_rate: Stochastic depth of the last block (linear from 0).
        num_task_tokens: Number of task tokens (80 for SMPLest-X).
        patch_padding: Zero padding of the patch projection (2 in ViTPose).
        use_checkpoint: Recompute each block in the backward pass (training only).
        attn_impl: ``'sdpa'`` (default) or ``'explicit'`` (the official softmax path).
        frozen_stages: -1 freezes nothing; k >= 0 freezes the patch and positional
            embeddings and the first k blocks.
        init_cfg: MMEngine initialisation config (e.g. ``Pretrained`` ViTPose weights).
    """

    def __init__(self,
                 img_size: Union[int, Sequence[int]] = (256, 192),
                 patch_size: int = 16,
                 in_channels: int = 3,
                 embed_dim: int = 768,
                 depth: int = 12,
                 num_heads: int = 12,
                 mlp_ratio: float = 4.0,
                 qkv_bias: bool = True,
                 drop_path_rate: float = 0.0,
                 num_task_tokens: int = 80,
                 patch_padding: int = 2,
                 use_checkpoint: bool = False,
                 attn_impl: str = 'sdpa',
                 frozen_stages: int = -1,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        img_size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        if len(img_size) != 2:
            raise ValueError(f'img_size must be (H, W), got {img_size}')
        if not -1 <= frozen_stages <= depth:
            raise ValueError(f'frozen_stages must be in [-1, {depth}], got {frozen_stages}')
        self.img_size = img_size
        self.embed_dim = embed_dim
        self.num_task_tokens = num_task_tokens
        self.use_checkpoint = use_checkpoint
        self.frozen_stages = frozen_stages
        self.grid_size = tuple((s + 2 * patch_padding - patch_size) // patch_size + 1
                               for s in img_size)
        # The number of positional slots follows ViTPose (size // patch, plus a cls slot).
        num_patches = (img_size[0] // patch_size) * (img_size[1] // patch_size)
        if num_patches != self.grid_size[0] * self.grid_size[1]:
            raise ValueError(f'img_size {img_size}, patch_size {patch_size} and padding '
                             f'{patch_padding} give a {self.grid_size} grid that does not '
                             f'match the {num_patches} positional slots')

        self.patch_embed = PatchEmbed(in_channels, embed_dim, patch_size, patch_padding)
        self.task_tokens = nn.Parameter(torch.zeros(1, num_task_tokens, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dim))
        rates = torch.linspace(0, drop_path_rate, depth, device='cpu').tolist()
        self.blocks = nn.ModuleList(
            ViTBlock(embed_dim, num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias,
                     drop_path=rate, attn_impl=attn_impl) for rate in rates)
        self.last_norm = nn.LayerNorm(embed_dim, eps=1e-6)

        trunc_normal_(self.task_tokens, std=0.02)
        trunc_normal_(self.pos_embed, std=0.02)
        self._freeze_stages()

    @property
    def attn_impl(self) -> str:
        """The attention implementation of every block."""
        return self.blocks[0].attn.attn_impl if len(self.blocks) else 'sdpa'

    @attn_impl.setter
    def attn_impl(self, value: str) -> None:
        check_attn_impl(value)
        for block in self.blocks:
            block.attn.attn_impl = value

    def _freeze_stages(self) -> None:
        """Stop gradients and put frozen parts in eval mode."""
        if self.frozen_stages < 0:
            return
        self.patch_embed.eval()
        frozen = [self.patch_embed, *self.blocks[:self.frozen_stages]]
        self.pos_embed.requires_grad = False
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'ViT':
        """Set the training mode while keeping frozen stages in eval mode."""
        super().train(mode)
        self._freeze_stages()
        return self

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encode an image batch.

        Args:
            x: Images (B, C_in, H, W) with (H, W) equal to ``img_size``.

        Returns:
            The patch features (B, C, Hp, Wp) (a strided view, channel-first) and the
            task tokens (B, num_task_tokens, C), both after the final LayerNorm.
        """
        if tuple(x.shape[-2:]) != self.img_size:
            raise ValueError(f'ViT expects input of size {self.img_size}, got '
                             f'{tuple(x.shape[-2:])}')
        batch = x.shape[0]
        # Low-precision inference (smplestx.models.utils.precision) casts the weights; the
        # input follows them (a no-op in fp32).
        patches, (grid_h, grid_w) = self.patch_embed(x.to(self.pos_embed.dtype))
        patches = patches + self.pos_embed[:, 1:] + self.pos_embed[:, :1]
        tokens = torch.cat((self.task_tokens.expand(batch, -1, -1), patches), dim=1)
        for block in self.blocks:
            if self.use_checkpoint and self.training and torch.is_grad_enabled():
                tokens = checkpoint(block, tokens, use_reentrant=False)
            else:
                tokens = block(tokens)
        tokens = self.last_norm(tokens)
        task_tokens = tokens[:, :self.num_task_tokens]
        img_feat = tokens[:, self.num_task_tokens:].transpose(1, 2).reshape(
            batch, self.embed_dim, grid_h, grid_w)
        return img_feat, task_tokens
