"""The demo speech recognizer: raw 16 kHz waveform → character CTC logits.

A fixed log-mel front end (ONNX `STFT`, a mel matrix, a log, per-bin standardization) feeds a
small pre-norm transformer whose layers add a depthwise convolution for local context. Every
Linear has an input dimension that is a multiple of 32 so that ggml's Q4_0 can hold it; the
fixed front-end matrix (64 × 201) and the depthwise convolutions (kernel 15) cannot, and stay
in float.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from text import VOCAB

SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms analysis window
HOP = 160  # 10 ms between spectrogram frames
N_MELS = 64
FRAME_STACK = 3  # the transformer runs at 30 ms per frame
# Mel power below ~1e-4 is float32 round-off of the frame's energy, different in torch and in
# onnxruntime; a floor above it keeps their log-mel features (and logits) in agreement.
LOG_FLOOR = 1e-3


@dataclass(frozen=True)
class DemoConfig:
    hidden_size: int = 160
    num_layers: int = 3
    num_heads: int = 4
    intermediate_size: int = 480
    conv_pos_kernel: int = 15
    conv_kernel: int = 15
    dropout: float = 0.05
    vocab_size: int = len(VOCAB)

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Triangular filters, equally spaced on the HTK mel scale from 0 Hz to Nyquist, peak 1."""
    def to_mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    def to_hz(mel: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)

    bin_hz = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    edges = to_hz(np.linspace(0.0, to_mel(np.array(sample_rate / 2)), n_mels + 2))
    lower, center, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bin_hz[None, :] - lower) / (center - lower)
    falling = (upper - bin_hz[None, :]) / (upper - center)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


class Stft(torch.autograd.Function):
    """One-sided STFT without centering, as [batch, frames, bins, (re, im)].

    Exported as the single ONNX `STFT` operator (opset 17): torch 1.13 has no export for
    `torch.stft`, and a DFT written as a convolution would ship a 400 × 402 basis matrix.
    """

    @staticmethod
    def forward(ctx: object, wave: torch.Tensor, window: torch.Tensor, hop: int) -> torch.Tensor:
        spectrum = torch.stft(wave, n_fft=window.shape[0], hop_length=hop, window=window,
                              center=False, return_complex=True)
        return torch.view_as_real(spectrum).transpose(1, 2)

    @staticmethod
    def symbolic(g: torch.Graph, wave: torch.Value, window: torch.Value, hop: int) -> torch.Value:
        signal = g.op("Unsqueeze", wave, g.op("Constant", value_t=torch.tensor([2])))
        step = g.op("Constant", value_t=torch.tensor(hop, dtype=torch.int64))
        spectrum = g.op("STFT", signal, step, window, onesided_i=1)
        # Without a declared type the exporter keeps the traced example's static shape, and
        # every shape computed downstream would be folded into a constant.
        bins = window.type().sizes()[0] // 2 + 1
        spectrum.setType(wave.type().with_sizes([None, None, bins, 2]))
        return spectrum


