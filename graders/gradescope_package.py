"""Build a Gradescope autograder zip for one lab, and the two helpers its scripts call.

Gradescope unzips the autograder into ``/autograder/source``, runs ``setup.sh`` once
while building the image, then ``run_autograder`` for every submission, with the
student's upload in ``/autograder/submission``; it reads
``/autograder/results/results.json``. The zip::

    setup.sh            a Python >= 3.11 venv in /autograder/iclab-venv holding exactly the versions in
                        iclab/requirements.lock, and iclab/ on its path
    run_autograder      prepare the upload, `iclab grade LAB FOLDER --format gradescope`
    iclab/requirements.lock   every runtime dependency, pinned (==) to the version of the
                        environment that built the package: Gradescope grades with what was tested
    iclab/              the project as an sdist would carry it: cli.py, pyproject.toml,
                        README.md, graders/ (this lab's hidden checks only),
                        mock_services/, labs/<lab>/, fixtures/<lab>/

Hidden checks are fine there (Gradescope's servers, not the student's machine);
solutions and the project's tests are never included. Both scripts honour
``AUTOGRADER_ROOT`` (default ``/autograder``) so the package can be tried locally;
``ICLAB_SKIP_INSTALL=1`` makes setup.sh install nothing and ``ICLAB_PYTHON`` picks
the interpreter.

``python -m graders.gradescope_package prepare|failure ...`` is what run_autograder
calls; it is not a user-facing command.
"""
from __future__ import annotations

import json
import re
import sys
from importlib import metadata
from pathlib import Path

from . import __version__, catalog, distribution
from .errors import IclabError, SubmissionError
from .manifest import Lab
from .packing import submission_labs, write_zip
from .sandbox.child import copy_submission
from .workspace import source_tree

__all__ = ["autograder_entries", "build_autograder", "failure_results", "main", "prepare_submission", "pinned_requirements"]



def build_autograder(lab_id: str, out: Path) -> Path:
    """Write the Gradescope autograder zip for ``lab_id`` to ``out``; returns ``out``."""
    lab = catalog.get_lab(lab_id)
    entries = autograder_entries(lab)
    write_zip(out, [(name, data, mode) for name, (data, mode) in sorted(entries.items())])
    return Path(out)


def autograder_entries(lab: Lab) -> dict[str, tuple[bytes, int]]:
    """Member name -> (content, permission bits) of ``lab``'s autograder zip.

    ``iclab/`` is laid out like a checkout (cli.py, graders/, mock_services/,
    the lab under labs/ and fixtures/), wherever iclab runs from; a lab from
    another lab pack travels as a pack of one under ``iclab/pack/``, its hidden
    checks included. Never solutions, tests, or other labs' hidden checks.
    """
    entries: dict[str, tuple[bytes, int]] = {
        "setup.sh": (_SETUP.encode(), 0o755),
        "run_autograder": (_RUN.replace("@LAB@", lab.id).encode(), 0o755),
    }
    entries["iclab/requirements.lock"] = (pinned_requirements().encode(), 0o644)
    entries["iclab/cli.py"] = (distribution.cli_source().read_bytes(), 0o644)
    for name in ("pyproject.toml", "README.md"):
        path = distribution.package_folder("graders").parent / name
        if path.is_file():
            entries[f"iclab/{name}"] = (path.read_bytes(), 0o644)
    builtin = lab.pack is None or lab.pack.builtin
    others = {other.replace("-", "_") for other in catalog.lab_ids()} - ({lab.module_name} if builtin else set())
    for package in ("graders", "mock_services"):
        folder = distribution.package_folder(package)
        for path in source_tree(folder):
            parts = [package, *path.relative_to(folder).parts]
            if parts[:2] == ["graders", "_builtin"]:
                continue  # an installed iclab's copy of the built-in labs (their solutions among them)
            # Other labs' hidden checks have no business on this assignment's server.
            if parts[:2] == ["graders", "labs"] and len(parts) > 2 and parts[2].removesuffix(".py") in others:
                continue
            entries["iclab/" + "/".join(parts)] = (path.read_bytes(), 0o644)
    base = "iclab" if builtin else "iclab/pack"
    folders = [(lab.folder, f"labs/{lab.id}"), (lab.fixtures, f"fixtures/{lab.id}")]
    if not builtin:
        checks = lab.pack.checks
        folders += [(checks / lab.module_name, f"graders/{lab.module_name}")]
        single = checks / f"{lab.module_name}.py"
        if single.is_file():
            entries[f"{base}/graders/{single.name}"] = (single.read_bytes(), 0o644)
    for folder, rel in folders:
        if folder.is_dir():
            for path in source_tree(folder):
                entries[f"{base}/{rel}/{path.relative_to(folder).as_posix()}"] = (path.read_bytes(), 0o644)
    leaked = [n for n in entries if "/solutions/" in f"/{n}" or n.startswith("iclab/tests/")]
    if leaked:
        raise IclabError(f"an autograder never carries solutions or tests, but {leaked[0]} was picked up")
    return entries


