"""Lab packs: labs that live outside iclab, found, verified, graded, exported and batch-graded like built-in ones."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _shim(bin_dir: Path) -> Path:
    """An `iclab` on PATH that runs this checkout's command line (whatever is installed elsewhere)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "iclab"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{sys.executable}" -m cli "$@"\n')
    shim.chmod(0o755)
    return bin_dir


def _env(tmp_path: Path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ICLAB_LABS"))}
    env["PATH"] = f"{_shim(tmp_path / 'bin')}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def _iclab(tmp_path: Path, *args: str, cwd: Path | None = None, **env) -> subprocess.CompletedProcess:
    return subprocess.run(["iclab", *args], cwd=cwd or tmp_path, env=_env(tmp_path, **env), capture_output=True,
                          text=True, timeout=600)


def _walkthrough() -> list[str]:
    text = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    section = text.split("## Your own lab pack, step by step", 1)[1]
    block = section.split("```console", 1)[1].split("```", 1)[0]
    return [line[2:] for line in block.splitlines() if line.startswith("$ ")]


def test_the_authoring_walkthrough_works_as_written(tmp_path):
    """docs/authoring.md's commands, run one after another in one shell, in a folder outside the repository."""
    commands = _walkthrough()
    assert commands[0].startswith("iclab new ") and any("batch" in c for c in commands)
    work = tmp_path / "author"
    work.mkdir()
    script = "set -e\n" + "\n".join(f"echo '>>> {c}'\n{c}" for c in commands) + "\n"
    done = subprocess.run(["bash", "-c", script], cwd=work, env=_env(tmp_path), capture_output=True, text=True,
                          timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "erp-codes: ok" in out
    assert re.search(r"mutation score 100\.0%", out)
    assert (work / "erp-codes-bundle.zip").is_file() and (work / "erp-codes-autograder.zip").is_file()
    book = json.loads((work / "gradebook" / "gradebook.json").read_text())
    assert "ada" in json.dumps(book) and "100" in json.dumps(book)
    with zipfile.ZipFile(work / "erp-codes-autograder.zip") as zf:
        names = zf.namelist()
    assert "iclab/pack/graders/erp_codes.py" in names  # the pack's hidden checks travel with it
    assert not any("/solutions/" in f"/{n}" for n in names)
    with zipfile.ZipFile(work / "erp-codes-bundle.zip") as zf:
        assert not any("graders" in n or "solutions" in n for n in zf.namelist())


def _pack(folder: Path, lab_id: str) -> Path:
    done = _iclab(folder.parent, "new", lab_id, "--pack", str(folder))
    assert done.returncode == 0, done.stderr
    return folder


def test_a_lab_id_in_two_packs_is_one_line_naming_both(tmp_path):
    first, second = _pack(tmp_path / "one", "erp-codes"), tmp_path / "two"
    shutil.copytree(first, second)
    done = _iclab(tmp_path, "--labs", str(first), "--labs", str(second), "list")
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "\n" not in line and "erp-codes" in line and str(first) in line and str(second) in line


def test_a_built_in_lab_id_cannot_be_reused(tmp_path):
    pack = _pack(tmp_path / "mine", "erp-codes")
    shutil.copytree(pack / "labs" / "erp-codes", pack / "labs" / "map-customer")
    lab_toml = pack / "labs" / "map-customer" / "lab.toml"
    lab_toml.write_text(lab_toml.read_text().replace('id = "erp-codes"', 'id = "map-customer"'))
    done = _iclab(tmp_path, "--labs", str(pack), "list")
    assert done.returncode == 2 and "map-customer" in done.stderr and "built-in" in done.stderr


def test_finding_no_labs_is_exit_2_saying_where_iclab_looked(tmp_path):
    empty = tmp_path / "empty"
    (empty / "labs").mkdir(parents=True)
    done = _iclab(tmp_path, "list", ICLAB_HOME=str(empty))
    assert done.returncode == 2
    assert "no labs found" in done.stderr and str(empty) in done.stderr and "ICLAB_LABS_PATH" in done.stderr
    assert done.stdout == ""


def test_a_folder_that_is_not_a_pack_is_one_line(tmp_path):
    done = _iclab(tmp_path, "--labs", str(tmp_path / "nowhere"), "list")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no such folder" in done.stderr
    (tmp_path / "plain").mkdir()
    done = _iclab(tmp_path, "--labs", str(tmp_path / "plain"), "list")
    assert done.returncode == 2 and "not a lab pack" in done.stderr


def test_an_installed_package_with_an_entry_point_is_a_pack(tmp_path):
    site = tmp_path / "site"
    _pack(site / "acme_labs", "acme-codes")
    (site / "acme_labs" / "__init__.py").write_text('"""Acme\'s iclab labs."""\n')
    info = site / "acme_labs-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-labs\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[iclab.labs]\nacme = acme_labs\n")
    listed = _iclab(tmp_path, "list", PYTHONPATH=str(site))
    assert listed.returncode == 0, listed.stderr
    assert "acme-codes" in listed.stdout and "map-customer" in listed.stdout
    verified = _iclab(tmp_path, "verify", "acme-codes", "--skip-visible", PYTHONPATH=str(site))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_new_refuses_a_bad_or_taken_id_and_never_overwrites(tmp_path):
    assert _iclab(tmp_path, "new", "Bad_Id", "--pack", "p").returncode == 2
    assert _iclab(tmp_path, "new", "map-customer", "--pack", "p").returncode == 2
    pack = _pack(tmp_path / "p", "erp-codes")
    ticket = pack / "labs" / "erp-codes" / "README.md"
    ticket.write_text("# mine\n")
    again = _iclab(tmp_path, "--labs", str(pack), "new", "erp-codes", "--pack", str(pack))
    assert again.returncode == 2 and ticket.read_text() == "# mine\n"


def test_a_pack_lab_is_graded_inside_the_sandbox_without_its_solutions(tmp_path):
    """The pack's solutions and checks are hidden from the learner's code like the built-in ones."""
    pack = _pack(tmp_path / "p", "erp-codes")
    sub = tmp_path / "sub"
    sub.mkdir()
    secret = pack / "solutions" / "erp-codes" / "reference" / "solution.py"
    (sub / "solution.py").write_text(textwrap.dedent(f"""
        def clean_code(value):
            try:
                return open({str(secret)!r}).read()[:10]
            except OSError as exc:
                return type(exc).__name__
    """))
    done = _iclab(tmp_path, "--labs", str(pack), "grade", "erp-codes", str(sub), "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    evidence = json.dumps([c["evidence"] for c in result["checks"]])
    assert '\\"\\"\\"Clean a' not in evidence and "Clean a country" not in evidence  # its text never came back
    assert "FileNotFoundError" in evidence  # the path does not exist in the sandbox at all
    assert result["score"] == 0


def test_a_cohort_with_nothing_gradable_is_exit_2_never_a_green_run(tmp_path):
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    empty = _iclab(tmp_path, "batch", str(cohort), "--out", str(tmp_path / "a"))
    assert empty.returncode == 2 and "no folder or .zip" in empty.stderr.splitlines()[-1]
    (cohort / "x").mkdir()
    (cohort / "y.zip").write_bytes(b"not a zip")
    nothing = _iclab(tmp_path, "batch", str(cohort), "--out", str(tmp_path / "b"))
    assert nothing.returncode == 2 and "nothing gradable in its 2 entries" in nothing.stderr.splitlines()[-1]
    assert (tmp_path / "b" / "gradebook.csv").is_file()  # the reasons are still recorded, learner by learner


def test_a_shard_without_gradable_learners_is_fine_when_the_cohort_has_some(tmp_path):
    from graders.batch.plan import make_plan

    cohort = tmp_path / "cohort"
    (cohort / "ada" / "map-customer").mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / "map-customer" / "reference" / "mapper.py", cohort / "ada" / "map-customer")
    (cohort / "zed").mkdir()
    plans = [make_plan(cohort, None, f"{k}/2") for k in (1, 2)]
    assert sorted(len(p.units) for p in plans) == [0, 1]
    assert all(p.cohort == 2 and p.cohort_gradable for p in plans)


def test_a_pack_labs_gradescope_package_grades_with_the_packs_own_checks(tmp_path):
    """The autograder carries the pack's hidden checks and finds them on Gradescope's machine."""
    pack = _pack(tmp_path / "p", "erp-codes")
    built = _iclab(tmp_path, "--labs", str(pack), "gradescope", "erp-codes", "-o", str(tmp_path / "ag.zip"))
    assert built.returncode == 0, built.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(tmp_path / "ag.zip") as zf:
        for info in zf.infolist():
            zf.extract(info, root / "source")
            os.chmod(root / "source" / info.filename, (info.external_attr >> 16) & 0o777)
    (root / "submission").mkdir()
    shutil.copy(pack / "solutions" / "erp-codes" / "reference" / "solution.py", root / "submission")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ICLAB_"))}
    env.update(AUTOGRADER_ROOT=str(root), ICLAB_SKIP_INSTALL="1", ICLAB_PYTHON=sys.executable)
    for script in ("setup.sh", "run_autograder"):
        done = subprocess.run(["bash", str(root / "source" / script)], env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 100, results
