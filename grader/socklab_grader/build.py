"""Build a student's files in a fresh copy of the trusted lab tree, with -Werror.

Only the student files come from the submission; the lab's headers, provided programs,
tests, Makefile and shared pieces are copied from this repository, so a submission can never
change them.

Everything but the student's own objects is the same for every submission, so it is built
once per machine (trusted_objects): the lab's tree with its skeletons, compiled, less the
skeletons' objects and every linked file. A submission's copy of the lab starts from a copy
of those objects, whose times make them newer than their sources, so make compiles only the
student's files and links.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cache as memoized
from pathlib import Path

from . import cache, confine, labs, runner

BUILD_TIMEOUT_S = 180
SHORT_IO_SOURCE = Path(__file__).resolve().parents[1] / "shim" / "short_io.c"
SHORT_IO_LIBRARY = "short_io.so"   # in the lab's build folder, next to the programs
TESTS_LOG = "tests-build.log"      # there too, when the Criterion tests did not build


def also_build_log(target: str) -> str:
    """Where the output of a failed ALSO_BUILD target is kept, in the lab's build folder."""
    return f"{target}-build.log"

LOG_CAP = 20_000
_IGNORE = shutil.ignore_patterns("build", "*.o", "__pycache__")
OBJECTS_LAYOUT = "1"            # the kept objects' layout: their folder's name changes with it
OBJECTS_LOCK_S = 600.0          # waiting for another grader that is building them
# The compilers whose output is kept, and the record of the system's packages (headers and
# libraries): a change in any of them means new objects.
COMPILERS = ("cc", "x86_64-w64-mingw32-gcc")
PACKAGES = Path("/var/lib/dpkg/status")
READY_MARK = ".socklab-ready"


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


def _trusted_key(lab: labs.Lab) -> str:
    """What the lab's trusted objects are made from: its tree, the shared one, the grader's
    shim, the compilers and the system's packages."""
    digest = hashlib.sha256(OBJECTS_LAYOUT.encode())
    for top in (labs.REPO / "mk", labs.LABS_DIR / "common", lab.trusted_dir):
        for path in sorted(top.rglob("*")):
            relative = path.relative_to(labs.REPO)
            if path.is_file() and not {"build", "__pycache__"} & set(relative.parts) \
                    and path.suffix != ".o":
                digest.update(f"{relative}\0{path.stat().st_size}\0".encode())
                digest.update(path.read_bytes())
    digest.update(SHORT_IO_SOURCE.read_bytes())
    for compiler in COMPILERS:
        if shutil.which(compiler):
            ended, out, err = runner.run([compiler, "--version"], timeout=30)
            digest.update(f"{compiler}\0{ended.code}\0{out}{err}".encode())
    if PACKAGES.exists():
        stat = PACKAGES.stat()
        digest.update(f"{stat.st_mtime_ns}\0{stat.st_size}".encode())
    return digest.hexdigest()[:24]


@memoized
def trusted_objects(lab: labs.Lab) -> Path | None:
    """The lab's build folder with every trusted object in it (no student object, nothing
    linked), made now if this machine has none for this content yet; None when it cannot be
    made (then a submission's build compiles everything, as it would without it)."""
    root = cache.root()
    kept = root / f"objects-{lab.name}-{_trusted_key(lab)}"
    if (kept / READY_MARK).exists():
        return kept / "build"
    try:
        root.mkdir(parents=True, exist_ok=True)
        with cache.Lock(root / f"objects-{lab.name}.lock", OBJECTS_LOCK_S,
                        f"building lab {lab.name}'s trusted objects"):
            if not (kept / READY_MARK).exists():
                _make_trusted_objects(lab, kept)
    except (OSError, TimeoutError, RuntimeError):
        return None
    return kept / "build"


def _make_trusted_objects(lab: labs.Lab, kept: Path) -> None:
    """Build the lab with its skeletons (trusted code: no sandbox) beside `kept`, keep the
    objects that do not come from a student file, and rename the folder into place."""
    building = Path(tempfile.mkdtemp(prefix=f"{kept.name}.new-", dir=kept.parent))
    try:
        lab_dir, _ = prepare(lab, {}, building)
        for target in ("all", "tests"):
            ended, out, err = runner.run(["make", "-C", str(lab_dir), "-j2", "--silent", target],
                                         timeout=BUILD_TIMEOUT_S)
            if ended.code != 0:
                raise RuntimeError(f"the trusted tree of {lab.name} did not build: {out}{err}")
        for target in lab.also_build:     # another system's compiler may be absent: no matter
            runner.run(["make", "-C", str(lab_dir), "-j2", "--silent", target],
                       timeout=BUILD_TIMEOUT_S)
        build_short_io(lab_dir / "build" / SHORT_IO_LIBRARY)
        student_objects = {f"{Path(rel).stem}.o" for rel in lab.student_files}
        for path in (lab_dir / "build").rglob("*"):
            if path.is_file() and (path.name in student_objects or
                                   (path.suffix != ".o" and path.name != SHORT_IO_LIBRARY)):
                path.unlink()
        shutil.move(lab_dir / "build", building / "build")
        shutil.rmtree(building / "labs")
        shutil.rmtree(building / "mk")
        (building / READY_MARK).write_text("made by socklab_grader.build\n")
        os.chmod(building, 0o755)
        shutil.rmtree(kept, ignore_errors=True)   # a half-made one: it has no READY_MARK
        building.rename(kept)
    finally:
        shutil.rmtree(building, ignore_errors=True)


def build(lab: labs.Lab, files: dict[str, bytes], workdir: Path) -> Built:
    """The programs first: if they do not build, nothing can be graded. Then the Criterion
    tests: if only they fail to build (a name of the student's clashing with a test
    helper's, say), the wire checks still run and the API checks say why they could not.
    Then the lab's ALSO_BUILD targets, whose failure its own checks report."""
    lab_dir, notes = prepare(lab, files, workdir)
    kept = trusted_objects(lab)
    if kept is not None:
        shutil.copytree(kept, lab_dir / "build")    # copy2: the objects keep their times
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
    if not (lab_dir / "build" / SHORT_IO_LIBRARY).exists():
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
