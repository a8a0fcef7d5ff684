"""OMG CDR (XCDR version 1, little endian): the wire format of ROS 2 messages, in DDS and in MCAP.

A writer for the fixed layouts trajpipe publishes (markers, predicted objects) and a reader for the ones
it listens to (images, odometry). Only numpy: no ROS installation, no DDS library. Each primitive is
aligned to its size, counted from the first byte after the 4-byte encapsulation header; sequences are a
uint32 count then the elements; strings a uint32 length (with the NUL) then the bytes and a NUL.
Arrays of numbers are written and read as numpy buffers, which is what makes a frame's markers cheap.
"""

from __future__ import annotations

import struct

import numpy as np

ENCAPSULATION = b"\x00\x01\x00\x00"  # CDR_LE, options 0: what rmw_cyclonedds_cpp and `ros2 bag` write
_U32, _I32, _F32, _F64 = struct.Struct("<I"), struct.Struct("<i"), struct.Struct("<f"), struct.Struct("<d")
_TIME = struct.Struct("<iI")


class CdrError(ValueError):
    """A message whose bytes do not hold the layout read (truncated, another type, big endian)."""


class CdrWriter:
    """Appends CDR fields to one buffer; :meth:`bytes` is the whole serialised message."""

    def __init__(self):
        self.buffer = bytearray(ENCAPSULATION)

    def align(self, size: int) -> None:
        padding = -(len(self.buffer) - 4) % size
        if padding:
            self.buffer += b"\0" * padding

    def u8(self, value: int) -> None:
        self.buffer.append(value)

    def bool(self, value: bool) -> None:
        self.buffer.append(1 if value else 0)

    def u32(self, value: int) -> None:
        self.align(4)
        self.buffer += _U32.pack(value)

    def i32(self, value: int) -> None:
        self.align(4)
        self.buffer += _I32.pack(value)

    def f32(self, value: float) -> None:
        self.align(4)
        self.buffer += _F32.pack(value)

    def f64(self, value: float) -> None:
        self.align(8)
        self.buffer += _F64.pack(value)

    def time(self, nanoseconds: int) -> None:
        """builtin_interfaces/Time or Duration (int32 sec, uint32 nanosec) of ``nanoseconds``."""
        self.align(4)
        self.buffer += _TIME.pack(*divmod(int(nanoseconds), 1_000_000_000))

    def string(self, text: str) -> None:
        data = text.encode()
        self.u32(len(data) + 1)
        self.buffer += data + b"\0"

    def f64s(self, values: np.ndarray) -> None:
        """Consecutive float64 fields (a struct of doubles, a fixed array, a sequence's elements)."""
        self.align(8)
        self.buffer += np.ascontiguousarray(values, "<f8").tobytes()

    def f32s(self, values: np.ndarray) -> None:
        self.align(4)
        self.buffer += np.ascontiguousarray(values, "<f4").tobytes()

    def u8s(self, data: bytes) -> None:
        """A uint8[] sequence."""
        self.u32(len(data))
        self.buffer += data

    def raw(self, data: bytes, alignment: int = 1) -> None:
        """Bytes already laid out (a cached run of fields), starting at ``alignment``."""
        self.align(alignment)
        self.buffer += data

    def bytes(self) -> bytes:
        return bytes(self.buffer)


class CdrReader:
    """Reads CDR fields in order from a serialised message (with its encapsulation header)."""

    def __init__(self, data: bytes | memoryview):
        self.data = memoryview(data)
        if len(self.data) < 4 or bytes(self.data[:2]) != b"\x00\x01":
            kind = bytes(self.data[:2]).hex() if len(self.data) >= 2 else "none"
            raise CdrError(f"not a little-endian CDR message (encapsulation {kind})")
        self.offset = 4

    def _take(self, size: int, alignment: int) -> memoryview:
        self.offset += -(self.offset - 4) % alignment
        end = self.offset + size
        if end > len(self.data):
            raise CdrError(f"message truncated: {len(self.data)} bytes, field needs {end}")
        view, self.offset = self.data[self.offset:end], end
        return view

    def u8(self) -> int:
        return self._take(1, 1)[0]

    def u32(self) -> int:
        return _U32.unpack(self._take(4, 4))[0]

    def i32(self) -> int:
        return _I32.unpack(self._take(4, 4))[0]

    def time(self) -> int:
        """builtin_interfaces/Time as integer nanoseconds."""
        sec, nanosec = _TIME.unpack(self._take(8, 4))
        return sec * 1_000_000_000 + nanosec

    def string(self) -> str:
        length = self.u32()
        if length == 0:  # some writers send an empty string as no bytes at all
            return ""
        return bytes(self._take(length, 1)[:-1]).decode(errors="replace")

    def f64s(self, count: int) -> np.ndarray:
        return np.frombuffer(self._take(8 * count, 8), "<f8")

    def u8s(self) -> memoryview:
        """A uint8[] sequence, without copying."""
        return self._take(self.u32(), 1)
