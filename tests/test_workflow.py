"""The shipped GitHub Actions workflow (docs/grade-submissions.yml) works as shipped: its own steps, run here.

A small local runner plays each job the way Actions would: ``run`` steps in
bash with the workflow's ``${{ ... }}`` expressions filled in, and the few
``uses`` actions it relies on emulated (checkout and setup-python: nothing to
do here; cache restore/save and artifacts: folders). The install step installs
the copy of iclab the "repository" holds into a fresh venv, offline.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = yaml.safe_load((ROOT / "docs" / "grade-submissions.yml").read_text(encoding="utf-8"))
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "cli.py", "graders", "mock_services",
           "labs", "fixtures", "solutions")


def test_the_workflow_is_shaped_for_ci():
    assert WORKFLOW["permissions"] == {"contents": "read"}
    assert "group" in WORKFLOW["concurrency"]
    text = (ROOT / "docs" / "grade-submissions.yml").read_text(encoding="utf-8")
    assert len(re.findall(r"SHARDS:\s*\d+", text)) == 1 and "shard: [" not in text  # one place for the count
    grade = WORKFLOW["jobs"]["grade"]["steps"]
    uses = [s.get("uses", "") for s in grade]
    restore = uses.index("actions/cache/restore@v4")
    save = next(i for i, s in enumerate(grade) if s.get("uses") == "actions/cache/save@v4")
    batch = next(i for i, s in enumerate(grade) if "iclab batch" in s.get("run", ""))
    assert restore < batch < save and grade[save]["if"] == "always()"
    assert grade[restore]["with"]["key"] == grade[save]["with"]["key"]
    installs = [s["run"] for job in WORKFLOW["jobs"].values() for s in job["steps"] if s.get("name") == "Install iclab"]
    assert installs and all(run == "python -m pip install ./iclab" for run in installs)  # not editable, not -e


class _Runner:
    """Plays a job's steps in ``repo``, with ``env`` (the workflow's, plus PATH to the fresh venv)."""

    def __init__(self, repo: Path, env: dict[str, str], store: Path):
        self.repo, self.env, self.store = repo, env, store
        store.mkdir(parents=True, exist_ok=True)
        self.outputs: dict[str, dict[str, str]] = {}

    def expand(self, text: str, matrix: dict) -> str:
        def value(match: re.Match) -> str:
            expr = match.group(1).strip()
            if expr.startswith("matrix."):
                return str(matrix[expr.split(".", 1)[1]])
            if expr.startswith("env."):
                return self.env[expr.split(".", 1)[1]]
            if expr.startswith("github."):
                return {"run_id": "1", "run_attempt": "1", "ref": "refs/heads/main"}[expr.split(".", 1)[1]]
            if expr.startswith("needs."):
                _, job, _, name = expr.split(".")
                return self.outputs[job][name]
            raise AssertionError(f"the local runner does not know ${{{{ {expr} }}}}")
        return re.sub(r"\$\{\{(.*?)\}\}", value, text)

    def job(self, name: str, matrix: dict | None = None) -> None:
        matrix = matrix or {}
        job = WORKFLOW["jobs"][name]
        step_outputs: dict[str, dict[str, str]] = {}
        for step in job["steps"]:
            if "run" in step:
                script = self.expand(step["run"], matrix)
                if script.lstrip().startswith("sudo "):
                    continue  # a runner-only setting; this machine's namespaces are what they are
                out_file = self.store / "github_output"
                out_file.write_text("")
                done = subprocess.run(["bash", "-e", "-c", script], cwd=self.repo, capture_output=True, text=True,
                                      env={**self.env, "GITHUB_OUTPUT": str(out_file)}, timeout=900)
                assert done.returncode == 0, f"step {step.get('name', script)!r}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
                if "id" in step:
                    step_outputs[step["id"]] = dict(line.split("=", 1) for line in out_file.read_text().splitlines())
                continue
            action, args = step["uses"].split("@")[0], {k: self.expand(str(v), matrix) for k, v in step.get("with", {}).items()}
            if action in ("actions/checkout", "actions/setup-python"):
                continue
            if action == "actions/cache/restore":
                cached = self.store / "cache" / args["key"]
                if cached.is_dir():
                    shutil.copytree(cached, self.repo / args["path"], dirs_exist_ok=True)
            elif action == "actions/cache/save":
                shutil.copytree(self.repo / args["path"], self.store / "cache" / args["key"], dirs_exist_ok=True)
            elif action == "actions/upload-artifact":
                shutil.copytree(self.repo / args["path"], self.store / "artifacts" / args["name"], dirs_exist_ok=True)
            elif action == "actions/download-artifact":
                shutil.copytree(self.store / "artifacts", self.repo / args["path"], dirs_exist_ok=True)
            else:
                raise AssertionError(f"the local runner does not emulate {action}")
        self.outputs[name] = {k: self.expand(v, matrix) if "${{" not in v else
                              re.sub(r"\$\{\{\s*steps\.(\w+)\.outputs\.(\w+)\s*\}\}",
                                     lambda m: step_outputs[m.group(1)][m.group(2)], v)
                              for k, v in job.get("outputs", {}).items()}


def _cohort(submissions: Path) -> dict[str, float]:
    """Three learners of map-customer: the reference, a flaw, and an unreadable zip."""
    from graders import catalog, engine, packing, workspace

    lab = catalog.get_lab("map-customer")
    expected = {}
    for name, folder in (("ada", catalog.reference(lab)), ("bob", catalog.flaws(lab)[0].folder)):
        ws = submissions.parent / "ws" / name
        workspace.start(lab, ws)
        shutil.copy(folder / "mapper.py", ws / "mapper.py")
        packing.pack(ws, submissions / f"{name}.zip")
        expected[name] = engine.grade(lab, folder).score
    (submissions / "cy.zip").write_bytes(b"not a zip")
    return expected


def test_the_workflow_steps_grade_shards_and_merge_them(tmp_path):
    repo = tmp_path / "repo"
    (repo / "iclab").mkdir(parents=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "_builtin", ".pytest_cache", "*.egg-info", "build")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, repo / "iclab" / name, ignore=skip)
        else:
            shutil.copy2(ROOT / name, repo / "iclab" / name)
    (repo / "submissions").mkdir()
    expected = _cohort(repo / "submissions")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    fresh_site = subprocess.run([str(venv / "bin" / "python"), "-c", "import site; print(site.getsitepackages()[0])"],
                                capture_output=True, text=True, check=True).stdout.strip()
    # Offline: the fresh venv borrows pip, setuptools and iclab's dependencies from this one.
    Path(fresh_site, "_borrowed.pth").write_text("\n".join(p for p in site.getsitepackages() if Path(p).is_dir()) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ICLAB_", "PYTHON"))}
    env.update({k: str(v) for k, v in WORKFLOW["env"].items()})
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}", NO_COLOR="1", PIP_NO_INDEX="1",
               PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1")
    runner = _Runner(repo, env, tmp_path / "actions")
    runner.job("plan")
    shards = json.loads(runner.outputs["plan"]["shards"])
    assert shards == list(range(1, int(WORKFLOW["env"]["SHARDS"]) + 1))
    for shard in shards:
        runner.job("grade", {"shard": shard})
    assert Path(fresh_site, "graders", "_builtin", "labs").is_dir()  # graded by the installed copy, not a checkout
    runner.job("merge")
    rows = {row["learner"]: row for row in json.loads((repo / "gradebook" / "gradebook.json").read_text())}
    assert set(rows) == {"ada", "bob", "cy"}  # every learner, the unreadable zip's too, across the shards
    assert rows["ada"]["score"] == expected["ada"] == rows["ada"]["max_score"]
    assert rows["bob"]["score"] == expected["bob"] < rows["bob"]["max_score"]
    assert rows["cy"]["status"] != "graded" and rows["cy"]["reason"]
