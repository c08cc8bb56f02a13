"""Lab packs: where labs come from.

A lab pack is a folder with the anatomy of iclab's own top level::

    labs/<lab-id>/          lab.toml, README.md (the ticket), hints.md, starter/, contract documents
    fixtures/<lab-id>/      visible data, copied into the learner's workspace
    graders/<lab_id>.py     the hidden checks (or a package graders/<lab_id>/), defining ``grader``
    solutions/<lab-id>/     reference/ and flawed/<mistake>/ with flaw.toml

iclab finds packs, in this order:

1. the built-in pack, the ten labs shipped with iclab (in a checkout: its top
   level, hidden checks in graders/labs/; in an installed wheel: the copy
   inside the ``graders`` package, ``graders/_builtin/``);
2. installed Python packages that declare an ``iclab.labs`` entry point (its
   value names a module; the pack is that module's folder, or the folder a
   callable of that name returns);
3. folders named by ``ICLAB_LABS_PATH`` (separated like PATH) and by ``--labs``.

A lab id is unique across packs: the same id in two packs is a one-line
error naming both.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata as metadata
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

__all__ = ["LabPack", "builtin", "discover", "configure", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "iclab.labs"


@dataclass(frozen=True)
class LabPack:
    """A folder of labs with the same anatomy as iclab's own top level."""

    name: str        # shown to people: "built-in", the distribution's name, or the folder
    root: Path
    checks: Path     # the folder of hidden-check modules
    builtin: bool = False

    @property
    def labs(self) -> Path:
        return self.root / "labs"

    @property
    def fixtures(self) -> Path:
        return self.root / "fixtures"

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    def lab_ids(self) -> list[str]:
        if not self.labs.is_dir():
            return []
        return sorted(p.name for p in self.labs.iterdir() if (p / "lab.toml").is_file())

    def describe(self) -> str:
        return f"{self.name} ({self.root})" if self.name != str(self.root) else str(self.root)


def builtin() -> LabPack:
    """The ten labs shipped with iclab: a checkout's top level, or their copy inside the installed package."""
    from . import paths

    return LabPack("built-in", paths.ROOT, paths.BUILTIN_CHECKS, builtin=True)


def pack_at(folder: Path | str, name: str | None = None) -> LabPack:
    """The pack in ``folder``; UsageError when it is not one."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder (given as a lab pack)")
    if not (root / "labs").is_dir():
        raise UsageError(f"{root}: not a lab pack (it has no labs/ folder; `iclab new LAB --pack {root}` makes one)")
    return LabPack(name or str(root.resolve()), root.resolve(), (root / "graders").resolve())


_configured: tuple[str, ...] = ()


def configure(paths: tuple[str, ...] | list[str]) -> None:
    """Folders given on the command line (``--labs``), added to every discovery in this process."""
    global _configured
    _configured = tuple(str(p) for p in paths)
    discover.cache_clear()


def _from_entry_points() -> list[LabPack]:
    out = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            target = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, never a traceback
            raise UsageError(f"the lab pack {ep.name!r} ({ep.value}) could not be loaded: {exc}") from None
        if callable(target):
            folder = Path(target())
        elif getattr(target, "__file__", None):
            folder = Path(target.__file__).parent
        else:
            raise UsageError(f"the lab pack {ep.name!r} ({ep.value}) names neither a module nor a callable")
        dist = getattr(ep, "dist", None)
        out.append(pack_at(folder, name=f"{dist.name if dist else ep.name} (installed)"))
    return out


@functools.cache
def discover() -> tuple[LabPack, ...]:
    """Every pack: built-in, installed, ICLAB_LABS_PATH, then --labs; duplicates of one folder once."""
    packs = [builtin()] + _from_entry_points()
    env = [p for p in os.environ.get("ICLAB_LABS_PATH", "").split(os.pathsep) if p.strip()]
    packs += [pack_at(p) for p in env + list(_configured)]
    seen: set[Path] = set()
    unique = []
    for pack in packs:
        if pack.root in seen:
            continue
        seen.add(pack.root)
        unique.append(pack)
    return tuple(unique)


def where_looked() -> str:
    """The places discovery looked, for an error that found nothing."""
    parts = [f"the built-in pack at {builtin().root}"]
    parts.append(f"installed packages with an '{ENTRY_POINT_GROUP}' entry point")
    env = os.environ.get("ICLAB_LABS_PATH", "")
    parts.append(f"ICLAB_LABS_PATH={env!r}" if env else "ICLAB_LABS_PATH (not set)")
    if _configured:
        parts.append("--labs " + " ".join(_configured))
    return "; ".join(parts)


def load_checks_module(pack: LabPack, module_name: str):
    """A pack's hidden-check module for ``module_name``, imported under a name of its own."""
    if pack.builtin:
        return importlib.import_module(f"graders.labs.{module_name}")

    package = f"_iclab_pack_{hashlib.sha256(str(pack.root).encode()).hexdigest()[:10]}"
    name = f"{package}.{module_name}"
    if name in sys.modules:
        return sys.modules[name]
    if package not in sys.modules:  # a namespace for the pack's check modules, so their relative imports work
        spec = importlib.util.spec_from_loader(package, loader=None, is_package=True)
        holder = importlib.util.module_from_spec(spec)
        holder.__path__ = [str(pack.checks)]
        sys.modules[package] = holder
    single, folder = pack.checks / f"{module_name}.py", pack.checks / module_name / "__init__.py"
    path = folder if folder.is_file() else single
    if not path.is_file():
        raise ModuleNotFoundError(f"no module {module_name}", name=name)
    spec = importlib.util.spec_from_file_location(
        name, path, submodule_search_locations=[str(path.parent)] if path == folder else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
