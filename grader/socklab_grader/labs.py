"""The labs this grader knows: their student files, and where the trusted tree is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LABS_DIR = REPO / "labs"

# LABS.md §1: the only files a student edits, per lab.
STUDENT_FILES: dict[str, tuple[str, ...]] = {
    "01_udp_send": ("src/udp_send.c",),
    "02_udp_bind": ("src/udp_bind.c",),
    "03_tcp": ("src/tcp.c",),
    "04_sticky_packets": ("src/frame.c", "src/filexfer.c"),
    "05_winsock": ("src/sock_compat.c", "src/wecho.c"),
}


@dataclass(frozen=True)
class Lab:
    name: str
    student_files: tuple[str, ...]

    @property
    def trusted_dir(self) -> Path:
        return LABS_DIR / self.name


def available() -> list[Lab]:
    """The labs of the contract that this tree has, with their grader checks, in order."""
    grader_checks = Path(__file__).parent / "checks"
    found = []
    for name, files in STUDENT_FILES.items():
        if (LABS_DIR / name / "Makefile").exists() and (grader_checks / f"lab{name[:2]}.py").exists():
            found.append(Lab(name, files))
    return found


def find(name: str) -> Lab | None:
    """A lab by its full name (01_udp_send) or its number (01, 1)."""
    for lab in available():
        if name == lab.name or (re.fullmatch(r"\d{1,2}", name) and int(name) == int(lab.name[:2])):
            return lab
    return None
