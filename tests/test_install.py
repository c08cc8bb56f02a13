"""What an instructor installs: iclab's wheel, in a fresh venv, used from a folder that is not a checkout.

The wheel is built from a copy of the sources (as `pip install ./iclab` or
`python -m build` would), installed with no index, and every command that
needs the built-in labs is run from an unrelated folder. Offline: the fresh
venv borrows the already-installed dependencies through a .pth line (which,
unlike site-packages' own .pth files, runs no import hooks, so nothing of the
checkout's editable install comes along).
"""
from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from graders import catalog

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "cli.py", "graders", "mock_services",
           "labs", "fixtures", "solutions")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv bin folder, an unrelated working folder, the installed built-in labs' folder)."""
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    src.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "_builtin", ".pytest_cache", "*.egg-info")
    for name in SOURCES:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, src / name,
                                                                      **({"ignore": skip} if (ROOT / name).is_dir() else {}))
    wheel = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-q", "-w", str(tmp / "dist"), str(src)], capture_output=True, text=True, timeout=600)
    assert wheel.returncode == 0, wheel.stderr[-3000:]
    [built] = list((tmp / "dist").glob("iclab-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    fresh_site = subprocess.run([str(py), "-c", "import site; print(site.getsitepackages()[0])"],
                                capture_output=True, text=True, check=True).stdout.strip()
    borrowed = [p for p in site.getsitepackages() if Path(p).is_dir()]
    Path(fresh_site, "_iclab_test_dependencies.pth").write_text("\n".join(borrowed) + "\n")
    install = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(built)],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return venv / "bin", elsewhere, Path(fresh_site) / "graders" / "_builtin"


def _run(installed, *args, timeout=600):
    bin_dir, cwd, _ = installed
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ICLAB_HOME", "ICLAB_LABS", "PYTHON"))}
    env["NO_COLOR"] = "1"
    return subprocess.run([str(bin_dir / "iclab"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_the_installed_iclab_is_not_the_checkout(installed):
    bin_dir, cwd, builtin = installed
    where = subprocess.run([str(bin_dir / "python"), "-c", "import graders, cli; print(graders.__file__, cli.__file__)"],
                           cwd=cwd, capture_output=True, text=True, check=True).stdout
    assert str(ROOT) not in where and "site-packages" in where
    assert (builtin / "labs" / "map-customer" / "lab.toml").is_file()
    assert (builtin / "solutions" / "map-customer" / "reference").is_dir()


def test_list_shows_the_ten_labs(installed):
    listed = _run(installed, "list")
    assert listed.returncode == 0, listed.stderr
    for lab_id in catalog.lab_ids():
        assert lab_id in listed.stdout


@pytest.mark.parametrize("lab_id", catalog.lab_ids())
def test_every_reference_grades_at_full_marks_from_an_unrelated_folder(installed, lab_id):
    _, _, builtin = installed
    done = _run(installed, "grade", lab_id, str(builtin / "solutions" / lab_id / "reference"), "--format", "json")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["score"] == result["max_score"], [c["reason"] for c in result["checks"] if c["status"] != "passed"]


def test_verify_export_gradescope_and_mock_work_installed(installed, tmp_path):
    verified = _run(installed, "verify", "map-customer", "--skip-visible")
    assert verified.returncode == 0 and "map-customer: ok" in verified.stdout, verified.stdout + verified.stderr
    exported = _run(installed, "export", "api-sync", "-o", str(tmp_path / "b.zip"))
    assert exported.returncode == 0, exported.stderr
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        names = zf.namelist()
    assert "mock_services/__init__.py" in names and not any("solutions" in n or "graders" in n for n in names)
    built = _run(installed, "gradescope", "map-customer", "-o", str(tmp_path / "g.zip"))
    assert built.returncode == 0, built.stderr
    with zipfile.ZipFile(tmp_path / "g.zip") as zf:
        names = zf.namelist()
    assert "iclab/graders/labs/map_customer/__init__.py" in names or "iclab/graders/labs/map_customer.py" in names
    assert not any("_builtin" in n or "/solutions/" in n for n in names)
    mocks = _run(installed, "mock", "list")
    assert mocks.returncode == 0 and "crm" in mocks.stdout and "erp" in mocks.stdout


def test_batch_grades_a_cohort_installed(installed, tmp_path):
    _, _, builtin = installed
    cohort = tmp_path / "cohort"
    ws = tmp_path / "ada"
    assert _run(installed, "start", "map-customer", str(ws)).returncode == 0
    shutil.copy(builtin / "solutions" / "map-customer" / "reference" / "mapper.py", ws / "mapper.py")
    cohort.mkdir()
    packed = _run(installed, "submit", str(ws), "-o", str(cohort / "ada.zip"))
    assert packed.returncode == 0, packed.stderr
    done = _run(installed, "batch", str(cohort), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    book = json.loads((tmp_path / "out" / "gradebook.json").read_text())
    assert "ada" in json.dumps(book)
