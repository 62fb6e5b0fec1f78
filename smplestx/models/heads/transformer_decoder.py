"""Pre-norm transformer decoder of the SMPLest-X head (self-attention, cross-attention, FFN).

Module and parameter names equal the official ``TransformerDecoder`` so checkpoints map
by a prefix rename. The official code builds the decoder with dropout 0 and LayerNorm
(eps 1e-5), which is all this module supports.
"""

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from smplestx.models.backbones.vit import check_attn_impl


def multi_head_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float,
                         attn_impl: str) -> torch.Tensor:
    """Scaled dot-product attention on (B, heads, N, d) tensors.

    Args:
        q: Queries (B, h, Nq, d).
        k: Keys (B, h, Nk, d).
        v: Values (B, h, Nk, d).
        scale: Score scale.
        attn_impl: ``'sdpa'`` or ``'explicit'`` (scale applied to q·kᵀ, as the official code).

    Returns:
        The attended values (B, h, Nq, d).
    """
    if attn_impl == 'sdpa':
        return F.scaled_dot_product_attention(q, k, v, scale=scale)
    return ((q @ k.transpose(-1, -2)) * scale).softmax(dim=-1) @ v


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(B, N, h*d) -> (B, h, N, d)."""
    batch, num_tokens, _ = x.shape
    return x.reshape(batch, num_tokens, num_heads, -1).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, h, N, d) -> (B, N, h*d)."""
    batch, _, num_tokens, _ = x.shape
    return x.transpose(1, 2).reshape(batch, num_tokens, -1)


class SelfAttention(nn.Module):
    """Multi-head self-attention with bias-free fused qkv and an output projection.

    Args:
        dim: Token width.
        num_heads: Heads.
        head_dim: Width per head.
        attn_impl: ``'sdpa'`` or ``'explicit'``.
    """

    def __init__(self, dim: int, num_heads: int, head_dim: int, attn_impl: str = 'sdpa') -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = head_dim**-0.5
        self.attn_impl = check_attn_impl(attn_impl)
        inner = num_heads * head_dim
        self.to_qkv = nn.Linear(dim, 3 * inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim))

    def forward(self, x: torch.Tensor, num_queries: Optional[int] = None) -> torch.Tensor:
        """Attend over all tokens of ``x`` (B, N, C).

        Args:
            x: Tokens (B, N, C).
            num_queries: Only the first ``num_queries`` tokens query (keys and values
                still cover all tokens); ``None`` means all.

        Returns:
            (B, num_queries or N, C).
        """
        if num_queries is None or not isinstance(self.to_qkv, nn.Linear):
            # Also the path of a replaced projection (e.g. a quantized int8 linear, whose
            # weight cannot be split): project all tokens, keep the first queries.
            q, k, v = self.to_qkv(x).chunk(3, dim=-1)
            q = q if num_queries is None else q[:, :num_queries]
        else:
            # Project queries for the first tokens only; keys and values for all of them.
            inner = self.to_qkv.out_features // 3
            weight = self.to_qkv.weight
            q = F.linear(x[:, :num_queries], weight[:inner])
            k, v = F.linear(x, weight[inner:]).chunk(2, dim=-1)
        q, k, v = (split_heads(t, self.num_heads) for t in (q, k, v))
        return self.to_out(merge_heads(multi_head_attention(q, k, v, self.scale,
                                                            self.attn_impl)))


class CrossAttention(nn.Module):
    """Multi-head attention from the tokens to a context sequence.

    Args:
        dim: Token width.
        context_dim: Context width.
        num_heads: Heads.
        head_dim: Width per head.
        attn_impl: ``'sdpa'`` or ``'explicit'``.
    """

    def __init__(self, dim: int, context_dim: int, num_heads: int, head_dim: int,
                 attn_impl: str = 'sdpa') -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = head_dim**-0.5
        self.attn_impl = check_attn_impl(attn_impl)
        inner = num_heads * head_dim
        self.to_kv = nn.Linear(context_dim, 2 * inner, bias=False)
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Tokens (B, N, C) attend to ``context`` (B, M, C_ctx); returns (B, N, C)."""
        k, v = self.to_kv(context).chunk(2, dim=-1)
        q, k, v = (split_heads(t, self.num_heads) for t in (self.to_q(x), k, v))
        return self.to_out(merge_heads(multi_head_attention(q, k, v, self.scale,
                                                            self.attn_impl)))


class FeedForward(nn.Module):
    """Linear -> GELU -> Linear (indices 0 and 3 as in the official Sequential).

    Args:
        dim: Input and output width.
        hidden_dim: Hidden width.
    """

    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden_dim), nn.GELU(), nn.Identity(),
                                 nn.Linear(hidden_dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the two-layer MLP."""
        return self.net(x)


