"""What a namespace-mode sandbox's root holds: an allowlist, opened by the grader, bound by the sandbox.

Deny what is not named. The root holds, read-only and at the same paths as
on the host (so module paths stay valid): the standard library (its own
site-packages masked), the installed libraries a lab may use (each
distribution's top-level files, from its RECORD), the system's shared
libraries and time-zone data, the dynamic linker's cache and the child
runtime. Nothing of iclab itself, of any checkout or of the rest of the host.

The grader opens every entry (``O_PATH``) and passes the descriptors, so the
sandbox, which runs as an unprivileged id, binds them without needing to
reach the paths above them (a venv under a 0700 home folder, say).
"""
from __future__ import annotations

import functools
import importlib.metadata as metadata
import os
import re
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from ..errors import IclabError

__all__ = ["RootPlan", "plan_root", "open_binds", "landlock_rules", "DEFAULT_LIBRARIES", "library_entries",
           "RootError"]

# What labs may be allowed to import besides the standard library: iclab's own runtime dependencies
# (the fork server's root holds all of them; each child unmounts those its lab does not allow).
DEFAULT_LIBRARIES = ("lxml", "requests", "duckdb", "pytest", "responses", "jsonschema")
_SYSTEM = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/lib32", "/usr/lib32")
RUNTIME_IN_ROOT = "/.iclab/runtime"  # a fixed place: the runtime's own copy may live under /tmp
_FILES = ("/etc/ld.so.cache",)


class RootError(IclabError):
    """The allowlist would expose something it must not (a folder of hidden material)."""


@dataclass(frozen=True)
class RootPlan:
    binds: tuple[tuple[str, bool], ...]          # (host path, is a folder), bound at the same path
    links: tuple[tuple[str, str], ...]           # (path, symlink target)
    masks: tuple[str, ...]                       # folders inside binds covered by an empty tmpfs
    libraries: tuple[tuple[str, tuple[str, ...]], ...]  # (distribution, its top-level paths)
    site: tuple[str, ...] = ()                   # the site-packages folders the libraries live in
    runtime: str = ""                            # the child runtime's folder, bound at RUNTIME_IN_ROOT

    @property
    def scratch(self) -> str:
        """Where a child's private scratch folder goes: /tmp, unless something it needs lives under /tmp."""
        return "/.scratch" if any(_within(path, "/tmp") for path, _ in self.binds) else "/tmp"

    def hide(self, allowed: tuple[str, ...]) -> list[str]:
        """Library paths a child whose lab allows only ``allowed`` (and their dependencies) must not see."""
        keep = {p for name in closure(allowed) for p in library_entries(name)}
        return sorted({p for _, paths in self.libraries for p in paths} - keep)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(dist: metadata.Distribution) -> list[str]:
    """Names of what ``dist`` needs unconditionally (extras left out)."""
    out = []
    for text in dist.requires or []:
        name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", text)
        if not name:
            continue
        marker = text.split(";", 1)[1] if ";" in text else ""
        if "extra" in marker:
            continue
        if marker.strip():
            try:
                from packaging.markers import Marker

                if not Marker(marker).evaluate():
                    continue
            except Exception:  # noqa: BLE001 - without packaging, keep the requirement: more is safe here
                pass
        out.append(name.group(1))
    return out


@functools.cache
def closure(names: tuple[str, ...]) -> tuple[str, ...]:
    """The installed distributions ``names`` need, themselves included, by canonical name."""
    seen: dict[str, None] = {}
    todo = list(names)
    while todo:
        name = _canonical(todo.pop())
        if name in seen or name == "iclab":
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = None
        todo.extend(_requirements(dist))
    return tuple(sorted(seen))