_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_requirements() -> str:
    """requirements.lock: iclab's runtime dependencies and theirs, each ``==`` the version installed here.

    Read from pyproject.toml and the installed distributions' metadata. A dependency only
    some extra wants is left out; one whose marker excludes this machine is not installed
    here, so it cannot be pinned and is left out too (pip still resolves it if needed).
    """
    todo = list(distribution.requirements())
    pins: dict[str, str] = {}
    while todo:
        req = todo.pop()
        if "extra ==" in req.replace("extra==", "extra =="):
            continue
        match = _NAME.match(req)
        if not match:
            continue
        name = _canonical(match.group(1))
        if name in pins:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        pins[name] = dist.version
        todo.extend(dist.requires or [])
    head = (f"# Pinned by `iclab gradescope` from the environment that built this package (iclab {__version__}, "
            f"Python {sys.version_info[0]}.{sys.version_info[1]}); setup.sh installs exactly these.\n")
    return head + "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))


# --------------------------------------------------------------------------- what run_autograder calls


def prepare_submission(lab_id: str, upload: Path, workdir: Path) -> Path:
    """The folder to grade, from Gradescope's upload folder.

    A submission zip in the upload (from `iclab submit` or pack_submission.py) is unpacked
    with every safety check; otherwise the uploaded files are copied (links and caches
    skipped, size capped) and the lab's files found in them (``submission_labs``).
    """
    lab = catalog.get_lab(lab_id)
    upload, workdir = Path(upload), Path(workdir)
    if not upload.is_dir():
        raise SubmissionError(f"{upload}: no submission folder")
    direct = [rel for rel in lab.files if (upload / rel).is_file()]
    zips = sorted(p for p in upload.iterdir() if p.suffix.lower() == ".zip" and p.is_file() and not p.is_symlink())
    if zips and not direct:
        if len(zips) > 1:
            raise SubmissionError(f"the upload holds {len(zips)} zip files ({', '.join(p.name for p in zips)}); upload one")
        return submission_labs(zips[0], [lab.id], workdir)[lab.id]
    copy = workdir / "upload"
    copy_submission(upload, copy)
    return submission_labs(copy, [lab.id], workdir)[lab.id]