class PreNorm(nn.Module):
    """LayerNorm (eps 1e-5) before a wrapped module ``fn``.

    Args:
        dim: Normalised width.
        fn: The wrapped module.
    """

    def __init__(self, dim: int, fn: nn.Module) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        """Return ``fn(norm(x), *args, **kwargs)``."""
        return self.fn(self.norm(x), *args, **kwargs)


class DecoderLayers(nn.Module):
    """A stack of pre-norm (self-attention, cross-attention, FFN) residual layers.

    Args:
        dim: Token width.
        depth: Number of layers.
        num_heads: Heads.
        head_dim: Width per head.
        mlp_dim: FFN hidden width.
        context_dim: Context width.
        attn_impl: ``'sdpa'`` or ``'explicit'``.
    """

    def __init__(self, dim: int, depth: int, num_heads: int, head_dim: int, mlp_dim: int,
                 context_dim: int, attn_impl: str = 'sdpa') -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList([
                PreNorm(dim, SelfAttention(dim, num_heads, head_dim, attn_impl)),
                PreNorm(dim, CrossAttention(dim, context_dim, num_heads, head_dim, attn_impl)),
                PreNorm(dim, FeedForward(dim, mlp_dim)),
            ]) for _ in range(depth))

    def forward(self, x: torch.Tensor, context: torch.Tensor,
                num_out_tokens: Optional[int] = None) -> torch.Tensor:
        """Run all layers.

        Args:
            x: Tokens (B, N, C).
            context: Cross-attention context (B, M, C_ctx).
            num_out_tokens: Return only the first tokens; the last layer then computes
                its queries, FFN and residuals for those tokens only.

        Returns:
            (B, num_out_tokens or N, C).
        """
        last = len(self.layers) - 1
        for i, (self_attn, cross_attn, ffn) in enumerate(self.layers):
            if i == last and num_out_tokens is not None:
                x = self_attn(x, num_queries=num_out_tokens) + x[:, :num_out_tokens]
            else:
                x = self_attn(x) + x
            x = cross_attn(x, context=context) + x
            x = ffn(x) + x
        if not self.layers and num_out_tokens is not None:
            x = x[:, :num_out_tokens]
        return x


class TransformerDecoder(nn.Module):
    """Adds one learned embedding to every token, then runs :class:`DecoderLayers`.

    ``to_token_embedding`` (Linear(num_task_tokens, C)) exists only so that official
    checkpoints load strictly; the official forward never calls it.

    Args:
        dim: Token width.
        num_task_tokens: Input width of the unused ``to_token_embedding``.
        depth: Number of layers.
        num_heads: Heads.
        head_dim: Width per head.
        mlp_dim: FFN hidden width.
        context_dim: Context width.
        attn_impl: ``'sdpa'`` or ``'explicit'``.
    """

    def __init__(self, dim: int, num_task_tokens: int, depth: int, num_heads: int, head_dim: int,
                 mlp_dim: int, context_dim: int, attn_impl: str = 'sdpa') -> None:
        super().__init__()
        self.to_token_embedding = nn.Linear(num_task_tokens, dim)
        self.pos_embedding = nn.Parameter(torch.randn(1, 1, dim))
        self.transformer = DecoderLayers(dim, depth, num_heads, head_dim, mlp_dim, context_dim,
                                         attn_impl)

    def forward(self, x: torch.Tensor, context: torch.Tensor,
                num_out_tokens: Optional[int] = None) -> torch.Tensor:
        """Decode tokens (B, N, C) against ``context``; see :meth:`DecoderLayers.forward`."""
        return self.transformer(x + self.pos_embedding, context, num_out_tokens)