@functools.cache
def library_entries(name: str) -> tuple[str, ...]:
    """Absolute paths of a distribution's top-level files and folders in site-packages."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return ()
    tops = set()
    for file in dist.files or ():
        parts = Path(file).parts
        if not parts or parts[0] == ".." or parts[0] == "__pycache__" or parts[0].endswith(".pth"):
            continue
        path = Path(dist.locate_file(parts[0])).resolve()
        if path.exists():
            tops.add(str(path))
    return tuple(sorted(tops))


def _zoneinfo_dirs() -> list[str]:
    try:
        import zoneinfo

        return [p for p in zoneinfo.TZPATH if os.path.isdir(p)]
    except ImportError:
        return []


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def plan_root(runtime: Path, hidden: list[Path], libraries: tuple[str, ...] = DEFAULT_LIBRARIES) -> RootPlan:
    """The allowlist for a root with the runtime at ``runtime`` and ``libraries`` (plus their needs)."""
    # Where the standard library really is (in a venv, sysconfig's platstdlib names the venv's own lib),
    # and its extension modules (lib-dynload), usually inside it.
    stdlib = {os.path.dirname(os.path.realpath(os.__file__))}
    dynload = sysconfig.get_config_var("DESTSHARED")
    if dynload and os.path.isdir(dynload):
        stdlib.add(os.path.realpath(dynload))
    stdlib = {p for p in stdlib if not any(_within(p, q) and p != q for q in stdlib)}
    binds: dict[str, bool] = {p: True for p in stdlib if os.path.isdir(p)}
    base_site = {os.path.realpath(sysconfig.get_path(k, vars={"base": sys.base_prefix, "platbase": sys.base_prefix}))
                 for k in ("purelib", "platlib")}
    masks = sorted(p for p in base_site if any(_within(p, s) for s in stdlib) and os.path.isdir(p))
    links = []
    for path in _SYSTEM:
        if os.path.islink(path):
            links.append((path, os.readlink(path)))
        elif os.path.isdir(path):
            binds[path] = True
    for path in _zoneinfo_dirs():
        if not any(_within(os.path.realpath(path), b) for b in binds):
            binds[os.path.realpath(path)] = True
    for path in _FILES:
        if os.path.isfile(path):
            binds[path] = False
    libs = []
    for name in closure(tuple(libraries) + ("tzdata",)):
        entries = library_entries(name)
        libs.append((name, entries))
        for entry in entries:
            binds[entry] = os.path.isdir(entry)
    for path in binds:
        if any(_within(path, fixed) for fixed in ("/submission", "/proc", "/dev", "/.iclab", "/.sandboxes")):
            raise RootError(f"{path} lies where the sandbox mounts its own folders; install Python elsewhere")
    for folder in (os.path.realpath(h) for h in hidden):
        exposed = [b for b in binds if _within(folder, b) or _within(b, folder)]
        if exposed:
            raise RootError(f"the sandbox's root would expose {folder} (through {exposed[0]}); refusing to grade")
    # Parents before children, so a folder bound inside another lands on top of it.
    ordered = tuple(sorted(binds.items(), key=lambda kv: (kv[0].count("/"), kv[0])))
    site = tuple(sorted({os.path.dirname(e) for _, entries in libs for e in entries}))
    return RootPlan(ordered, tuple(links), tuple(masks), tuple(libs), site, str(runtime))


def landlock_rules(plan: RootPlan, work: Path) -> dict:
    """The same allowlist as Landlock rules, for a process-mode child (runtime/_iclab_landlock.py).

    Landlock grants rights beneath a path and cannot take them back below it,
    so a folder holding something that must stay closed (the interpreter's
    own site-packages) is opened entry by entry instead.
    """
    read, listed = [], list(plan.site)
    for path, is_dir in plan.binds:
        masked = [m for m in plan.masks if _within(m, path)]
        if is_dir and masked:
            listed.append(path)
            read += [e.path for e in os.scandir(path) if e.path not in masked]
        else:
            read.append(path)
    read.append(plan.runtime)
    read.append(os.path.realpath(sys.executable))
    read += ["/dev/urandom", "/dev/random", "/dev/zero",
             "/proc/self",       # the child's own entry only
             "/sys/fs/cgroup"]   # its resource limits, which DuckDB reads (and fails without)
    return {"read": read, "list": listed, "write": [str(work), "/dev/null"]}


def open_binds(plan: RootPlan) -> list[tuple[int, str, bool]]:
    """An ``O_PATH`` descriptor per bind (the caller passes them to the sandbox and closes them)."""
    fds = []
    try:
        for path, is_dir in plan.binds:
            fds.append((os.open(path, os.O_PATH | os.O_CLOEXEC | (os.O_DIRECTORY if is_dir else 0)), path, is_dir))
    except OSError:
        for fd, _, _ in fds:
            os.close(fd)
        raise
    return fds
