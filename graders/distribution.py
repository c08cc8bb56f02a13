"""iclab's own code and requirements, wherever it runs from: a checkout, or an installed wheel.

Bundles ship the mock services' source; Gradescope packages ship iclab's
source and pin its requirements. In a checkout these are read from the
repository (pyproject.toml); installed, from the packages' own folders and
the distribution's metadata.
"""
from __future__ import annotations

import importlib.metadata as metadata
import importlib.util
import tomllib
from pathlib import Path

__all__ = ["package_folder", "cli_source", "requirements"]


def package_folder(name: str) -> Path:
    """The folder of an importable package of iclab's (``graders``, ``mock_services``)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"no package {name}", name=name)
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def cli_source() -> Path:
    """cli.py, the command line's module."""
    spec = importlib.util.find_spec("cli")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("no module cli", name="cli")
    return Path(spec.origin).resolve()


def _checkout_project() -> dict | None:
    pyproject = package_folder("graders").parent / "pyproject.toml"
    try:
        return tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None


def requirements(*, extras: bool = False) -> list[str]:
    """iclab's requirement strings: runtime ones, and with ``extras`` those of every extra (markers kept)."""
    project = _checkout_project()
    if project is not None:
        deps = list(project.get("dependencies", []))
        if extras:
            for group in project.get("optional-dependencies", {}).values():
                deps += group
        return deps
    try:
        declared = metadata.requires("iclab") or []
    except metadata.PackageNotFoundError:
        return []
    return [r for r in declared if extras or "extra ==" not in r.replace("extra==", "extra ==")]
