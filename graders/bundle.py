"""Export labs as a take-home bundle: everything a candidate needs, nothing that grades.

The bundle is one zip::

    CANDIDATE.md              the guide: what is inside, setup, running tests, handing in
    requirements.txt          what the visible tests import (found by reading them)
    pack_submission.py        makes a valid submission zip with the standard library alone
    <lab-id>/                 laid out like an `iclab start` workspace:
        README.md  hints.md   the ticket, and hints the candidate may use
        <starter files>       stubs and visible tests
        *.json  *.xsd         contract documents
        fixtures/...          the visible sample data
        .iclab.toml           the workspace marker, so `iclab submit` recognises the folder
    mock_services/            only when a lab talks to a fake system: its source (no answers)

Hidden checks (graders/), solutions and the project's tests are never copied: every
file comes from labs/<id>/, fixtures/<id>/ or mock_services/, and a guard refuses any
that resolves elsewhere. Reference solutions are read for one thing only: to refuse a
bundle where one lab's public files solve another lab in it (mapping-tests ships the
correct map-customer mapper, so the two go out in separate bundles).
"""
from __future__ import annotations

import ast
import hashlib
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from . import __version__, catalog, distribution, packs, paths
from .errors import IclabError, UsageError
from .manifest import Lab
from .packing import MANIFEST, MAX_EXTRA_FILES, MAX_MEMBER_BYTES, MAX_TOTAL_BYTES, SCHEMA_ID, write_zip
from .workspace import MARKER, source_tree, workspace_files

__all__ = ["BundleSummary", "bundle_entries", "export", "requirements_for"]

GUIDE = "CANDIDATE.md"
PACKER = "pack_submission.py"
REQUIREMENTS = "requirements.txt"
INI = "pytest.ini"  # each starter's: plugin autoload off


@dataclass(frozen=True)
class BundleSummary:
    """What ``export`` wrote."""

    out: Path
    labs: tuple[str, ...]
    files: tuple[str, ...]
    requirements: tuple[str, ...]
    size: int
    sha256: str


def export(lab_ids: list[str], out: Path) -> BundleSummary:
    """Write the take-home bundle for ``lab_ids`` to the zip ``out``."""
    if not lab_ids:
        raise UsageError("name at least one lab to export (see `iclab list`)")
    labs = [catalog.get_lab(lab_id) for lab_id in dict.fromkeys(lab_ids)]
    _refuse_give_aways(labs)
    entries = bundle_entries(labs)
    size, digest = write_zip(out, [(name, data, mode) for name, (data, mode) in sorted(entries.items())])
    return BundleSummary(
        out=Path(out), labs=tuple(lab.id for lab in labs), files=tuple(sorted(entries)),
        requirements=tuple(requirements_for(labs)), size=size, sha256=digest,
    )


def bundle_entries(labs: list[Lab]) -> dict[str, tuple[bytes, int]]:
    """Member name -> (content, permission bits) of the bundle for ``labs``."""
    entries: dict[str, tuple[bytes, int]] = {}
    for lab in labs:
        for name, path in _lab_sources(lab):
            entries[f"{lab.id}/{name}"] = (_read_public(path), 0o644)
        entries[f"{lab.id}/{MARKER}"] = (f'lab = "{lab.id}"\n'.encode(), 0o644)
        if lab.services and f"{lab.id}/{INI}" in entries:
            entries[f"{lab.id}/{INI}"] = (_with_parent_on_path(entries[f"{lab.id}/{INI}"][0]), 0o644)
    services = sorted({s for lab in labs for s in lab.services})
    if services:
        package = distribution.package_folder("mock_services")
        for path in source_tree(package):
            entries[f"mock_services/{path.relative_to(package).as_posix()}"] = (_read_public(path), 0o644)
    requirements = requirements_for(labs)
    entries[REQUIREMENTS] = (("\n".join(requirements) + "\n").encode(), 0o644)
    entries[PACKER] = (_packer(labs).encode(), 0o755)
    entries[GUIDE] = (_guide(labs, requirements, services).encode(), 0o644)
    return entries


def _with_parent_on_path(ini: bytes) -> bytes:
    """The starter's pytest.ini, plus the bundle's root on the path: its tests import ``mock_services`` from there.

    In a workspace iclab's installed ``mock_services`` serves; in a bundle the package sits
    beside the exercise folders, so ``cd api-sync; python -m pytest`` needs the folder above.
    """
    text = ini.decode("utf-8").rstrip("\n")
    return (text + "\n# The bundle's mock_services/ sits in the folder above this one.\npythonpath = ..\n").encode()


