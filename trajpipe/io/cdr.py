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
    """Appends CDR fields to one buffer; :meth:`bytes` is the whole serialised message.

    Attributes:
        buffer: the message so far, starting with the 4-byte encapsulation header.
    """

    def __init__(self):
        self.buffer = bytearray(ENCAPSULATION)

    def align(self, size: int) -> None:
        """Pad with zero bytes to the next multiple of ``size`` (counted after the encapsulation header).

        Args:
            size: the alignment in bytes (1, 4 or 8: the size of the primitive that follows).
        """
        padding = -(len(self.buffer) - 4) % size
        if padding:
            self.buffer += b"\0" * padding

    def u8(self, value: int) -> None:
        """Append a uint8 (or octet, char).

        Args:
            value: 0 to 255.
        """
        self.buffer.append(value)

    def bool(self, value: bool) -> None:
        """Append a boolean (one byte, 0 or 1).

        Args:
            value: the flag; any truthy value is 1.
        """
        self.buffer.append(1 if value else 0)

    def u32(self, value: int) -> None:
        """Append a uint32, 4-aligned.

        Args:
            value: 0 to 2**32 - 1.
        """
        self.align(4)
        self.buffer += _U32.pack(value)

    def i32(self, value: int) -> None:
        """Append an int32, 4-aligned.

        Args:
            value: -2**31 to 2**31 - 1.
        """
        self.align(4)
        self.buffer += _I32.pack(value)

    def f32(self, value: float) -> None:
        """Append a float32, 4-aligned.

        Args:
            value: the number (rounded to single precision).
        """
        self.align(4)
        self.buffer += _F32.pack(value)

    def f64(self, value: float) -> None:
        """Append a float64, 8-aligned.

        Args:
            value: the number.
        """
        self.align(8)
        self.buffer += _F64.pack(value)

    def time(self, nanoseconds: int) -> None:
        """Append a builtin_interfaces/Time or Duration (int32 sec, uint32 nanosec), 4-aligned.

        Args:
            nanoseconds: the time (since the epoch) or duration in integer nanoseconds.
        """
        self.align(4)
        self.buffer += _TIME.pack(*divmod(int(nanoseconds), 1_000_000_000))

    def string(self, text: str) -> None:
        """Append a string: a uint32 length (bytes, with the NUL), the UTF-8 bytes and a NUL.

        Args:
            text: the string.
        """
        data = text.encode()
        self.u32(len(data) + 1)
        self.buffer += data + b"\0"

    def f64s(self, values: np.ndarray) -> None:
        """Append consecutive float64 fields (a struct of doubles, a fixed array, a sequence's elements),
        8-aligned; a sequence's count is written before with :meth:`u32`.

        Args:
            values: numbers of any shape, written in C order as little-endian float64.
        """
        self.align(8)
        self.buffer += np.ascontiguousarray(values, "<f8").tobytes()

    def f32s(self, values: np.ndarray) -> None:
        """Append consecutive float32 fields (e.g. a sequence of ColorRGBA), 4-aligned.

        Args:
            values: numbers of any shape, written in C order as little-endian float32.
        """
        self.align(4)
        self.buffer += np.ascontiguousarray(values, "<f4").tobytes()

    def u8s(self, data: bytes) -> None:
        """Append a uint8[] sequence: its uint32 count, then the bytes.

        Args:
            data: the elements.
        """
        self.u32(len(data))
        self.buffer += data

    def raw(self, data: bytes, alignment: int = 1) -> None:
        """Append bytes already laid out as CDR (a cached run of fields).

        Args:
            data: the fields' bytes, laid out as if starting at a multiple of ``alignment``.
            alignment: the alignment in bytes to pad to first.
        """
        self.align(alignment)
        self.buffer += data

    def bytes(self) -> bytes:
        """The serialised message.

        Returns:
            A copy of the buffer: the encapsulation header, then the fields.
        """
        return bytes(self.buffer)


class CdrReader:
    """Reads CDR fields in order from a serialised message (with its encapsulation header).

    Args:
        data: the message, starting with a little-endian encapsulation header (``00 01``).

    Attributes:
        data: ``data`` as a memoryview.
        offset: the position of the next field to read, in bytes from the message's start.

    Raises:
        CdrError: ``data`` is shorter than the header or not little-endian CDR.
    """

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
        """Read a uint8.

        Returns:
            The value, 0 to 255.

        Raises:
            CdrError: the message ends before it.
        """
        return self._take(1, 1)[0]

    def u32(self) -> int:
        """Read a 4-aligned uint32.

        Returns:
            The value.

        Raises:
            CdrError: the message ends before it.
        """
        return _U32.unpack(self._take(4, 4))[0]

    def i32(self) -> int:
        """Read a 4-aligned int32.

        Returns:
            The value.

        Raises:
            CdrError: the message ends before it.
        """
        return _I32.unpack(self._take(4, 4))[0]

    def time(self) -> int:
        """Read a builtin_interfaces/Time (or Duration): int32 sec, uint32 nanosec.

        Returns:
            The time in integer nanoseconds.

        Raises:
            CdrError: the message ends before it.
        """
        sec, nanosec = _TIME.unpack(self._take(8, 4))
        return sec * 1_000_000_000 + nanosec

    def string(self) -> str:
        """Read a string (uint32 length with the NUL, bytes, NUL).

        Returns:
            The text without its NUL, decoded as UTF-8 (invalid bytes replaced); ``""`` for length 0.

        Raises:
            CdrError: the message ends before it.
        """
        length = self.u32()
        if length == 0:  # some writers send an empty string as no bytes at all
            return ""
        return bytes(self._take(length, 1)[:-1]).decode(errors="replace")

    def f64s(self, count: int) -> np.ndarray:
        """Read ``count`` consecutive float64 fields, 8-aligned, without copying.

        Args:
            count: how many numbers.

        Returns:
            (count,) float64, a read-only view of the message.

        Raises:
            CdrError: the message ends before them.
        """
        return np.frombuffer(self._take(8 * count, 8), "<f8")

    def u8s(self) -> memoryview:
        """Read a uint8[] sequence (uint32 count, then the bytes), without copying.

        Returns:
            The elements, a view of the message.

        Raises:
            CdrError: the message ends before them.
        """
        return self._take(self.u32(), 1)
