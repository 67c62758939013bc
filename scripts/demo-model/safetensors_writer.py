"""A minimal safetensors writer (the `safetensors` package is not available here).

Layout: an 8-byte little-endian header length, a JSON header {name: {dtype, shape,
data_offsets}} padded with spaces to a multiple of 8 bytes, then each tensor's raw
little-endian bytes back to back, in the order given.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np


def write_safetensors(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write float32 `tensors` to `path` through a temporary file, so no partial file is left behind."""
    header: dict[str, object] = {"__metadata__": metadata}
    offset = 0
    for name, array in tensors.items():
        if array.dtype != np.dtype("<f4"):
            raise ValueError(f"{name}: dtype {array.dtype}, expected float32")
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    temporary = path.with_name(path.name + ".tmp")
    try:
        with open(temporary, "wb") as out:
            out.write(struct.pack("<Q", len(encoded)))
            out.write(encoded)
            for array in tensors.values():
                out.write(np.ascontiguousarray(array).tobytes())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
