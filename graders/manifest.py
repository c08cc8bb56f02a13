"""Read and validate lab manifests (lab.toml) and flaw manifests (flaw.toml)."""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jsonschema

from typing import TYPE_CHECKING

from . import paths
from .errors import ManifestError
from .review.rubric import parse_rubric
from .sandbox import Limits

__all__ = ["EntryPoint", "Lab", "Flaw", "load_lab", "load_flaw"]

if TYPE_CHECKING:
    from .packs import LabPack


@dataclass(frozen=True)
class EntryPoint:
    name: str
    module: str
    signature: str

    @property
    def target(self) -> str:
        return f"{self.module}:{self.name}"


@dataclass(frozen=True)
class Lab:
    """A lab as its manifest describes it, plus where its parts live."""

    id: str
    title: str
    summary: str
    minutes: int
    difficulty: str
    skills: tuple[str, ...]
    dimensions: tuple[str, ...]
    files: tuple[str, ...]
    entry_points: tuple[EntryPoint, ...]
    services: tuple[str, ...]
    limits: Limits
    exercise: str | None
    folder: Path
    pack: "LabPack | None" = None  # the lab pack it comes from (None: the built-in pack)
    rubric: tuple = ()  # RubricItem(s) a person scores (graders/review/rubric.py); none for most labs

    @property
    def module_name(self) -> str:
        return self.id.replace("-", "_")

    @property
    def starter(self) -> Path:
        return self.folder / "starter"

    @property
    def readme(self) -> Path:
        return self.folder / "README.md"

    @property
    def hints_file(self) -> Path:
        return self.folder / "hints.md"

    @property
    def fixtures(self) -> Path:
        return (self.pack.fixtures if self.pack else paths.FIXTURES) / self.id

    @property
    def solutions(self) -> Path:
        return (self.pack.solutions if self.pack else paths.SOLUTIONS) / self.id

    def entry(self, name: str) -> EntryPoint:
        for ep in self.entry_points:
            if ep.name == name:
                return ep
        raise KeyError(name)


@dataclass(frozen=True)
class Flaw:
    """A deliberately flawed solution and the checks it must lose."""

    name: str
    mistake: str
    fails: tuple[str, ...]
    folder: Path


@cache
def _schema(name: str) -> dict:
    return json.loads((paths.SCHEMAS / name).read_text(encoding="utf-8"))


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{_show(path)}: file not found") from None
    except UnicodeDecodeError:
        raise ManifestError(f"{_show(path)}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{_show(path)}: invalid TOML: {exc}") from None


def _validate(path: Path, data: dict, schema_name: str) -> None:
    validator = jsonschema.Draft202012Validator(_schema(schema_name))
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        return
    where = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        where = ".".join(filter(None, [where, missing]))
        message = "is required but missing"
    elif error.validator == "additionalProperties":
        message = error.message.replace("Additional properties are not allowed ", "unknown field ")
    else:
        message = error.message
    raise ManifestError(f"{_show(path)}: field '{where or '(top level)'}' {message}")


def _show(path: Path) -> str:
    """A manifest's path as people know it: relative to the built-in pack, or to its own pack (labs/<id>/...)."""
    real = path.resolve()
    try:
        return str(real.relative_to(paths.ROOT))
    except ValueError:
        pass
    parts = real.parts
    if "labs" in parts or "solutions" in parts:  # a pack's own anatomy: show it from there, with the pack
        cut = max(i for i, part in enumerate(parts) if part in ("labs", "solutions"))
        return f"{Path(*parts[cut:])} (in {Path(*parts[:cut])})"
    return str(path)


def load_lab(folder: Path, pack: "LabPack | None" = None) -> Lab:
    """Load ``folder/lab.toml``; a malformed manifest raises one-line ManifestError."""
    path = folder / "lab.toml"
    data = _read_toml(path)
    _validate(path, data, "lab.schema.json")
    if data["id"] != folder.name:
        raise ManifestError(f"{_show(path)}: field 'id' is {data['id']!r} but the folder is named {folder.name!r}")
    limits_data = data.get("limits", {})
    limits = Limits(
        call_timeout=float(limits_data.get("call_timeout", 5.0)),
        memory_mb=int(limits_data.get("memory_mb", 768)),
        cpu_seconds=int(limits_data.get("cpu_seconds", 60)),
        file_mb=int(limits_data.get("file_mb", 64)),
        network=bool(limits_data.get("network", bool(data["services"]))),
        libraries=tuple(limits_data.get("libraries", ())),
    )
    return Lab(
        id=data["id"], title=data["title"], summary=data["summary"], minutes=data["minutes"],
        difficulty=data["difficulty"], skills=tuple(data["skills"]), dimensions=tuple(data["dimensions"]),
        files=tuple(data["files"]),
        entry_points=tuple(EntryPoint(**ep) for ep in data["entry_points"]),
        services=tuple(data["services"]), limits=limits, exercise=data.get("exercise"), folder=folder,
        pack=pack, rubric=parse_rubric(data.get("rubric")),
    )


def load_flaw(folder: Path) -> Flaw:
    """Load ``folder/flaw.toml`` for a flawed solution."""
    path = folder / "flaw.toml"
    data = _read_toml(path)
    _validate(path, data, "flaw.schema.json")
    return Flaw(name=folder.name, mistake=data["mistake"], fails=tuple(data["fails"]), folder=folder)
