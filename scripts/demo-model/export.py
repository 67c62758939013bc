"""Export the trained demo model in Hugging Face's wav2vec2-CTC layout.

OUT_DIR receives model.onnx (opset 17: `input_values` float32 [batch, samples] → `logits`
float32 [batch, frames, vocab]), model.safetensors (the PyTorch state_dict, float32),
vocab.json, config.json and preprocessor_config.json. The folder is built under a temporary
name and swapped in whole.

usage: export.py CHECKPOINT OUT_DIR
"""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from pathlib import Path

import torch

from model import FRAME_STACK, HOP, N_FFT, N_MELS, SAMPLE_RATE, DemoConfig, DemoCTC
from safetensors_writer import write_safetensors
from text import BLANK, VOCAB, WORD_DELIMITER

OPSET = 17


def load_model(checkpoint: Path) -> DemoCTC:
    saved = torch.load(checkpoint)
    model = DemoCTC(DemoConfig(**saved["config"]))
    model.load_state_dict(saved["state_dict"])
    return model.eval()


def export_onnx(model: DemoCTC, path: Path) -> None:
    example = torch.randn(2, SAMPLE_RATE, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings():
        # torch 1.13 flags its own g.op() inside custom symbolics as deprecated.
        warnings.filterwarnings("ignore", message=".*_graph_op.*", category=FutureWarning)
        torch.onnx.export(
            model, (example,), str(path), opset_version=OPSET, do_constant_folding=True,
            input_names=["input_values"], output_names=["logits"],
            dynamic_axes={"input_values": {0: "batch", 1: "samples"}, "logits": {0: "batch", 1: "frames"}})


def hugging_face_config(model: DemoCTC) -> dict[str, object]:
    config = model.config
    return {
        "architectures": ["QuantgateDemoCTC"],
        "model_type": "quantgate-demo-ctc",
        "vocab_size": config.vocab_size,
        "pad_token_id": VOCAB[BLANK],
        "word_delimiter_token": WORD_DELIMITER,
        "hidden_size": config.hidden_size,
        "num_hidden_layers": config.num_layers,
        "num_attention_heads": config.num_heads,
        "intermediate_size": config.intermediate_size,
        "hidden_act": "gelu",
        "layer_norm_eps": model.final_norm.eps,
        "num_conv_pos_embeddings": config.conv_pos_kernel,
        "conv_depthwise_kernel_size": config.conv_kernel,
        "sampling_rate": SAMPLE_RATE,
        "num_mel_bins": N_MELS,
        "n_fft": N_FFT,
        "hop_length": HOP,
        "frame_stack": FRAME_STACK,
        # wav2vec2's frame geometry: the STFT's frames, then FRAME_STACK stacked frames, count
        # exactly like two convolutions, floor((length − kernel) / stride) + 1 each.
        "conv_kernel": [N_FFT, FRAME_STACK],
        "conv_stride": [HOP, FRAME_STACK],
        "inputs_to_logits_ratio": HOP * FRAME_STACK,
        "torch_dtype": "float32",
    }


PREPROCESSOR_CONFIG = {
    "feature_extractor_type": "Wav2Vec2FeatureExtractor",
    "feature_size": 1,
    "sampling_rate": SAMPLE_RATE,
    "padding_value": 0.0,
    "padding_side": "right",
    "do_normalize": True,
    "return_attention_mask": False,
}


def write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def export(checkpoint: Path, out_dir: Path) -> None:
    model = load_model(checkpoint)
    staging = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        export_onnx(model, staging / "model.onnx")
        write_safetensors(staging / "model.safetensors",
                          {name: tensor.numpy() for name, tensor in model.state_dict().items()},
                          {"format": "pt"})
        write_json(staging / "vocab.json", VOCAB)
        write_json(staging / "config.json", hugging_face_config(model))
        write_json(staging / "preprocessor_config.json", PREPROCESSOR_CONFIG)
        shutil.rmtree(out_dir, ignore_errors=True)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


if __name__ == "__main__":
    export(Path(sys.argv[1]), Path(sys.argv[2]))