def _refuse_give_aways(labs: list[Lab]) -> None:
    """Refuse a bundle in which one lab's public files solve another (mapping-tests ships a correct mapper)."""
    for solved in labs:
        reference = catalog.reference(solved)
        if not reference.is_dir():
            continue
        own = _lines(path for _, path in _lab_sources(solved))
        answer = _lines(source_tree(reference)) - own
        if not answer:
            continue
        for other in labs:
            if other is solved:
                continue
            shared = answer & _lines(path for _, path in _lab_sources(other))
            if len(shared) >= len(answer) / 2:
                raise UsageError(
                    f"{other.id}'s files hold most of {solved.id}'s reference solution "
                    f"({len(shared)} of its {len(answer)} lines); export them in separate bundles"
                )


def _lines(files: Iterable[Path]) -> set[str]:
    """The distinctive lines (stripped, over 20 characters) of text files."""
    out: set[str] = set()
    for path in files:
        try:
            out |= {ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if len(ln.strip()) > 20}
        except (UnicodeDecodeError, OSError):
            continue
    return out


def _lab_sources(lab: Lab) -> list[tuple[str, Path]]:
    """(name inside the lab folder, source file): the workspace `iclab start` would make, plus hints."""
    out = workspace_files(lab)
    if lab.hints_file.is_file():
        out.append(("hints.md", lab.hints_file))
    return sorted(out)


def _forbidden() -> list[Path]:
    roots = [paths.SOLUTIONS, paths.ROOT / "solutions", paths.ROOT / "graders", paths.ROOT / "tests",
             Path(__file__).parent] + [p for pack in packs.discover() for p in (pack.solutions, pack.checks)]
    return [root.resolve() for root in roots]


def _public() -> list[Path]:
    """Where public files live: every pack's labs and fixtures (inside an installed iclab's package too)."""
    return [root.resolve() for pack in packs.discover() for root in (pack.labs, pack.fixtures)]


def _read_public(path: Path) -> bytes:
    """The file's bytes, unless it resolves (through links) into solutions, graders or tests."""
    real = path.resolve()
    if any(real.is_relative_to(root) for root in _public()) and not any(
            real.is_relative_to(pack.solutions.resolve()) for pack in packs.discover()):
        return real.read_bytes()
    for root in _forbidden():
        if real.is_relative_to(root):
            raise IclabError(f"{path} resolves into {root}; a bundle never carries hidden checks or solutions")
    return real.read_bytes()


# --------------------------------------------------------------------------- requirements

# zoneinfo needs time-zone data: Windows and slim containers have none of their own.
_PINNED_EXTRA = {"zoneinfo": "tzdata"}


def requirements_for(labs: Iterable[Lab]) -> list[str]:
    """The pip requirements the labs' visible tests (and mock services, if any) import: always pytest."""
    labs = list(labs)
    sources: list[Path] = []
    local = {"mock_services"}
    for lab in labs:
        if lab.starter.is_dir():
            starter_py = [p for p in source_tree(lab.starter) if p.suffix == ".py"]
            sources += starter_py
            local |= {p.stem for p in starter_py} | {p.name for p in lab.starter.iterdir() if p.is_dir()}
    if any(lab.services for lab in labs):
        sources += [p for p in source_tree(distribution.package_folder("mock_services")) if p.suffix == ".py"]
    imported = _imports(sources)
    wanted = {"pytest"} | {name for name in imported if name not in sys.stdlib_module_names and name not in local}
    pinned = _project_requirements()
    found = metadata.packages_distributions()
    lines = set()
    for name in wanted:
        dist = (found.get(name) or [name])[0]
        lines.add(pinned.get(_canonical(dist), dist))
    lines |= {extra for module, extra in _PINNED_EXTRA.items() if module in imported}
    floor = _pytest_floor(labs)
    if floor:
        lines = {f"{r},>={floor}" if _canonical(re.split(r"[\s<>=!~;\[(,]", r, maxsplit=1)[0]) == "pytest"
                 and f">={floor}" not in r.replace(" ", "") else r for r in lines}
    return sorted(lines, key=str.lower)


def _pytest_floor(labs: list[Lab]) -> str:
    """The highest ``minversion`` the labs' starter pytest.ini files ask for ("" when none does)."""
    import configparser

    floors = []
    for lab in labs:
        parser = configparser.ConfigParser()
        try:
            parser.read(lab.starter / INI, encoding="utf-8")
        except configparser.Error:
            continue
        if parser.has_option("pytest", "minversion"):
            floors.append(parser.get("pytest", "minversion").strip())
    return max(floors, key=lambda v: tuple(int(p) for p in re.findall(r"\d+", v)), default="")


