"""The Gradescope autograder zip: built, unzipped into a fake /autograder, run on real submissions."""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest

from graders import catalog, gradescope_package, packing, workspace
from graders.errors import SubmissionError, UnknownLab

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests/data/gradescope.schema.json").read_text())
VENV_BIN = str(Path(sys.executable).parent)  # the venv's python3 comes first on PATH
LAB = catalog.get_lab("map-customer")


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    return gradescope_package.build_autograder("map-customer", tmp_path_factory.mktemp("gs") / "autograder.zip")


@pytest.fixture(scope="module")
def source(package, tmp_path_factory) -> Path:
    """The autograder as Gradescope unpacks it into /autograder/source, permissions included."""
    dest = tmp_path_factory.mktemp("source")
    with zipfile.ZipFile(package) as zf:
        for info in zf.infolist():
            zf.extract(info, dest)
            os.chmod(dest / info.filename, (info.external_attr >> 16) & 0o777)
    return dest


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ICLAB_"))}
    env.update(AUTOGRADER_ROOT=str(root), ICLAB_SKIP_INSTALL="1", PATH=VENV_BIN + os.pathsep + env.get("PATH", ""))
    return env


def _autograde(source: Path, tmp_path: Path, upload: dict[str, Path | bytes]) -> dict:
    """Lay out a fake /autograder, run setup.sh and run_autograder, return the validated results.json."""
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "source").symlink_to(source, target_is_directory=True)
    for name, content in upload.items():
        target = root / "submission" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.read_bytes())
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=_env(root), check=False, capture_output=True,
                           text=True, timeout=60)
    assert setup.returncode == 0, setup.stderr
    run = subprocess.run([str(root / "source" / "run_autograder")], cwd=tmp_path, env=_env(root),
                         check=False, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    for test in results["tests"]:
        assert {"name", "score", "max_score", "status", "output", "tags", "visibility"} <= set(test), test
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))
    return results


def test_package_layout_has_the_scripts_and_no_solutions_or_tests(package):
    with zipfile.ZipFile(package) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    for script in ("setup.sh", "run_autograder"):
        assert (infos[script].external_attr >> 16) & stat.S_IXUSR, f"{script} is not executable"
    names = set(infos)
    # The lab's hidden checks, as a module or as a package (labs move between the two).
    assert {"iclab/graders/labs/map_customer.py", "iclab/graders/labs/map_customer/__init__.py"} & set(infos)
    for needed in ("iclab/cli.py", "iclab/pyproject.toml", "iclab/graders/engine.py",
                   "iclab/labs/map-customer/lab.toml", "iclab/labs/map-customer/starter/mapper.py",
                   "iclab/fixtures/map-customer/accounts.json", "iclab/mock_services/__init__.py"):
        assert needed in names, needed
    for name in names:
        assert not name.startswith(("iclab/solutions/", "iclab/tests/")), name
        assert "__pycache__" not in name and not name.endswith(".pyc"), name
        assert not name.startswith("iclab/labs/") or name.startswith("iclab/labs/map-customer/"), name
    # Shared support modules (graders/labs/_*.py) hold no lab's answers; another lab's checks must not travel.
    assert not [n for n in names if n.startswith("iclab/graders/labs/") and "map_customer" not in n
                and not n.split("/")[3].startswith("_")], "other labs' hidden checks are in the package"


