"""Fashion-MNIST from Debian's `dataset-fashion-mnist` package (IDX files, gzip or plain).

IDX: a big-endian header (magic 0x0000 08 NN: unsigned bytes, NN dimensions), NN big-endian
uint32 dimensions, then the bytes. Images are [N, 28, 28], labels [N].
"""
from __future__ import annotations

import gzip
import os
import struct
from typing import Tuple

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
MEAN, STD = 0.5, 0.2  # the authors' normalisation: (pixel / 255 - 0.5) / 0.2


class DatasetError(Exception):
    pass


def read_idx(path: str, dims: int) -> np.ndarray:
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise DatasetError(f"{path}: cannot read: {e}") from None
    if len(data) < 4 + 4 * dims:
        raise DatasetError(f"{path}: too short for an IDX header")
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise DatasetError(f"{path}: not an IDX file of unsigned bytes (magic {data[:4].hex()})")
    if ndim != dims:
        raise DatasetError(f"{path}: has {ndim} dimensions, expected {dims}")
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    count = int(np.prod(shape))
    body = data[4 + 4 * dims:]
    if len(body) != count:
        raise DatasetError(f"{path}: header says {count} bytes of data, file has {len(body)}")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def _find(folder: str, stem: str) -> str:
    for name in (stem + ".gz", stem):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    raise DatasetError(f"Fashion-MNIST not found at {folder} ({stem}[.gz] missing): "
                       f"apt-get install dataset-fashion-mnist")


def load(split: str, folder: str = DEFAULT_DIR) -> Tuple[np.ndarray, np.ndarray]:
    """uint8 images [N, 28, 28] and labels [N] of split 'train' or 't10k'."""
    if not os.path.isdir(folder):
        raise DatasetError(f"Fashion-MNIST not found at {folder}: apt-get install dataset-fashion-mnist")
    images = read_idx(_find(folder, f"{split}-images-idx3-ubyte"), 3)
    labels = read_idx(_find(folder, f"{split}-labels-idx1-ubyte"), 1)
    if len(images) != len(labels):
        raise DatasetError(f"{split}: {len(images)} images but {len(labels)} labels")
    if labels.max() >= len(LABELS):
        raise DatasetError(f"{split}: label {labels.max()} out of range")
    return images.copy(), labels.copy()  # writable copies (the files may be mapped read-only)


def normalise(images_u8) -> "torch.Tensor":  # noqa: F821
    """uint8 [N, 28, 28] -> float [N, 1, 28, 28], (pixel / 255 - mean) / std."""
    import torch
    x = torch.from_numpy(np.array(images_u8, dtype=np.uint8, copy=True)).float().div_(255.0)
    return x.sub_(MEAN).div_(STD).unsqueeze(1)