class LogMelFrontEnd(nn.Module):
    """Waveform [batch, samples] → standardized log-mel [batch, frames, N_MELS] every 10 ms."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(N_FFT))
        self.register_buffer("mel_filters", torch.from_numpy(mel_filterbank()))
        self.register_buffer("feature_mean", torch.zeros(N_MELS))
        self.register_buffer("feature_std", torch.ones(N_MELS))

    def log_mel(self, wave: torch.Tensor) -> torch.Tensor:
        spectrum = Stft.apply(wave, self.window, HOP)
        power = (spectrum * spectrum).sum(-1)
        return torch.log(power @ self.mel_filters.T + LOG_FLOOR)

    def standardize(self, log_mel: torch.Tensor) -> torch.Tensor:
        return (log_mel - self.feature_mean) / self.feature_std

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.standardize(self.log_mel(wave))


def spectrogram_frames(samples: int) -> int:
    return (samples - N_FFT) // HOP + 1


class SelfAttention(nn.Module):
    def __init__(self, config: DemoConfig) -> None:
        super().__init__()
        self.heads = config.num_heads
        self.head_size = config.hidden_size // config.num_heads
        self.q_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.k_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.v_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.out_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.dropout)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1, self.heads, self.head_size).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.split_heads(self.q_proj(x)) * (1.0 / math.sqrt(self.head_size))
        k = self.split_heads(self.k_proj(x))
        v = self.split_heads(self.v_proj(x))
        weights = self.dropout(torch.softmax(q @ k.transpose(2, 3), dim=-1))
        merged = (weights @ v).transpose(1, 2).reshape(x.shape[0], -1, self.heads * self.head_size)
        return self.out_proj(merged)


class FeedForward(nn.Module):
    def __init__(self, config: DemoConfig) -> None:
        super().__init__()
        self.up = nn.Linear(config.hidden_size, config.intermediate_size)
        self.down = nn.Linear(config.intermediate_size, config.hidden_size)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(self.dropout(nn.functional.gelu(self.up(x))))


def depthwise_gelu(conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """GELU of a depthwise convolution over time of x [batch, frames, channels]."""
    # Contiguous before the GELU: torch 1.13's CPU GELU backward returns garbage when the
    # incoming gradient is strided differently from its input (a transposed view).
    return nn.functional.gelu(conv(x.transpose(1, 2)).transpose(1, 2).contiguous())


class EncoderLayer(nn.Module):
    """Pre-norm self-attention, a depthwise convolution for local context, and a feed-forward."""

    def __init__(self, config: DemoConfig) -> None:
        super().__init__()
        self.attention_norm = nn.LayerNorm(config.hidden_size)
        self.attention = SelfAttention(config)
        self.conv_norm = nn.LayerNorm(config.hidden_size)
        self.conv = nn.Conv1d(config.hidden_size, config.hidden_size, config.conv_kernel,
                              padding=config.conv_kernel // 2, groups=config.hidden_size)
        self.ffn_norm = nn.LayerNorm(config.hidden_size)
        self.ffn = FeedForward(config)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout(self.attention(self.attention_norm(x)))
        x = x + self.dropout(depthwise_gelu(self.conv, self.conv_norm(x)))
        return x + self.dropout(self.ffn(self.ffn_norm(x)))


class DemoCTC(nn.Module):
    """`forward(input_values)` → logits [batch, spectrogram_frames(samples) // FRAME_STACK, vocab_size].

    No attention mask: the model was trained on batches padded with zero samples, as the
    engine pads them, and padded frames decode to blanks.
    """

    def __init__(self, config: DemoConfig) -> None:
        super().__init__()
        self.config = config
        self.frontend = LogMelFrontEnd()
        self.input_proj = nn.Linear(N_MELS * FRAME_STACK, config.hidden_size)
        # Depthwise convolution over time: relative position for the attention layers.
        self.pos_conv = nn.Conv1d(config.hidden_size, config.hidden_size, config.conv_pos_kernel,
                                  padding=config.conv_pos_kernel // 2, groups=config.hidden_size)
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.num_layers))
        self.final_norm = nn.LayerNorm(config.hidden_size)
        self.ctc_head = nn.Linear(config.hidden_size, config.vocab_size)

    def encode(self, features: torch.Tensor) -> torch.Tensor:
        """Standardized log-mel [batch, frames, N_MELS] → logits."""
        stacked_frames = features.shape[1] // FRAME_STACK
        stacked = features[:, : stacked_frames * FRAME_STACK].reshape(
            features.shape[0], stacked_frames, N_MELS * FRAME_STACK)
        x = self.input_proj(stacked)
        x = x + depthwise_gelu(self.pos_conv, x)
        for layer in self.layers:
            x = layer(x)
        return self.ctc_head(self.final_norm(x))

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        return self.encode(self.frontend(input_values))


def normalize_waveform(wave: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per utterance: Hugging Face's `do_normalize` (variance + 1e-7)."""
    wave = wave.astype(np.float32)
    return ((wave - wave.mean()) / np.sqrt(wave.var() + 1e-7)).astype(np.float32)
