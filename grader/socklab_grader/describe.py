"""Words for what crossed the wire: bytes as text (and hex when binary), datagrams, output."""

from __future__ import annotations

from typing import Iterable, Protocol

SHOWN_BYTES = 48


def show_bytes(data: bytes | bytearray, limit: int = SHOWN_BYTES) -> str:
    """'hello\\n' (6 bytes), or hex for binary: 68 65 00 (3 bytes: 'he\\x00')."""
    data = bytes(data)
    cut = data[:limit]
    more = "…" if len(data) > limit else ""
    size = f"({len(data)} byte{'s' if len(data) != 1 else ''})"
    try:
        text = cut.decode("utf-8")
        binary = any(ch < " " and ch not in "\t\n" or ch == "\x7f" for ch in text)
    except UnicodeDecodeError:
        text, binary = "", True
    if not binary:
        return f"{text!r}{more} {size}"
    hexed = " ".join(f"{b:02x}" for b in cut)
    return f"{hexed}{more} {size}: {cut!r}{more}"


class _HasDatagram(Protocol):
    data: bytes
    source: tuple[str, int]
    port: int


def show_datagrams(datagrams: Iterable[_HasDatagram]) -> str:
    lines = [f"  #{i}: {show_bytes(d.data)} from {d.source[0]}:{d.source[1]}"
             for i, d in enumerate(datagrams, 1)]
    if not lines:
        return "  (nothing)"
    return "\n".join(lines)


def show_output(text: str, limit: int = 600) -> str:
    """A program's output, indented, cut when long; "(nothing)" when empty."""
    if not text.strip():
        return "  (nothing)"
    if len(text) > limit:
        text = text[:limit] + "…"
    return "\n".join("  | " + line for line in text.rstrip("\n").split("\n"))


def first_difference(sent: bytes, got: bytes) -> int:
    """Offset of the first byte where got differs from sent (len(got) when it is a prefix)."""
    low, high = 0, min(len(sent), len(got))
    while low < high:   # bisect on equal prefixes: fast on megabytes
        mid = (low + high + 1) // 2
        if sent[:mid] == got[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
