"""A student's object files, looked at before the grader trusts the test program built on them.

The API checks run the lab's trusted Criterion tests linked with the student's code, in one
program: code of the student's that ran on its own - before main, or in place of a function
of the C library or of Criterion - could write its own verdict. So each student object file
(build/obj/NAME.o) is refused, and the API checks fail saying why, when it has:

- a constructor or destructor (.init_array, .fini_array, .ctors, .dtors, .preinit_array):
  code that runs without being called;
- a global definition of a name that the C library or the test libraries define (memcmp,
  a Criterion function, ...): it would replace theirs for the whole program;
- a use of Criterion's, BoxFort's or nanomsg's internals, of the dynamic loader (dlsym) or
  of the calls that reach into other processes or around the C library (ptrace,
  process_vm_writev, syscall, mprotect);
- a system call instruction of its own (syscall, sysenter, int $0x80).

None of these has a place in a lab's solution, so an honest submission never meets them. The
wire checks do not need this: they judge the programs from the outside.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import threading
from functools import cache
from pathlib import Path

from . import cache as kept_files

_FORBIDDEN_SECTIONS = re.compile(r"^\.(init_array|fini_array|preinit_array|ctors|dtors)\b")
_FORBIDDEN_CALLS = re.compile(r"^(criterion_\w*|cr_\w*|bxf_\w*|bxfi_\w*|nn_\w*|nng_\w*|"
                              r"dlopen|dlmopen|dlsym|dlvsym|ptrace|process_vm_readv|"
                              r"process_vm_writev|syscall|mprotect|pkey_mprotect)$")
_SYSCALL_INSN = re.compile(r"\t(syscall|sysenter)\s*$|\tint\s+\$0x80\b", re.M)
TOOL_S = 30


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_S)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def _sections(obj: Path) -> list[str]:
    names = []
    for line in _run(["readelf", "--section-headers", "--wide", str(obj)]).splitlines():
        match = re.match(r"\s*\[\s*\d+\]\s+(\S+)", line)
        if match:
            names.append(match.group(1))
    return names


def _symbols(obj: Path) -> tuple[set[str], set[str]]:
    """The global names obj defines, and those it uses without defining."""
    defined, used = set(), set()
    for line in _run(["nm", "--extern-only", str(obj)]).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("U", "w"):
            used.add(parts[1])
        elif len(parts) == 3:
            defined.add(parts[2])
    return defined, used


@cache
def library_names(libraries: tuple[Path, ...]) -> frozenset[str]:
    """Every name the given shared libraries define."""
    names: set[str] = set()
    for library in libraries:
        names |= _names_defined_by(library)
    return frozenset(names)


def _names_defined_by(library: Path) -> set[str]:
    """The names one shared library defines, read with nm once per machine and version of
    the library: kept in the grader's cache folder, under a name its path, size and time
    make, so an updated library is read anew."""
    stat = library.resolve().stat()
    key = hashlib.sha256(f"{library.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    kept = kept_files.root() / "library-names" / key.hexdigest()[:24]
    try:
        return set(kept.read_text().split())
    except OSError:
        pass
    names = set()
    for line in _run(["nm", "--dynamic", "--defined-only", str(library)]).splitlines():
        parts = line.split()
        if len(parts) == 3:
            names.add(parts[2].split("@")[0])
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_name(f"{kept.name}.new-{os.getpid()}-{threading.get_ident()}")
        partial.write_text("\n".join(sorted(names)))
        partial.rename(kept)       # whole or not at all
    except OSError:
        pass                       # no cache folder: read it again next time
    return names


def linked_libraries(program: Path) -> tuple[Path, ...]:
    """The shared libraries a program names (its NEEDED entries, read with readelf: ldd
    would run the program's own loader, and the program holds student code), found where
    the dynamic linker's cache says they are."""
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                        _run(["readelf", "--dynamic", "--wide", str(program)]))
    cache = _library_cache()
    return tuple(cache[name] for name in needed if name in cache)


@cache
def _library_cache() -> dict[str, Path]:
    """Library file name -> path, for this machine's architecture (ldconfig -p)."""
    found: dict[str, Path] = {}
    arch = "x86-64" if platform.machine() == "x86_64" else ""
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"    # /sbin: not on every PATH
    for line in _run([ldconfig, "-p"]).splitlines():
        match = re.match(r"\s*(\S+) \(([^)]*)\) => (/\S+)", line)
        if match and arch in match.group(2) and match.group(1) not in found:
            found[match.group(1)] = Path(match.group(3))
    return found


def refusals(obj: Path, libraries: tuple[Path, ...]) -> list[str]:
    """Why the student object obj cannot share a program with the grader's tests; [] when
    it can."""
    why = []
    for section in _sections(obj):
        if _FORBIDDEN_SECTIONS.match(section):
            why.append(f"it has a constructor or destructor (section {section}): code that "
                       f"runs without being called")
    defined, used = _symbols(obj)
    clashing = sorted(defined & library_names(libraries))
    if clashing:
        why.append(f"it defines {', '.join(clashing)}, which the C library or the test "
                   f"libraries define: yours would replace theirs in the whole test program "
                   f"(make your helpers static, and give them names of their own)")
    reaching = sorted(name for name in used if _FORBIDDEN_CALLS.match(name))
    if reaching:
        why.append(f"it calls {', '.join(reaching)}: the test libraries' internals, the "
                   f"dynamic loader and calls into other processes have no place in a lab")
    if _SYSCALL_INSN.search(_run(["objdump", "--disassemble", "--no-show-raw-insn", str(obj)])):
        why.append("it makes system calls of its own (a syscall instruction): call the C "
                   "library's functions instead")
    return why