def failure_results(lab_id: str, message: str) -> str:
    """A valid results.json scoring 0 that tells the student why nothing could be graded."""
    tests = []
    try:
        grader = catalog.grader_for(catalog.get_lab(lab_id))
        tests = [
            {"name": f"{spec.id}: {spec.title}", "score": 0.0, "max_score": spec.points, "status": "failed",
             "output": f"not graded: {message}", "tags": [spec.skill, spec.dimension.value], "visibility": "visible"}
            for spec in grader.checks
        ]
    except Exception:  # noqa: BLE001 (the grader itself may be what broke: still leave a valid file)
        tests = []
    doc = {
        "score": 0.0,
        "output": f"{lab_id}: your submission could not be graded: {message}",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


_ABSOLUTE = re.compile(r"(?<![\w.~])/(?:[^\s/:'\"]+/)*([^\s/:'\"]+)")


def for_learner(message: str) -> str:
    """``message`` without the grading machine's paths: an absolute path becomes its last part."""
    return _ABSOLUTE.sub(r"\1", message)


def main(argv: list[str] | None = None) -> int:
    """``prepare LAB UPLOAD WORKDIR`` prints the folder to grade; ``failure LAB ERRORFILE OUT`` writes results."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 4 and args[0] == "prepare":
        try:
            print(prepare_submission(args[1], Path(args[2]), Path(args[3])))
        except IclabError as exc:
            print(f"iclab: {for_learner(getattr(exc, 'problem', None) or str(exc))}", file=sys.stderr)
            return exc.exit_code
        return 0
    if len(args) == 4 and args[0] == "failure":
        try:
            lines = [ln.strip() for ln in Path(args[2]).read_text(encoding="utf-8", errors="replace").splitlines()]
        except OSError:
            lines = []
        lines = [ln.removeprefix("iclab: ") for ln in lines if ln]
        message = lines[-1] if lines else "the grader stopped without a reason (please tell your instructor)"
        Path(args[3]).write_text(failure_results(args[1], for_learner(message)[:500]), encoding="utf-8")
        return 0
    print("usage: python -m graders.gradescope_package prepare LAB UPLOAD WORKDIR | failure LAB ERRORFILE OUT",
          file=sys.stderr)
    return 2


# --------------------------------------------------------------------------- the two scripts

_SETUP = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.
# It makes a Python >= 3.11 venv in $ROOT/iclab-venv, installs the pinned dependencies
# (source/iclab/requirements.lock) into it and puts iclab (source/iclab) on its path.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source/iclab"
VENV="$ROOT/iclab-venv"

if [ -n "${ICLAB_SKIP_INSTALL:-}" ]; then
  echo "setup.sh: ICLAB_SKIP_INSTALL is set; installing nothing"
  exit 0
fi

new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

PY=""
for candidate in python3 python3.13 python3.12 python3.11; do
  if command -v "$candidate" >/dev/null && new_enough "$candidate"; then PY="$(command -v "$candidate")"; break; fi
done
export DEBIAN_FRONTEND=noninteractive
if [ -z "$PY" ]; then
  # Ubuntu 22.04 (Gradescope's older base image) ships Python 3.10; 3.11 is in its archive.
  apt-get update -qq
  apt-get install -y -qq python3.11 python3.11-venv
  PY="$(command -v python3.11)"
fi
if ! "$PY" -m venv "$VENV"; then
  # Debian and Ubuntu split venv (ensurepip) into its own package.
  apt-get update -qq
  apt-get install -y -qq "python$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv" || apt-get install -y -qq python3-venv
  "$PY" -m venv "$VENV"
fi
# Exactly the versions the package was built and tested with (iclab/requirements.lock), nothing newer.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$SRC/requirements.lock"
# iclab itself runs from source/iclab: a .pth puts it on the venv's path (no build step, nothing unpinned fetched).
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$SRC" > "$SITE/iclab-source.pth"
"$VENV/bin/python" -c 'import graders, cli; print("setup.sh: iclab", graders.__version__, "ready")'
"""

_RUN = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission. Whatever happens, it leaves a valid
# results.json behind: the grade, or a zero that says why nothing could be graded.
set -uo pipefail
LAB="@LAB@"
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source/iclab"
RESULTS="$ROOT/results/results.json"

PY="${ICLAB_PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x "$ROOT/iclab-venv/bin/python" ]; then PY="$ROOT/iclab-venv/bin/python"; else PY="$(command -v python3)"; fi
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/iclab-gradescope.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
export ICLAB_HOME="$SRC" ICLAB_STATE_DIR="$WORK/state" PYTHONDONTWRITEBYTECODE=1 NO_COLOR=1
if [ -d "$SRC/pack/labs" ]; then export ICLAB_LABS_PATH="$SRC/pack"; fi  # a lab from a lab pack of its own
cd "$SRC" || exit 1

if FOLDER="$("$PY" -m graders.gradescope_package prepare "$LAB" "$ROOT/submission" "$WORK/submission" 2>"$WORK/error")"; then
  "$PY" -m cli grade "$LAB" "$FOLDER" --format gradescope --output "$RESULTS" 2>>"$WORK/error"
fi
if [ ! -s "$RESULTS" ]; then
  "$PY" -m graders.gradescope_package failure "$LAB" "$WORK/error" "$RESULTS"
fi
cat "$WORK/error" >&2
exit 0
"""


if __name__ == "__main__":
    sys.exit(main())
