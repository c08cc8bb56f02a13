"""Pack a learner's work into one submission file; unpack untrusted ones without harm.

A submission zip holds ``iclab-submission.json`` at its root and one folder per lab::

    iclab-submission.json          {"schema": "iclab/submission/v1", "tool_version", "created",
                                    "labs": [...], "files": [{"path", "sha256", "size"}, ...]}
    map-customer/mapper.py         the lab's ``files`` (lab.toml)
    map-customer/phone_rules.py    extra .py modules the learner added next to them

``pack`` writes one from workspaces; ``unpack`` reads one that anybody could have
crafted, so it trusts nothing in it (names, types, sizes, counts, checksums) and
leaves nothing behind when it refuses; ``submission_labs`` turns what ``iclab grade``
or ``iclab batch`` was given (a zip or a folder) into one folder per lab.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import stat
import struct
import tomllib
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import jsonschema

from . import __version__, catalog
from .atomic import atomic_open, ensure_folder
from .errors import SubmissionError, UsageError, WorkspaceError
from .manifest import Lab
from .workspace import MARKER, find

__all__ = [
    "MANIFEST",
    "MANIFEST_SCHEMA",
    "MAX_EXTRA_FILES",
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_RATIO",
    "MAX_TOTAL_BYTES",
    "SCHEMA_ID",
    "PackSummary",
    "lab_submission_files",
    "manifest_labs",
    "pack",
    "submission_labs",
    "unpack",
    "write_zip",
]

MANIFEST = "iclab-submission.json"
SCHEMA_ID = "iclab/submission/v1"

MiB = 1024 * 1024
MAX_MEMBERS = 200                 # members in one archive, manifest and folders included
MAX_MEMBER_BYTES = 1 * MiB        # one file, uncompressed
MAX_TOTAL_BYTES = 10 * MiB        # all files, uncompressed
MAX_RATIO = 100                   # uncompressed : compressed, above it a member is a zip bomb
MAX_EXTRA_FILES = 20              # helper modules per lab, beyond the lab's own files
MAX_ARCHIVE_BYTES = 12 * MiB      # the zip on disk: 10 MB of content cannot need more
_MAX_MANIFEST_BYTES = 256 * 1024
_RATIO_FLOOR = 32 * 1024          # tiny members compress absurdly well (a file of blank lines) and harm nobody
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_CHUNK = 64 * 1024

MANIFEST_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "iclab submission manifest (iclab-submission.json)",
    "type": "object",
    "required": ["schema", "tool_version", "created", "labs", "files"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "tool_version": {"type": "string", "minLength": 1, "maxLength": 64},
        "generator": {"type": "string", "maxLength": 64},
        "created": {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
        },
        "labs": {
            "type": "array", "minItems": 1, "maxItems": 50, "uniqueItems": True,
            "items": {"type": "string", "pattern": "^[a-z][a-z0-9]*(-[a-z0-9]+)*$", "maxLength": 40},
        },
        "files": {
            "type": "array", "maxItems": MAX_MEMBERS,
            "items": {
                "type": "object", "required": ["path", "sha256", "size"], "additionalProperties": False,
                "properties": {
                    "path": {"type": "string", "minLength": 3, "maxLength": 255},
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "size": {"type": "integer", "minimum": 0, "maximum": MAX_MEMBER_BYTES},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class PackSummary:
    """What ``pack`` wrote: where, which labs and files, and the zip's size and digest."""

    out: Path
    labs: tuple[str, ...]
    files: tuple[str, ...]          # member paths, e.g. "map-customer/mapper.py"
    size: int
    sha256: str
    unchanged: tuple[str, ...] = ()  # files still identical to the starter: probably unfinished


# --------------------------------------------------------------------------- writing zips


def write_zip(out: Path, entries: Iterable[tuple[str, bytes, int]]) -> tuple[int, str]:
    """Write ``(name, data, mode)`` entries, in the order given, as a reproducible zip; atomically.

    Fixed timestamps and permissions make the same inputs give the same bytes. Returns the
    zip's size and sha256.
    """
    out = Path(out)
    if out.is_dir():
        raise UsageError(f"{out} is a folder; give a file name such as {out / 'out.zip'}")
    ensure_folder(out.parent)
    with atomic_open(out, "wb") as fh, zipfile.ZipFile(fh, "w") as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the permission bits below mean what they say
            info.external_attr = (stat.S_IFREG | mode) << 16
            zf.writestr(info, data, compresslevel=9)
    blob = out.read_bytes()
    return len(blob), hashlib.sha256(blob).hexdigest()


