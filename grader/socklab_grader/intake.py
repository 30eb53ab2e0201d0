"""Take a submission - a folder, a .zip, a .tar.gz or a .tgz - and find the student files.

The files may sit at labs/NN_name/src/..., at NN_name/src/..., or, when one lab is graded,
at src/... or flat; any folders above those (an archive's top folder) are fine. Only the
student files are taken; nothing else in a submission is ever used.
"""

from __future__ import annotations

import stat
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from .labs import Lab

FILE_CAP = 1 << 20            # a student file larger than this is not source code
ARCHIVE_CAP = 64 << 20        # total bytes read from an archive
MEMBERS_CAP = 20_000


class IntakeError(Exception):
    """The submission cannot be read at all (exit status 2)."""


@dataclass
class Submission:
    name: str
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)   # lab -> rel -> bytes


def submission_name(path: Path) -> str:
    """The submission's own name: a batch entry that is a link keeps the link's name."""
    name = path.absolute().name if path.name not in ("", ".", "..") else path.resolve().name
    for suffix in (".tar.gz", ".tgz", ".zip"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _read_dir(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in root.rglob("*.c"):
        if path.is_file() and not path.is_symlink() and "build" not in path.relative_to(root).parts:
            found[path.relative_to(root).as_posix()] = path
        if len(found) > MEMBERS_CAP:
            raise IntakeError(f"{root}: more than {MEMBERS_CAP} C files")
    return found


def _safe(name: str) -> str | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        return None
    return path.as_posix()


class _Collected:
    """The C files of an archive, within the caps, by their (safe) names."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.found: dict[str, bytes] = {}
        self.total = 0

    def offer(self, raw_name: str, is_file: bool, size: int, read: Callable[[], bytes]) -> None:
        name = _safe(raw_name)
        if not is_file or not name or not name.endswith(".c") or size > FILE_CAP:
            return
        self.total += size
        if self.total > ARCHIVE_CAP:
            raise IntakeError(f"{self.path}: more than {ARCHIVE_CAP >> 20} MiB of C files")
        self.found[name] = read()[:FILE_CAP]


def _read_zip(path: Path) -> dict[str, bytes]:
    collected = _Collected(path)
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist()[:MEMBERS_CAP]:
                is_link = stat.S_ISLNK(info.external_attr >> 16)
                collected.offer(info.filename, not info.is_dir() and not is_link,
                                info.file_size, lambda: archive.read(info))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise IntakeError(f"{path}: not a readable zip archive ({err})") from err
    return collected.found


def _read_tar(path: Path) -> dict[str, bytes]:
    collected = _Collected(path)

    def reader(member: tarfile.TarInfo) -> Callable[[], bytes]:
        def read() -> bytes:
            handle = archive.extractfile(member)
            return handle.read(FILE_CAP) if handle is not None else b""
        return read

    try:
        with tarfile.open(path, "r:gz") as archive:
            for count, member in enumerate(archive):
                if count > MEMBERS_CAP:
                    break
                collected.offer(member.name, member.isfile(), member.size, reader(member))
    except (tarfile.TarError, OSError, EOFError, ValueError) as err:
        raise IntakeError(f"{path}: not a readable .tar.gz archive ({err})") from err
    return collected.found


def _candidates(lab: Lab, rel: str, single_lab: bool) -> list[str]:
    """Layouts in order of preference, as path suffixes."""
    layouts = [f"labs/{lab.name}/{rel}", f"{lab.name}/{rel}"]
    if single_lab:
        layouts += [rel, PurePosixPath(rel).name]
    return layouts


def _pick(paths: list[str], suffix: str) -> str | None:
    """The shallowest path that is suffix or ends with /suffix."""
    matching = [p for p in paths if p == suffix or p.endswith("/" + suffix)]
    return min(matching, key=lambda p: (p.count("/"), p)) if matching else None


def read(path: Path, labs: list[Lab], single_lab: bool) -> Submission:
    """The student files of each lab found in the submission at path."""
    if not path.exists():
        raise IntakeError(f"{path}: no such file or folder")
    name = path.name
    if path.is_dir():
        on_disk = _read_dir(path)
        contents = None
    elif name.endswith(".zip"):
        on_disk, contents = {}, _read_zip(path)
    elif name.endswith((".tar.gz", ".tgz")):
        on_disk, contents = {}, _read_tar(path)
    else:
        raise IntakeError(f"{path}: not a folder, .zip, .tar.gz or .tgz")

    paths = sorted(on_disk) if contents is None else sorted(contents)
    submission = Submission(submission_name(path))
    for lab in labs:
        files: dict[str, bytes] = {}
        for rel in lab.student_files:
            for suffix in _candidates(lab, rel, single_lab):
                chosen = _pick(paths, suffix)
                if chosen is None:
                    continue
                try:
                    data = on_disk[chosen].read_bytes()[:FILE_CAP] if contents is None else contents[chosen]
                except OSError as err:
                    raise IntakeError(f"{path}/{chosen}: {err.strerror}") from err
                files[rel] = data
                break
        if files:
            submission.files[lab.name] = files
    return submission