def test_scripts_are_valid_bash(source):
    for script in ("setup.sh", "run_autograder"):
        check = subprocess.run(["bash", "-n", str(source / script)], check=False, capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_reference_scores_full_marks(source, tmp_path):
    results = _autograde(source, tmp_path, {"mapper.py": catalog.reference(LAB) / "mapper.py"})
    assert results["score"] == 100
    assert results["tests"] and all(t["status"] == "passed" for t in results["tests"])


def test_flawed_solution_loses_exactly_its_checks(source, tmp_path):
    flaw = next(f for f in catalog.flaws(LAB) if f.name == "ignores-timezone")
    results = _autograde(source, tmp_path, {"mapper.py": flaw.folder / "mapper.py"})
    failed = {t["name"].split(":")[0] for t in results["tests"] if t["status"] == "failed"}
    assert failed == set(flaw.fails)
    assert 0 < results["score"] < 100
    lost = next(t for t in results["tests"] if t["name"].startswith("created-at-utc"))
    assert lost["score"] == 0 and lost["output"]


def test_a_submission_zip_upload_is_unpacked_and_graded(source, tmp_path):
    ws = tmp_path / "ws"
    workspace.assemble(LAB, ws, catalog.reference(LAB))
    (ws / workspace.MARKER).write_text('lab = "map-customer"\n')
    archive = packing.pack(ws, tmp_path / "submission.zip").out
    results = _autograde(source, tmp_path, {"submission.zip": archive})
    assert results["score"] == 100


def test_files_in_a_lab_folder_as_gradescope_extracts_a_zip(source, tmp_path):
    upload = {"iclab-submission.json": b"{}", "map-customer/mapper.py": catalog.reference(LAB) / "mapper.py"}
    assert _autograde(source, tmp_path, upload)["score"] == 100


def test_a_hostile_upload_gets_a_valid_zero_that_says_why(source, tmp_path):
    hostile = tmp_path / "evil.zip"
    with zipfile.ZipFile(hostile, "w") as zf:
        zf.writestr("../../../evil.py", "import os\n")
    results = _autograde(source, tmp_path, {"evil.zip": hostile})
    assert results["score"] == 0
    assert "could not be graded" in results["output"] and "path traversal" in results["output"]
    assert len(results["tests"]) == len(catalog.grader_for(LAB).checks)
    assert all(t["status"] == "failed" and t["output"].startswith("not graded:") for t in results["tests"])
    assert not list(tmp_path.rglob("evil.py"))


def test_an_empty_upload_scores_zero_naming_the_missing_file(source, tmp_path):
    results = _autograde(source, tmp_path, {})
    assert results["score"] == 0
    assert "mapper.py" in results["output"]


def test_prepare_refuses_two_zips(tmp_path):
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "a.zip").write_bytes(b"")
    (upload / "b.zip").write_bytes(b"")
    with pytest.raises(SubmissionError, match="2 zip files"):
        gradescope_package.prepare_submission("map-customer", upload, tmp_path / "work")


def test_build_refuses_unknown_lab(tmp_path):
    with pytest.raises(UnknownLab):
        gradescope_package.build_autograder("no-such-lab", tmp_path / "a.zip")
    assert not (tmp_path / "a.zip").exists()


def test_package_is_reproducible(tmp_path):
    first = gradescope_package.build_autograder("map-customer", tmp_path / "first.zip")
    second = gradescope_package.build_autograder("map-customer", tmp_path / "second.zip")
    assert first.read_bytes() == second.read_bytes()


def test_test_numbers_are_unique_and_ordered_by_criterion(source, tmp_path):
    results = _autograde(source, tmp_path, {"mapper.py": catalog.reference(LAB) / "mapper.py"})
    numbers = [t["number"] for t in results["tests"] if "number" in t]
    assert numbers and len(numbers) == len(set(numbers)), f"Gradescope test numbers repeat: {numbers}"
    for test in results["tests"]:
        if "number" in test:
            assert re.fullmatch(r"\d+\.\d+", test["number"]), test["number"]


def test_setup_installs_only_pinned_versions(package):
    with zipfile.ZipFile(package) as zf:
        setup = zf.read("setup.sh").decode()
        lock = zf.read("iclab/requirements.lock").decode()
    installs = [line for line in setup.splitlines() if "pip install" in line and not line.lstrip().startswith("#")]
    assert installs, "setup.sh installs nothing"
    for line in installs:
        assert '-r "$SRC/requirements.lock"' in line and "--upgrade" not in line and "-e " not in line, line
    pins = dict(line.split("==") for line in lock.splitlines() if line and not line.startswith("#"))
    # Every runtime dependency of iclab and every dependency of those, at the version this machine tested.
    for name in ("click", "jsonschema", "lxml", "requests", "responses", "duckdb", "pytest", "urllib3", "attrs"):
        assert pins.get(name) == metadata.version(name), name
    assert all(re.fullmatch(r"[a-z0-9-]+==[\w.+!-]+", line) for line in lock.splitlines() if not line.startswith("#"))


def test_a_refusal_says_refused_once_and_shows_no_grader_path(source, tmp_path):
    hostile = tmp_path / "evil.zip"
    with zipfile.ZipFile(hostile, "w") as zf:
        zf.writestr("iclab-submission.json", '{"schema": "iclab/submission/v1"}')
        zf.writestr("../../../evil.py", "import os\n")
    results = _autograde(source, tmp_path, {"evil.zip": hostile})
    output = results["output"]
    assert output.count("refused") == 1, output
    assert "evil.zip was refused" in output
    assert str(tmp_path) not in output and "/autograder" not in output and "/tmp" not in output, output
    for test in results["tests"]:
        assert str(tmp_path) not in test["output"] and "/tmp" not in test["output"]