# --------------------------------------------------------------------------- packing


def lab_submission_files(lab: Lab, folder: Path) -> list[str]:
    """The paths (relative, posix) that a submission of ``lab`` from ``folder`` holds.

    The lab's ``files`` (each must exist), the files holding answers to its rubric items
    when present (never required: see graders/review/rubric.py), then extra ``.py`` modules
    beside them that the learner added: never the starter's own files, tests, hidden files,
    links or caches.
    """
    chosen: list[str] = []
    for rel in lab.files:
        path = folder / rel
        if path.is_symlink():
            raise SubmissionError(f"{path} is a symbolic link; put the file itself there")
        if not path.is_file():
            raise SubmissionError(f"{lab.id}: {rel} is missing from {folder}")
        chosen.append(rel)
    for rel in dict.fromkeys(item.file for item in lab.rubric):
        path = folder / rel
        if rel not in chosen and path.is_file() and not path.is_symlink():
            chosen.append(rel)
    starter = {p.relative_to(lab.starter).as_posix() for p in lab.starter.rglob("*")} if lab.starter.is_dir() else set()
    extras: list[str] = []
    for parent in sorted({(folder / rel).parent for rel in lab.files}):
        for path in sorted(parent.iterdir()):
            rel = path.relative_to(folder).as_posix()
            if rel in chosen or rel in starter or rel in extras or not _is_helper_module(path):
                continue
            extras.append(rel)
    if len(extras) > MAX_EXTRA_FILES:
        raise SubmissionError(
            f"{folder}: {len(extras)} extra .py files beside {', '.join(lab.files)}; "
            f"at most {MAX_EXTRA_FILES} (delete scratch files)"
        )
    return chosen + extras