def _imports(sources: Iterable[Path]) -> set[str]:
    names: set[str] = set()
    for path in sources:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def _project_requirements() -> dict[str, str]:
    """Canonical name -> requirement string, from iclab's own requirements (runtime and extras)."""
    deps = [dep.split(";")[0] for dep in distribution.requirements(extras=True)]
    return {_canonical(re.split(r"[\s<>=!~;\[(]", dep, maxsplit=1)[0]): dep.split("#")[0].strip() for dep in deps}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --------------------------------------------------------------------------- the candidate's guide


# Every command block in the guide starts from the folder holding the guide, and says so on its first
# line: what the guide prints must work exactly as printed from there (tests/graders/test_bundle_guide.py
# follows it literally in a fresh virtual environment).
HERE = "# in the folder that holds this guide"


def _guide(labs: list[Lab], requirements: list[str], services: list[str]) -> str:
    minutes = sum(lab.minutes for lab in labs)
    budget = f"{minutes} minutes" if minutes < 120 else f"{minutes // 60} h {minutes % 60:02d} min"
    rows = "\n".join(
        f"| `{lab.id}/` | {lab.title} | {lab.minutes} min | {', '.join(f'`{f}`' for f in lab.files)} |" for lab in labs
    )
    first = labs[0]
    layout = "\n".join(
        f"    {lab.id}/{f}" for lab in labs for f in lab.files
    )
    mocks = ""
    if services:
        mocks = f"""
`mock_services/` is the source of the fake systems the tickets talk to ({', '.join(services)}).
Your visible tests stub them with `responses`; to poke a real one with curl or Postman, run it
(Ctrl+C stops it; the ticket names the scenarios; it prints its URL):

```sh
{HERE}
python -c "from mock_services import serve_forever; serve_forever('{services[0]}', 'flaky')"
```
"""
    return f"""# Take-home exercises

{len(labs)} exercise{'s' if len(labs) != 1 else ''}, about {budget} in all. Each folder is one ticket: read its
`README.md` first, it is the specification (business context, numbered acceptance criteria,
the interface you must keep).

| folder | exercise | time | you edit |
|---|---|---|---|
{rows}

## What is inside

- `<exercise>/README.md`: the ticket. `hints.md`: progressive hints. You may use them; they
  cost nothing. Read one heading at a time if you want to keep some challenge.
- `<exercise>/test_*.py`: visible tests, and the starter files you complete. Contract
  documents (`*.json`, `*.xsd`) and sample data (`fixtures/`) sit beside them.
- `requirements.txt`, `pack_submission.py` (hands your work in) and this guide.
{mocks}
The checks that score your work are not in this bundle, and neither are any solutions. They
use other data than `fixtures/`, so code written to fit the samples will not score: passing
the visible tests is a good start, not the finish line. Where a README mentions `iclab check`
or `iclab hint`, those are the tools of the practice version: here, run the tests and read
`hints.md`.

Every command below starts from the folder that holds this guide (its first line says so).

## Set up (once; then everything works offline)

You need Python 3.11 or newer.

```sh
{HERE}
python3 -m venv .venv
. .venv/bin/activate                  # Windows: .venv\\Scripts\\activate
python -m pip install -r requirements.txt
```

`requirements.txt` lists what the visible tests import: {', '.join(f'`{r}`' for r in requirements)}.
For a machine with no network at all, download the packages on a connected machine, copy
`wheels/` across, and install from it instead of the last line above:

```sh
{HERE}
python -m pip download -r requirements.txt -d wheels                       # on the connected machine
python -m pip install --no-index --find-links wheels -r requirements.txt   # here, offline
```

## Work on an exercise

In the terminal where you activated `.venv`:

```sh
{HERE}
cd {first.id}
python -m pytest                      # the visible tests (python -m pytest -x stops at the first failure)
```

Edit only the files in the table above, and keep the names and signatures the README gives.
You may add helper modules (`.py` files) next to them: they are handed in too (at most
{MAX_EXTRA_FILES} per exercise). Add tests of your own as you like; they stay with you.

## Hand in

```sh
{HERE}
python pack_submission.py             # writes submission.zip; send that one file
```

It checks that every file is there, warns about files you have not changed, and writes a
manifest with each file's SHA-256. If you have the `iclab` tool, it does the same:

```sh
{HERE}
iclab submit . -o submission.zip
```

Without either, build the zip by hand: it must hold `{MANIFEST}` at its root and one folder
per exercise with your files, nothing else:

    {MANIFEST}
{layout}

where `{MANIFEST}` is

```json
{{"schema": "{SCHEMA_ID}", "tool_version": "{__version__}", "created": "2025-01-31T17:00:00Z",
 "labs": [{', '.join(f'"{lab.id}"' for lab in labs)}],
 "files": [{{"path": "{first.id}/{first.files[0]}", "sha256": "<64 hex digits>", "size": <bytes>}}, ...]}}
```

Submissions are checked strictly: no links, no other files, each file at most
{MAX_MEMBER_BYTES // (1024 * 1024)} MB and {MAX_TOTAL_BYTES // (1024 * 1024)} MB in all, checksums that match.
"""


