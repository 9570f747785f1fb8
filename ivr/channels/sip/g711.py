"""G.711 μ-law and A-law (ITU-T G.711) with numpy lookup tables (``audioop`` is gone in 3.13).

Decoding uses 256-entry tables; encoding uses 65536-entry tables indexed by the 16-bit sample, so
both directions are one vectorised ``take``.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

from ivr.channels.sip.sdp import Codec

_BIAS = 0x84
_CLIP = 32635


def _ulaw_decode_table() -> npt.NDArray[np.int16]:
    table = np.zeros(256, dtype=np.int16)
    for byte in range(256):
        u = ~byte & 0xFF
        exponent = (u >> 4) & 0x07
        mantissa = u & 0x0F
        magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
        table[byte] = -magnitude if u & 0x80 else magnitude
    return table


def _alaw_decode_table() -> npt.NDArray[np.int16]:
    table = np.zeros(256, dtype=np.int16)
    for byte in range(256):
        a = byte ^ 0x55
        exponent = (a >> 4) & 0x07
        mantissa = a & 0x0F
        magnitude = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
        table[byte] = magnitude if a & 0x80 else -magnitude
    return table


def _ulaw_encode_one(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), _CLIP) + _BIAS
    exponent = max(magnitude.bit_length() - 8, 0)
    exponent = min(exponent, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _alaw_encode_one(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(abs(sample), 32767) >> 3  # 13-bit magnitude
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = min(magnitude.bit_length() - 5, 7)
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (sign | code) ^ 0x55


@cache
def _tables(codec: Codec) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.uint8]]:
    decode = _ulaw_decode_table() if codec is Codec.PCMU else _alaw_decode_table()
    encode_one = _ulaw_encode_one if codec is Codec.PCMU else _alaw_encode_one
    samples = np.arange(-32768, 32768)
    encode = np.fromiter((encode_one(int(s)) for s in samples), dtype=np.uint8, count=65536)
    return decode, encode


def decode(payload: bytes, codec: Codec) -> bytes:
    """G.711 bytes -> 16-bit little-endian PCM."""
    decode_table, _ = _tables(codec)
    return decode_table.take(np.frombuffer(payload, dtype=np.uint8)).astype("<i2").tobytes()


def encode(pcm: bytes, codec: Codec) -> bytes:
    """16-bit little-endian PCM -> G.711 bytes."""
    _, encode_table = _tables(codec)
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.int32) + 32768
    return encode_table.take(samples).tobytes()


def silence(codec: Codec, samples: int) -> bytes:
    return bytes([0xFF if codec is Codec.PCMU else 0xD5]) * samples