def _is_helper_module(path: Path) -> bool:
    name = path.name
    if path.suffix != ".py" or name.startswith(".") or path.is_symlink() or not path.is_file():
        return False
    return not (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py")


def pack(source: Path, out: Path) -> PackSummary:
    """Pack the workspace(s) in ``source`` into the submission zip ``out``.

    ``source`` is one workspace (a folder with ``.iclab.toml``, or inside one) or a folder
    whose subfolders are workspaces. Entries are sorted with fixed timestamps, so only the
    manifest's ``created`` differs between two packings of the same work (set
    SOURCE_DATE_EPOCH to pin it too).
    """
    source = Path(source)
    if not source.is_dir():
        raise SubmissionError(f"{source}: no such folder")
    found = _workspaces(source)
    files: list[tuple[str, bytes]] = []
    unchanged: list[str] = []
    total = 0
    for lab_id, folder in sorted(found.items()):
        lab = catalog.get_lab(lab_id)
        for rel in lab_submission_files(lab, folder):
            data = (folder / rel).read_bytes()
            if len(data) > MAX_MEMBER_BYTES:
                raise SubmissionError(f"{folder / rel} is {_mb(len(data))}; a submitted file is at most {_mb(MAX_MEMBER_BYTES)}")
            total += len(data)
            starter = lab.starter / rel
            if starter.is_file() and starter.read_bytes() == data:
                unchanged.append(f"{lab_id}/{rel}")
            files.append((f"{lab_id}/{rel}", data))
    if total > MAX_TOTAL_BYTES:
        raise SubmissionError(f"{source}: the files add up to {_mb(total)}; a submission is at most {_mb(MAX_TOTAL_BYTES)}")
    if len(files) + 1 > MAX_MEMBERS:
        raise SubmissionError(f"{source}: {len(files)} files; a submission holds at most {MAX_MEMBERS - 1}")
    files.sort()
    manifest = {
        "schema": SCHEMA_ID,
        "tool_version": __version__,
        "created": _created(),
        "labs": sorted(found),
        "files": [{"path": p, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for p, d in files],
    }
    entries = [(MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode(), 0o644)]
    entries += [(p, d, 0o644) for p, d in files]
    size, digest = write_zip(out, entries)
    return PackSummary(Path(out), tuple(sorted(found)), tuple(p for p, _ in files), size, digest, tuple(unchanged))


def _created() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch.isdigit() else dt.datetime.now(dt.UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _workspaces(source: Path) -> dict[str, Path]:
    """lab id -> workspace folder, for one workspace or a folder of them."""
    if (source / MARKER).is_file():
        return {_marker_lab(source / MARKER): source}
    found: dict[str, Path] = {}
    for sub in sorted(source.iterdir()):
        if sub.is_dir() and not sub.is_symlink() and (sub / MARKER).is_file():
            lab_id = _marker_lab(sub / MARKER)
            if lab_id in found:
                raise SubmissionError(f"{source}: two workspaces for {lab_id} ({found[lab_id].name}/ and {sub.name}/); keep one")
            found[lab_id] = sub
    if found:
        return found
    try:
        lab_id, root = find(source)
    except WorkspaceError:
        raise SubmissionError(
            f"{source}: no iclab workspace here (a folder holding {MARKER}, as `iclab start` makes, or folders of them)"
        ) from None
    _marker_lab(root / MARKER)
    return {lab_id: root}


def _marker_lab(marker: Path) -> str:
    try:
        lab_id = tomllib.loads(marker.read_text(encoding="utf-8")).get("lab")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise SubmissionError(f"{marker}: unreadable workspace marker",
                              problem=f"its {MARKER} is unreadable") from None
    if not isinstance(lab_id, str) or lab_id not in catalog.lab_ids():
        problem = f"its {MARKER} names lab {lab_id!r}, which does not exist (labs: {', '.join(catalog.lab_ids())})"
        raise SubmissionError(f"{marker}: names lab {lab_id!r}, which does not exist (labs: {', '.join(catalog.lab_ids())})",
                              problem=problem)
    return lab_id


def _mb(n: int) -> str:
    return f"{n / MiB:.1f} MB" if n >= MiB // 10 else f"{n} bytes"


# --------------------------------------------------------------------------- unpacking


def unpack(archive: Path, dest: Path) -> dict[str, Path]:
    """Unpack the untrusted submission zip ``archive`` into ``dest``: lab id -> folder of its files.

    ``dest`` must be new or empty. Anything suspicious (see the module docstring of the
    checks below) raises SubmissionError naming the archive and the member, and whatever
    was written is removed again: nothing is ever written outside ``dest``.
    """
    archive, dest = Path(archive), Path(dest)
    if dest.exists() and (not dest.is_dir() or dest.is_symlink() or any(dest.iterdir())):
        raise SubmissionError(f"{dest}: unpacking needs a new or empty folder")
    made = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        return _unpack(archive, dest)
    except BaseException:
        _empty(dest, remove=made)
        raise


class _Refusal:
    """Builds the one-line refusals for one archive."""

    def __init__(self, archive: Path):
        self.archive = archive

    def __call__(self, problem: str) -> SubmissionError:
        # The learner reads ``problem``: their file's name, never the grading machine's paths.
        return SubmissionError(f"{self.archive}: refused: {problem}", problem=f"{self.archive.name} was refused: {problem}")


def _unpack(archive: Path, dest: Path) -> dict[str, Path]:
    refuse = _Refusal(archive)
    if not archive.is_file():
        raise SubmissionError(f"{archive}: no such file", problem=f"{archive.name}: no such file")
    size = archive.stat().st_size
    if size > MAX_ARCHIVE_BYTES:
        raise refuse(f"the file is {_mb(size)}; a submission is at most {_mb(MAX_ARCHIVE_BYTES)}")
    declared = _declared_entries(archive)
    if declared is not None and declared > MAX_MEMBERS:
        raise refuse(f"it holds {declared} members; a submission holds at most {MAX_MEMBERS}")
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise refuse(f"not a zip file, or a damaged one ({_line(exc)})") from None
    with zf:
        files = _check_members(zf.infolist(), refuse)
        by_name = {info.filename: info for info in files}
        manifest = _read_manifest(zf, by_name, refuse)
        expected = _check_manifest(manifest, by_name, refuse)
        root = dest.resolve()
        for lab_id in manifest["labs"]:
            (root / lab_id).mkdir()
        for name in sorted(expected):
            _extract(zf, by_name[name], expected[name], root, refuse)
    return {lab_id: dest / lab_id for lab_id in manifest["labs"]}


def manifest_labs(archive: Path) -> list[str]:
    """The labs a submission zip's manifest names, read without unpacking (a batch plans with it).

    SubmissionError, in the words ``unpack`` would use, when the file is not a zip, has no
    manifest, or its manifest does not follow the schema. The members are checked only
    when the zip is unpacked for grading.
    """
    archive = Path(archive)
    refuse = _Refusal(archive)
    try:
        size = archive.stat().st_size
    except OSError:
        raise SubmissionError(f"{archive}: no such file", problem=f"{archive.name}: no such file") from None
    if size > MAX_ARCHIVE_BYTES:
        raise refuse(f"the file is {_mb(size)}; a submission is at most {_mb(MAX_ARCHIVE_BYTES)}")
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise refuse(f"not a zip file, or a damaged one ({_line(exc)})") from None
    with zf:
        by_name = {info.filename: info for info in zf.infolist() if not info.filename.endswith("/")}
        return list(_read_manifest(zf, by_name, refuse)["labs"])


def _declared_entries(archive: Path) -> int | None:
    """The member count the end-of-central-directory record claims, read before zipfile parses it all."""
    with archive.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        length = fh.tell()
        fh.seek(max(0, length - (22 + 65535)))
        tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    total = struct.unpack("<4s4H2LH", tail[at:at + 22])[4]
    return None if total == 0xFFFF else total  # zip64: let zipfile count (the size cap bounds it)


_DRIVE = re.compile(r"^[A-Za-z]:")


def _name_problem(name: str) -> str | None:
    """Why ``name`` is not a safe relative member path, or None."""
    if not name:
        return "has an empty name"
    if any(ord(c) < 32 or c == "\x7f" for c in name):
        return "has control characters in its name"
    if "\\" in name:
        return "has a backslash in its path"
    if name.startswith("/"):
        return "has an absolute path"
    if _DRIVE.match(name):
        return "starts with a drive letter"
    parts = name.split("/")
    if ".." in parts:
        return "climbs out of its folder with '..' (path traversal)"
    if any(p in ("", ".") for p in parts):
        return "has an empty or '.' path segment"
    if len(name) > 255 or len(parts) > 8:
        return "has a path that is too long or too deep"
    return None


def _check_members(infos: list[zipfile.ZipInfo], refuse: _Refusal) -> list[zipfile.ZipInfo]:
    """Every structural rule on the central directory; returns the regular-file members."""
    if len(infos) > MAX_MEMBERS:
        raise refuse(f"it holds {len(infos)} members; a submission holds at most {MAX_MEMBERS}")
    files: list[zipfile.ZipInfo] = []
    seen: dict[str, str] = {}
    total = 0
    for info in infos:
        raw = info.orig_filename
        is_dir = raw.endswith("/")
        name = raw[:-1] if is_dir else raw
        problem = _name_problem(name)
        if problem:
            raise refuse(f"member {raw!r} {problem}")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise refuse(f"member {raw!r} is a symbolic link")
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise refuse(f"member {raw!r} is not a regular file (a device, pipe or socket)")
        if info.flag_bits & 0x1:
            raise refuse(f"member {raw!r} is encrypted")
        key = name.casefold()
        if key in seen:
            twin = seen[key]
            raise refuse(f"member {raw!r} appears twice" if twin == name else f"members {twin!r} and {name!r} differ only in case")
        seen[key] = name
        if is_dir or stat.S_ISDIR(mode):
            continue
        if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise refuse(
                f"member {raw!r} expands from {info.compress_size} to {info.file_size} bytes "
                f"(compression ratio {ratio}:1, over {MAX_RATIO}:1): a zip bomb"
            )
        if info.file_size > MAX_MEMBER_BYTES:
            raise refuse(f"member {raw!r} is {_mb(info.file_size)} uncompressed; a submitted file is at most {_mb(MAX_MEMBER_BYTES)}")
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise refuse(f"the members add up to more than {_mb(MAX_TOTAL_BYTES)} uncompressed")
        files.append(info)
    # A name that is both a file and a folder ("a" and "a/b") cannot be laid out honestly.
    names = {i.filename for i in files}
    for key in seen.values():
        for cut in range(key.count("/")):
            prefix = key.rsplit("/", cut + 1)[0]
            if prefix in names:
                raise refuse(f"member {prefix!r} is both a file and a folder")
    return files


def _stream(zf: zipfile.ZipFile, info: zipfile.ZipInfo, sink: Callable[[bytes], object], cap: int,
            refuse: _Refusal) -> tuple[int, str]:
    """Decompress ``info`` into ``sink`` under a hard cap; the header's sizes are not trusted."""
    limit = min(info.file_size, cap)
    digest = hashlib.sha256()
    count = 0
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                count += len(chunk)
                if count > limit:
                    raise refuse(f"member {info.filename!r} holds more data than its header declares ({info.file_size} bytes)")
                digest.update(chunk)
                sink(chunk)
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise refuse(
            f"member {info.filename!r} is damaged, or its header lies about its size ({_line(exc)})"
        ) from None
    if count != info.file_size:
        raise refuse(f"member {info.filename!r} declares {info.file_size} bytes but holds {count}")
    return count, digest.hexdigest()


def _read_manifest(zf: zipfile.ZipFile, by_name: dict[str, zipfile.ZipInfo], refuse: _Refusal) -> dict:
    info = by_name.get(MANIFEST)
    if info is None:
        raise refuse(f"no {MANIFEST} at the top of the archive (pack with `iclab submit` or pack_submission.py)")
    if info.file_size > _MAX_MANIFEST_BYTES:
        raise refuse(f"{MANIFEST} is {_mb(info.file_size)}; at most {_mb(_MAX_MANIFEST_BYTES)}")
    chunks: list[bytes] = []
    _stream(zf, info, chunks.append, _MAX_MANIFEST_BYTES, refuse)
    try:
        doc = json.loads(b"".join(chunks).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise refuse(f"{MANIFEST} is not valid JSON") from None
    validator = jsonschema.Draft202012Validator(MANIFEST_SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        message = error.message if len(error.message) <= 120 else error.message[:117] + "..."
        raise refuse(f"{MANIFEST} does not follow {SCHEMA_ID}: field '{where}': {message}".replace("\n", " "))
    return doc


def _check_manifest(doc: dict, by_name: dict[str, zipfile.ZipInfo], refuse: _Refusal) -> dict[str, dict]:
    """The manifest against the catalogue and the members; returns member name -> its manifest entry."""
    known = catalog.lab_ids()
    for lab_id in doc["labs"]:
        if lab_id not in known:
            raise refuse(f"{MANIFEST} names lab {lab_id!r}, which does not exist (labs: {', '.join(known)})")
    listed: dict[str, dict] = {}
    for entry in doc["files"]:
        path = entry["path"]
        problem = _name_problem(path)
        if problem:
            raise refuse(f"{MANIFEST} lists {path!r}, which {problem}")
        if "/" not in path or path.split("/", 1)[0] not in doc["labs"]:
            raise refuse(f"{MANIFEST} lists {path!r}, which is not inside the folder of a lab it names")
        if path in listed:
            raise refuse(f"{MANIFEST} lists {path!r} twice")
        listed[path] = entry
    members = set(by_name) - {MANIFEST}
    unlisted = sorted(members - set(listed))
    if unlisted:
        raise refuse(f"member {unlisted[0]!r} is not listed in {MANIFEST}")
    absent = sorted(set(listed) - members)
    if absent:
        raise refuse(f"{MANIFEST} lists {absent[0]!r} but the archive has no such member")
    for name, entry in sorted(listed.items()):
        if entry["size"] != by_name[name].file_size:
            raise refuse(f"member {name!r} is {by_name[name].file_size} bytes but {MANIFEST} says {entry['size']}")
    return listed


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, entry: dict, root: Path, refuse: _Refusal) -> None:
    """Write one regular file under ``root``, creating it exclusively, never through a link."""
    parts = info.filename.split("/")
    parent = root
    for part in parts[:-1]:
        parent = parent / part
        if parent.is_symlink():
            raise refuse(f"member {info.filename!r} would be written through a link")
        parent.mkdir(exist_ok=True)
    target = parent.resolve() / parts[-1]
    if not target.is_relative_to(root):
        raise refuse(f"member {info.filename!r} would land outside the grading folder")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(target, flags, 0o644)
    except OSError as exc:
        raise refuse(f"member {info.filename!r} cannot be written ({exc.strerror})") from None
    with os.fdopen(fd, "wb") as fh:
        _, digest = _stream(zf, info, fh.write, MAX_MEMBER_BYTES, refuse)
    if digest != entry["sha256"]:
        raise refuse(f"member {info.filename!r} does not match its sha256 in {MANIFEST} (changed after packing?)")


def _empty(dest: Path, *, remove: bool) -> None:
    if remove:
        shutil.rmtree(dest, ignore_errors=True)
        return
    for child in dest.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


# --------------------------------------------------------------------------- what grade and batch call


def submission_labs(path: Path, labs: list[str] | None, workdir: Path) -> dict[str, Path]:
    """The folder holding each lab's files in the submission at ``path`` (a zip or a folder).

    - a file is an untrusted submission zip: unpacked (``unpack``) into ``workdir/unpacked``;
    - a folder that is a workspace (``.iclab.toml``) is that lab's;
    - a folder with ``<lab-id>/`` subfolders (or workspace subfolders) maps each;
    - otherwise, with exactly one lab requested, the folder holds that lab's files (a lone
      wrapper folder, as zipping a folder by hand makes, is looked into).

    ``labs`` None means every lab the submission holds. A requested lab the submission lacks
    maps to an empty folder under ``workdir``, so grading reports its files as missing rather
    than failing the whole submission. Unknown lab ids raise UnknownLab.
    """
    path, workdir = Path(path), Path(workdir)
    wanted = None if labs is None else list(dict.fromkeys(catalog.get_lab(lab_id).id for lab_id in labs))
    if path.is_file():
        found = unpack(path, workdir / "unpacked")
    elif path.is_dir():
        found = _folder_labs(path, wanted)
    else:
        raise SubmissionError(f"{path}: no such file or folder", problem=f"{path.name}: no such file or folder")
    if wanted is None:
        return dict(sorted(found.items()))
    chosen: dict[str, Path] = {}
    for lab_id in wanted:
        if lab_id in found:
            chosen[lab_id] = found[lab_id]
        else:
            chosen[lab_id] = workdir / "missing" / lab_id
            chosen[lab_id].mkdir(parents=True, exist_ok=True)
    return chosen


def _folder_labs(folder: Path, wanted: list[str] | None, *, depth: int = 0) -> dict[str, Path]:
    if (folder / MARKER).is_file():
        lab_id = _marker_lab(folder / MARKER)
        if wanted is not None and len(wanted) == 1 and wanted != [lab_id]:
            raise SubmissionError(f"{folder} is a {lab_id} workspace, not {wanted[0]}",
                                  problem=f"the folder {folder.name} is a {lab_id} workspace, not {wanted[0]}")
        return {lab_id: folder}
    known = set(catalog.lab_ids())
    found: dict[str, Path] = {}
    for sub in sorted(folder.iterdir()):
        if not sub.is_dir() or sub.is_symlink() or sub.name.startswith("."):
            continue
        if sub.name in known:
            found[sub.name] = sub
        elif (sub / MARKER).is_file():
            found.setdefault(_marker_lab(sub / MARKER), sub)
    if found:
        return found
    if wanted is None or len(wanted) != 1:
        raise SubmissionError(
            f"{folder}: cannot tell which lab this is: no {MARKER} and no <lab-id>/ folders (name the lab)",
            problem=f"cannot tell which lab this is: no {MARKER} and no folder named after a lab",
        )
    lab = catalog.get_lab(wanted[0])
    if depth == 0 and not any((folder / rel).is_file() for rel in lab.files):
        visible = [p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
        if len(visible) == 1 and visible[0].is_dir() and not visible[0].is_symlink():
            return _folder_labs(visible[0], wanted, depth=1)
    return {lab.id: folder}
