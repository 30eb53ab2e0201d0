"""Build a student's files in a fresh copy of the trusted lab tree, with -Werror.

Only the student files come from the submission; the lab's headers, provided programs,
tests, Makefile and shared pieces are copied from this repository, so a submission can never
change them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from . import confine, labs, runner

BUILD_TIMEOUT_S = 180
SHORT_IO_SOURCE = Path(__file__).resolve().parents[1] / "shim" / "short_io.c"
SHORT_IO_LIBRARY = "short_io.so"   # in the lab's build folder, next to the programs
TESTS_LOG = "tests-build.log"      # there too, when the Criterion tests did not build


def also_build_log(target: str) -> str:
    """Where the output of a failed ALSO_BUILD target is kept, in the lab's build folder."""
    return f"{target}-build.log"

LOG_CAP = 20_000
_IGNORE = shutil.ignore_patterns("build", "*.o", "__pycache__")


@dataclass
class Built:
    ok: bool
    lab_dir: Path
    log: str


def prepare(lab: labs.Lab, files: dict[str, bytes], workdir: Path) -> tuple[Path, list[str]]:
    """Copy the trusted tree into workdir and put the student files in; the lab's folder
    there, and notes on student files that were not submitted (their skeleton stays)."""
    shutil.copytree(labs.REPO / "mk", workdir / "mk", ignore=_IGNORE)
    shutil.copytree(labs.LABS_DIR / "common", workdir / "labs" / "common", ignore=_IGNORE)
    lab_dir = workdir / "labs" / lab.name
    shutil.copytree(lab.trusted_dir, lab_dir, ignore=_IGNORE)
    notes = []
    for rel in lab.student_files:
        if rel in files:
            (lab_dir / rel).write_bytes(files[rel])
        else:
            notes.append(f"{rel} was not in the submission: the skeleton was built in its place")
    return lab_dir, notes


def _make(lab_dir: Path, target: str) -> tuple[bool, str]:
    """make TARGET in the lab; whether it worked, and its output with the paths a student
    knows (src/udp_send.c, not our temporary copy). The compiler reads the student's files,
    which may #include any path: it runs confined, seeing the system's tools and this run's
    copy of the lab only (confine.py)."""
    argv = ["make", "-C", str(lab_dir), "-j2", "--silent", "--no-print-directory", target]
    confinement = confine.probe()
    workdir = lab_dir.parents[1]        # mk/, labs/common and this lab: the run's copy
    if confinement.confined:
        confine.give(confinement, workdir)
        argv = confinement.wrap(argv, writable=[workdir], cwd=lab_dir, own_pids=True)
    ended, out, err = runner.run(argv, timeout=BUILD_TIMEOUT_S)
    log = (out + err).replace(f"{lab_dir}/", "").strip()
    if len(log) > LOG_CAP:
        log = log[:LOG_CAP] + "\n[... build log cut]"
    if ended.killed_by_us:
        log += f"\nthe build took longer than {BUILD_TIMEOUT_S} s and was stopped"
    return ended.code == 0 and not ended.killed_by_us, log


def build(lab: labs.Lab, files: dict[str, bytes], workdir: Path) -> Built:
    """The programs first: if they do not build, nothing can be graded. Then the Criterion
    tests: if only they fail to build (a name of the student's clashing with a test
    helper's, say), the wire checks still run and the API checks say why they could not.
    Then the lab's ALSO_BUILD targets, whose failure its own checks report."""
    lab_dir, notes = prepare(lab, files, workdir)
    ok, log = _make(lab_dir, "all")
    log = "\n".join(notes + [log]).strip()
    if not ok:
        return Built(False, lab_dir, log)
    tests_ok, tests_log = _make(lab_dir, "tests")
    if not tests_ok:
        (lab_dir / "build" / TESTS_LOG).write_text(tests_log)
        log = f"{log}\nthe Criterion tests did not build with your files:\n{tests_log}".strip()
    # Another system's build (lab 05's `make win`): its checks say whether it worked.
    for target in lab.also_build:
        target_ok, target_log = _make(lab_dir, target)
        if not target_ok:
            (lab_dir / "build" / also_build_log(target)).write_text(target_log)
    build_short_io(lab_dir / "build" / SHORT_IO_LIBRARY)
    return Built(True, lab_dir, log)


def build_short_io(library: Path) -> None:
    """The grader's own LD_PRELOAD library (shim/short_io.c), which the checks use to make
    socket I/O short on purpose. Trusted code: failing to build it is the grader's fault."""
    ended, out, err = runner.run(["cc", "-std=c17", "-O2", "-Wall", "-Wextra", "-Werror",
                                  "-shared", "-fPIC", "-o", str(library), str(SHORT_IO_SOURCE),
                                  "-ldl"], timeout=BUILD_TIMEOUT_S)
    if ended.code != 0:
        raise RuntimeError(f"building the grader's {SHORT_IO_SOURCE.name} failed:\n{out}{err}")