# --------------------------------------------------------------------------- the standalone packer


def _packer(labs: list[Lab]) -> str:
    spec = {}
    for lab in labs:
        starter = {}
        if lab.starter.is_dir():
            starter = {p.relative_to(lab.starter).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                       for p in source_tree(lab.starter)}
        spec[lab.id] = {"files": list(lab.files), "starter": starter}
    return (_PACKER_TEMPLATE
            .replace("@TOOL_VERSION@", __version__)
            .replace("@SCHEMA@", SCHEMA_ID)
            .replace("@MANIFEST@", MANIFEST)
            .replace("@MAX_FILE@", str(MAX_MEMBER_BYTES))
            .replace("@MAX_TOTAL@", str(MAX_TOTAL_BYTES))
            .replace("@MAX_EXTRA@", str(MAX_EXTRA_FILES))
            .replace("@LABS@", json.dumps(spec, indent=4, sort_keys=True)))


_PACKER_TEMPLATE = '''#!/usr/bin/env python3
"""Pack your work into one submission zip. Needs only Python 3.11+ (no other packages).

    python pack_submission.py                  # writes submission.zip
    python pack_submission.py -o jane-doe.zip  # another name

Run it in the folder that holds this script and the exercise folders.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import stat
import sys
import zipfile
from pathlib import Path

SCHEMA = "@SCHEMA@"
MANIFEST = "@MANIFEST@"
TOOL_VERSION = "@TOOL_VERSION@"
MAX_FILE = @MAX_FILE@
MAX_TOTAL = @MAX_TOTAL@
MAX_EXTRA = @MAX_EXTRA@
# exercise -> the files you edit, and the SHA-256 of each starter file (to spot unchanged work)
LABS = @LABS@


def fail(message: str) -> None:
    sys.exit(f"pack_submission: {message}")


def is_helper(path: Path) -> bool:
    name = path.name
    if path.suffix != ".py" or name.startswith(".") or path.is_symlink() or not path.is_file():
        return False
    return not (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py")


def lab_files(root: Path, lab: str, spec: dict) -> list[str]:
    folder = root / lab
    if not folder.is_dir():
        fail(f"no folder {lab}/ in {root}; run this script where you unzipped the exercises")
    chosen = []
    for rel in spec["files"]:
        path = folder / rel
        if not path.is_file() or path.is_symlink():
            fail(f"{lab}/{rel} is missing (or is a link); put the file itself there")
        chosen.append(rel)
    extras = []
    for parent in sorted({(folder / rel).parent for rel in spec["files"]}):
        for path in sorted(parent.iterdir()):
            rel = path.relative_to(folder).as_posix()
            if rel in chosen or rel in spec["starter"] or rel in extras or not is_helper(path):
                continue
            extras.append(rel)
    if len(extras) > MAX_EXTRA:
        fail(f"{lab}/ has {len(extras)} extra .py files; at most {MAX_EXTRA} (delete scratch files)")
    return chosen + extras


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Pack your work into one submission zip.")
    parser.add_argument("-o", "--output", default="submission.zip", help="the zip to write (default: submission.zip)")
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent),
                        help="the folder holding the exercise folders (default: this script's folder)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    files = []
    total = 0
    for lab, spec in sorted(LABS.items()):
        for rel in lab_files(root, lab, spec):
            data = (root / lab / rel).read_bytes()
            if len(data) > MAX_FILE:
                fail(f"{lab}/{rel} is {len(data)} bytes; a file may be at most {MAX_FILE}")
            total += len(data)
            if hashlib.sha256(data).hexdigest() == spec["starter"].get(rel):
                print(f"warning: {lab}/{rel} is unchanged from the starter", file=sys.stderr)
            files.append((f"{lab}/{rel}", data))
    if total > MAX_TOTAL:
        fail(f"your files add up to {total} bytes; at most {MAX_TOTAL}")
    files.sort()
    manifest = {
        "schema": SCHEMA,
        "tool_version": TOOL_VERSION,
        "generator": "pack_submission.py",
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "labs": sorted(LABS),
        "files": [{"path": p, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for p, d in files],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in [(MANIFEST, (json.dumps(manifest, indent=2) + "\\n").encode())] + files:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, data)
    out = Path(args.output)
    out.write_bytes(buffer.getvalue())
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()
    print(f"wrote {out}: {len(LABS)} exercise(s), {len(files)} file(s), sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''
