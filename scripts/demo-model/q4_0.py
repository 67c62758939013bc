"""Simulated Q4_0: what a float weight becomes after ggml's Q4_0 quantization and dequantization.

Blocks of 32 along the last axis (a Linear's input dimension, GGUF's ne0). Per block, `max` is
the signed value of largest magnitude (the first one on a tie), d = max / -8,
q = min(15, trunc(x / d + 8.5)), stored d is float16, and x' = (q - 8) · d. Arithmetic in float32,
as in ggml's reference quantizer.
"""

from __future__ import annotations

import numpy as np

BLOCK = 32


def quantizable(weights: np.ndarray) -> bool:
    """Q4_0 holds tensors of two or more dimensions whose rows split into whole blocks."""
    return weights.ndim >= 2 and weights.shape[-1] % BLOCK == 0


def q4_0_roundtrip(weights: np.ndarray) -> np.ndarray:
    blocks = weights.astype(np.float32).reshape(-1, BLOCK)
    largest = blocks[np.arange(len(blocks)), np.abs(blocks).argmax(axis=1)]
    scale = largest / np.float32(-8.0)
    # ggml's edge cases: subnormal blocks overflow the inverse (their float16 scale is zero),
    # blocks beyond float16 range get an infinite scale.
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        inverse = np.where(scale != 0, np.float32(1.0) / scale, np.float32(0.0)).astype(np.float32)
        quants = np.clip(np.nan_to_num(np.trunc(blocks * inverse[:, None] + np.float32(8.5))), 0, 15)
        stored_scale = scale.astype(np.float16).astype(np.float32)
        return ((quants - np.float32(8.0)) * stored_scale[:, None]).astype(np.float32).reshape(weights.shape)
