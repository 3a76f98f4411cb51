"""A reader of dlib's serialisation for the layers of its face descriptor network.

dlib writes a network layer by layer (``dlib/dnn/core.h``: an ``add_layer`` writes its version,
then its sub-network, then its own details, so the details come innermost first: in forward
order). Each layer's details open with a version string (``con_4``, ``affine_``, ``fc_2``,
``input_rgb_image_sized``, ...: ``dlib/dnn/layers.h``, ``input.h``) followed by its values:
integers in dlib's packed form (a byte giving the length and sign, then little-endian bytes),
floats as a packed mantissa and exponent (``float_details.h``), tensors as four packed sizes and
little-endian float32 data (``cuda/tensor.h``), alias tensors as their four sizes. This module
finds each parameterised layer's version string and reads its values; the network's shape is
checked by the caller.

Hand-written: no maintained library reads dlib's DNN files (dlib itself exposes no layer tensors
to Python), and the format is small and fixed for this file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from explorer.errors import InputError

IS_INF = 32000


class Stream:
    """Sequential reads of dlib's serialised values from ``data`` at ``pos``."""

    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos = data, pos

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise InputError("the dlib model file ends in the middle of a value")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def integer(self) -> int:
        """dlib's packed integer: a control byte (0x80: negative; low 4 bits: byte count), then
        that many little-endian bytes (``serialize.h``: pack_int)."""
        control = self._take(1)[0]
        size = control & 0x0F
        if size == 0 or size > 8:
            raise InputError(f"not a dlib integer at byte {self.pos - 1} (control byte {control:#x})")
        value = int.from_bytes(self._take(size), "little")
        return -value if control & 0x80 else value

    def string(self) -> str:
        return self._take(self.integer()).decode("latin-1")

    def real(self) -> float:
        """dlib's float_details: value = mantissa * 2**exponent (an exponent at the int16 limits
        marks inf / nan)."""
        mantissa, exponent = self.integer(), self.integer()
        if exponent >= IS_INF:  # float_details.h: is_inf 32000, is_ninf 32001, is_nan 32002
            return {IS_INF: float("inf"), IS_INF + 1: -float("inf")}.get(exponent, float("nan"))
        return float(np.ldexp(np.float64(mantissa), exponent))

    def tensor(self) -> np.ndarray:
        """A resizable_tensor (version 2): num_samples, k, nr, nc, then float32 little-endian."""
        if (version := self.integer()) != 2:
            raise InputError(f"dlib tensor version {version} at byte {self.pos}; this reader knows 2")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        return np.frombuffer(self._take(4 * count), "<f4").reshape(shape).copy()

    def alias(self) -> tuple[int, int, int, int]:
        """An alias_tensor (version 1): only the four sizes of a view into a layer's params."""
        if (version := self.integer()) != 1:
            raise InputError(f"dlib alias tensor version {version} at byte {self.pos}; this reader knows 1")
        return tuple(self.integer() for _ in range(4))  # type: ignore[return-value]


@dataclass(frozen=True)
class Conv:
    weight: np.ndarray  # (out, in, kh, kw): dlib's filters, applied as a cross-correlation
    bias: np.ndarray  # (out,)
    stride: int
    padding: int


@dataclass(frozen=True)
class Affine:
    gamma: np.ndarray  # (channels,): batch norm folded by dlib into a scale ...
    beta: np.ndarray  # ... and a shift


@dataclass(frozen=True)
class Dense:
    weight: np.ndarray  # (in, out): output = input @ weight (no bias)


@dataclass(frozen=True)
class Layers:
    """The parameterised layers of the file in forward order, and the input layer's means."""

    mean_rgb: tuple[float, float, float]  # subtracted from 0..255 pixels before dividing by 256
    size: int  # input rows = columns
    convs: list[Conv]
    affines: list[Affine]
    dense: Dense


MARKERS = re.compile(
    rb"\x01\x05con_4|\x01\x07affine_(?!2)|\x01\x09affine_2|\x01\x04fc_[23]|\x01\x15input_rgb_image_sized"
)


def _conv(s: Stream) -> Conv:
    params = s.tensor().reshape(-1)
    s.integer()  # num_filters
    kh, kw, sy, sx, py, px = (s.integer() for _ in range(6))
    filters, biases = s.alias(), s.alias()
    n = int(np.prod(filters))
    if sy != sx or py != px or (filters[2], filters[3]) != (kh, kw) or n + biases[1] != params.size:
        raise InputError("a dlib con_ layer of a shape this reader does not know")
    return Conv(params[:n].reshape(filters), params[n : n + biases[1]], sy, py)


def _affine(s: Stream) -> Affine:
    params = s.tensor().reshape(-1)
    gamma, beta = s.alias(), s.alias()
    g = int(np.prod(gamma))
    if g + int(np.prod(beta)) != params.size:
        raise InputError("a dlib affine_ layer whose gamma and beta do not fill its params")
    return Affine(params[:g], params[g:])


def _dense(s: Stream) -> Dense:
    outputs, inputs = s.integer(), s.integer()
    params = s.tensor().reshape(-1)
    if params.size != inputs * outputs:
        raise InputError("a dlib fc_ layer with a bias or of another shape than this reader knows")
    return Dense(params.reshape(inputs, outputs))


def read_layers(data: bytes) -> Layers:
    """The layers of a dlib face-descriptor file (``dlib_face_recognition_resnet_model_v1.dat``)."""
    convs, affines, dense, mean, size = [], [], [], None, None
    for m in MARKERS.finditer(data):
        s = Stream(data, m.end())
        tag = m.group(0)
        if b"con_" in tag:
            convs.append(_conv(s))
        elif b"affine_" in tag:
            affines.append(_affine(s))
        elif b"fc_" in tag:
            dense.append(_dense(s))
        else:
            mean = (s.real(), s.real(), s.real())
            rows, cols = s.integer(), s.integer()
            if rows != cols:
                raise InputError("a dlib input layer that is not square")
            size = rows
    if mean is None or len(dense) != 1 or not convs or len(convs) != len(affines):
        raise InputError("not a dlib face descriptor network: its input, con_, affine_ and fc_ layers were not found")
    return Layers(mean, size, convs, affines, dense[0])
