"""Take-home bundles: everything a candidate needs to work offline, nothing that grades or solves."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from graders import bundle, catalog, engine, packing, paths
from graders.errors import IclabError, UnknownLab, UsageError
from graders.workspace import MARKER

ROOT = Path(__file__).resolve().parents[2]
LABS = catalog.lab_ids()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ICLAB_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _unzip(archive: Path, dest: Path) -> Path:
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)  # our own, trusted bundle
    return dest


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    """One bundle per lab, exported once for the module."""
    out = tmp_path_factory.mktemp("bundles")
    return {lab_id: bundle.export([lab_id], out / f"{lab_id}.zip").out for lab_id in LABS}


def _contents(archive: Path) -> dict[str, str]:
    with zipfile.ZipFile(archive) as zf:
        return {name: zf.read(name).decode("utf-8", errors="replace") for name in zf.namelist()}


def _text_lines(files, minimum: int) -> set[str]:
    out = set()
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            out |= {ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()
                    if len(ln.strip()) > minimum}
    return out


def _public_lines(lab_id: str) -> set[str]:
    """Lines the lab publishes on purpose: its ticket, hints, starter, contract documents and fixtures."""
    lab = catalog.get_lab(lab_id)
    files = [p for p in lab.folder.rglob("*") if p.name != "lab.toml"] + list(lab.fixtures.rglob("*"))
    if lab.services:
        files += list((ROOT / "mock_services").rglob("*.py"))
    return _text_lines(files, 40)


HIDDEN_CHECK_LINES = _text_lines((ROOT / "graders" / "labs").rglob("*.py"), 40)
SOLUTION_LINES = _text_lines((ROOT / "solutions").rglob("*"), 40)


def _leaks(contents: dict[str, str], secret: set[str]) -> list[tuple[str, str]]:
    found = []
    for name, text in contents.items():
        for line in text.splitlines():
            if line.strip() in secret:
                found.append((name, line.strip()))
    return found


@pytest.mark.parametrize("lab_id", LABS)
def test_bundle_holds_the_ticket_starter_tests_fixtures_and_hints(bundles, lab_id):
    names = set(_contents(bundles[lab_id]))
    lab = catalog.get_lab(lab_id)
    assert {bundle.GUIDE, bundle.PACKER, bundle.REQUIREMENTS} <= names
    assert {f"{lab_id}/README.md", f"{lab_id}/hints.md", f"{lab_id}/{MARKER}"} <= names
    starter = {f"{lab_id}/{p.relative_to(lab.starter).as_posix()}" for p in lab.starter.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    fixtures = {f"{lab_id}/fixtures/{p.relative_to(lab.fixtures).as_posix()}" for p in lab.fixtures.rglob("*") if p.is_file()}
    contracts = {f"{lab_id}/{p.name}" for p in lab.folder.iterdir() if p.suffix in (".json", ".xsd")}
    assert starter and starter <= names
    assert fixtures <= names and contracts <= names
    assert any(n.startswith(f"{lab_id}/test_") for n in names), "no visible tests in the bundle"
    assert f"{lab_id}/lab.toml" not in names


@pytest.mark.parametrize("lab_id", LABS)
def test_bundle_carries_no_hidden_checks_and_no_solutions(bundles, lab_id):
    contents = _contents(bundles[lab_id])
    for name in contents:
        for word in ("graders/", "solutions/", "flawed", "reference", "flaw.toml", "__pycache__"):
            assert word not in name, f"{name} should not be in a bundle"
    public = _public_lines(lab_id)
    hidden = HIDDEN_CHECK_LINES - public
    assert len(hidden) > 500  # the check below has something to find
    assert _leaks(contents, hidden) == []
    assert _leaks(contents, SOLUTION_LINES - public) == []


def test_the_leak_check_would_catch_a_copied_grader(bundles):
    contents = _contents(bundles["map-customer"])
    contents["map-customer/data.py"] = (ROOT / "graders/labs/map_customer/__init__.py").read_text()
    assert _leaks(contents, HIDDEN_CHECK_LINES - _public_lines("map-customer"))


def test_a_candidate_runs_the_visible_tests_offline(bundles, tmp_path):
    folder = _unzip(bundles["map-customer"], tmp_path / "bundle") / "map-customer"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    starter = subprocess.run(cmd, cwd=folder, env=_env(), check=False, capture_output=True, text=True, timeout=120)
    assert starter.returncode == 1 and "failed" in starter.stdout  # the untouched starter fails them
    shutil.copyfile(ROOT / "solutions/map-customer/reference/mapper.py", folder / "mapper.py")
    done = subprocess.run(cmd, cwd=folder, env=_env(), check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout


def test_pack_submission_script_needs_only_the_standard_library_and_makes_a_gradable_zip(tmp_path):
    archive = bundle.export(["map-customer", "sql-recon"], tmp_path / "bundle.zip").out
    root = _unzip(archive, tmp_path / "bundle")
    shutil.copyfile(ROOT / "solutions/map-customer/reference/mapper.py", root / "map-customer" / "mapper.py")
    (root / "map-customer" / "phone_rules.py").write_text("TRUNK = '0'\n")
    (root / "map-customer" / "test_mine.py").write_text("def test_mine(): pass\n")
    # -I -S: no site-packages, no user site, no PYTHON* variables: only the standard library is there.
    run = subprocess.run([sys.executable, "-I", "-S", bundle.PACKER, "-o", str(tmp_path / "sub.zip")],
                         cwd=root, env=_env(), check=False, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "wrote" in run.stdout
    assert "warning: sql-recon/summary.sql is unchanged from the starter" in run.stderr
    assert "map-customer" not in run.stderr

    folders = packing.unpack(tmp_path / "sub.zip", tmp_path / "unpacked")
    assert set(folders) == {"map-customer", "sql-recon"}
    assert sorted(p.name for p in folders["map-customer"].iterdir()) == ["mapper.py", "phone_rules.py"]
    result = engine.grade(catalog.get_lab("map-customer"), folders["map-customer"])
    assert result.score == result.max_score


def test_pack_submission_script_refuses_missing_work(tmp_path):
    root = _unzip(bundle.export(["map-customer"], tmp_path / "b.zip").out, tmp_path / "bundle")
    (root / "map-customer" / "mapper.py").unlink()
    run = subprocess.run([sys.executable, "-I", "-S", bundle.PACKER], cwd=root, env=_env(),
                         check=False, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "map-customer/mapper.py is missing" in run.stderr
    assert not (root / "submission.zip").exists()


def test_guide_explains_setup_tests_hints_and_handing_in(bundles):
    guide = _contents(bundles["sql-recon"])[bundle.GUIDE]
    for phrase in ("python3 -m venv .venv", "pip install -r requirements.txt", "--no-index --find-links",
                   "python -m pytest", "hints.md", "python pack_submission.py", "iclab submit",
                   packing.MANIFEST, "sql-recon/summary.sql", "not in this bundle"):
        assert phrase in guide, phrase
    requirements = _contents(bundles["sql-recon"])[bundle.REQUIREMENTS].split("\n")
    assert any(r.startswith("duckdb") for r in requirements)
    assert any(r.startswith("pytest") for r in requirements)


def test_requirements_follow_what_the_visible_tests_import():
    map_customer = bundle.requirements_for([catalog.get_lab("map-customer")])
    assert any(r.startswith("pytest") for r in map_customer)
    assert "tzdata" in map_customer  # the starter uses zoneinfo
    assert not any(r.startswith(("duckdb", "lxml", "requests")) for r in map_customer)
    assert any(r.startswith("duckdb") for r in bundle.requirements_for([catalog.get_lab("sql-recon")]))


def test_export_is_reproducible(tmp_path):
    first = bundle.export(["map-customer"], tmp_path / "a.zip")
    second = bundle.export(["map-customer"], tmp_path / "b.zip")
    assert first.sha256 == second.sha256


def test_export_refuses_labs_that_solve_each_other_and_bad_names(tmp_path):
    with pytest.raises(UsageError, match="mapping-tests's files hold most of map-customer's reference solution"):
        bundle.export(["map-customer", "mapping-tests"], tmp_path / "x.zip")
    with pytest.raises(UnknownLab):
        bundle.export(["no-such-lab"], tmp_path / "x.zip")
    with pytest.raises(UsageError):
        bundle.export([], tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


@pytest.fixture
def http_lab(tmp_path):
    """A copy of map-customer that declares a mock service, in a lab pack of its own."""
    from graders import packs

    pack = tmp_path / "pack"
    labs, fixtures = pack / "labs", pack / "fixtures"
    shutil.copytree(ROOT / "labs/map-customer", labs / "http-lab", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "fixtures/map-customer", fixtures / "http-lab")
    toml = (labs / "http-lab/lab.toml").read_text()
    toml = toml.replace('id = "map-customer"', 'id = "http-lab"').replace("services = []", 'services = ["crm"]')
    (labs / "http-lab/lab.toml").write_text(toml)
    packs.configure([str(pack)])
    yield labs / "http-lab"
    packs.configure([])


def test_a_lab_with_services_brings_the_mock_services_source(http_lab, tmp_path):
    summary = bundle.export(["http-lab"], tmp_path / "b.zip")
    mock_files = {f"mock_services/{p.relative_to(ROOT / 'mock_services').as_posix()}"
                  for p in (ROOT / "mock_services").rglob("*.py") if "__pycache__" not in p.parts}
    assert mock_files and mock_files <= set(summary.files)
    assert any(r.startswith("requests") for r in summary.requirements)
    assert any(r.startswith("responses") for r in summary.requirements)
    assert "serve_forever('crm'" in _contents(summary.out)[bundle.GUIDE]


def test_a_starter_file_linked_into_solutions_is_refused(http_lab, tmp_path):
    (http_lab / "starter" / "answer.py").symlink_to(ROOT / "solutions/map-customer/reference/mapper.py")
    with pytest.raises(IclabError, match="never carries hidden checks or solutions"):
        bundle.export(["http-lab"], tmp_path / "b.zip")
    assert not (tmp_path / "b.zip").exists()
