"""Lab 04's formats on the grader's side: length-prefixed frames and the file protocol
(docs/labs.md#04_sticky_packets), for the reference peers that talk to a student's programs.

A frame is a 4-byte big-endian length, then that many bytes. A file goes as a header frame
(a JSON object: file_name, file_size, md5), the raw body, and an ack frame back.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from typing import Any

FRAME_MAX = 16 * 1024 * 1024
FT_HEADER_MAX = 64 * 1024
FT_ACK_MAX = 4 * 1024
PREFIX = 4


def frame(payload: bytes) -> bytes:
    return struct.pack("!I", len(payload)) + payload


def frames(payloads: list[bytes]) -> bytes:
    return b"".join(frame(p) for p in payloads)


@dataclass
class Parsed:
    """What a byte stream holds, read as frames: the whole frames, then what is left (a
    frame cut short, or less than a prefix)."""

    payloads: list[bytes]
    rest: bytes

    @property
    def pending_length(self) -> int | None:
        """The length the next, unfinished frame announces, when its prefix is whole."""
        return struct.unpack("!I", self.rest[:PREFIX])[0] if len(self.rest) >= PREFIX else None


def parse(data: bytes, limit: int = FRAME_MAX) -> Parsed:
    """Frames from the start of data; a length over limit stops the reading there."""
    payloads, at = [], 0
    while len(data) - at >= PREFIX:
        (length,) = struct.unpack_from("!I", data, at)
        if length > limit or len(data) - at - PREFIX < length:
            break
        payloads.append(bytes(data[at + PREFIX:at + PREFIX + length]))
        at += PREFIX + length
    return Parsed(payloads, bytes(data[at:]))


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def header(name: str | None, size: int, md5: str, **extra: Any) -> bytes:
    """A header frame's payload; name None leaves file_name out."""
    fields: dict[str, Any] = {} if name is None else {"file_name": name}
    fields.update(file_size=size, md5=md5, **extra)
    return json.dumps(fields, ensure_ascii=False).encode()


def ack(ok: bool, md5: str = "", error: str = "") -> bytes:
    return json.dumps({"ok": True, "md5": md5} if ok else {"ok": False, "error": error}).encode()


def read_json_object(payload: bytes) -> dict[str, Any] | None:
    """The JSON object a frame holds, or None when it holds something else."""
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None
