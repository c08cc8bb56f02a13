"""The gradebook an instructor trusts: every learner in every output, names that survive, SQL that reads right."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import duckdb
import pytest
from lxml import etree, html as lhtml

from graders import catalog, packing, workspace
from graders.gradebook import DB_NAME, STORAGE_VERSION, TABLES, junit_file_name

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT / "solutions" / "map-customer" / "reference" / "mapper.py"
FLAWED = ROOT / "solutions" / "map-customer" / "flawed" / "ignores-timezone" / "mapper.py"

# Names that used to share one JUnit file (non-ASCII became "_"), or differ only in Unicode form or accent.
UNICODE_NAMES = ["王伟", "李娜", "Иван", "José García", unicodedata.normalize("NFD", "José García"), "Josè García"]

# learner -> (status, words its reason must hold)
EXPECTED = {
    "ana": ("graded", ""),
    "bob": ("graded", ""),
    "packed": ("graded", ""),
    "empty": ("ungradable", "the folder is empty"),
    "typo": ("ungradable", "unknown lab: map-custmer/"),
    "loose": ("ungradable", "no folder named after a lab"),
    "junk": ("refused", "junk.zip was refused: not a zip file"),
    "nomanifest": ("refused", "no iclab-submission.json"),
    "badmanifest": ("refused", "iclab-submission.json is not valid JSON"),
    "elsewhere": ("ungradable", "'no-such-lab'"),
    "mallory": ("refused", "path traversal"),
    **{name: ("graded", "") for name in UNICODE_NAMES},
}


def iclab(*args, **kw):
    return subprocess.run([sys.executable, "-m", "cli", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, **kw)


def _manifest(labs, files=()) -> str:
    return json.dumps({"schema": "iclab/submission/v1", "tool_version": "0.1.0", "created": "2025-01-01T00:00:00Z",
                       "labs": labs, "files": list(files)})


def make_cohort(root: Path, tmp: Path) -> None:
    """A cohort with every way a submission can fail to be graded, beside good ones."""
    for name, source in [("ana", REFERENCE), ("bob", FLAWED)] + [(n, REFERENCE) for n in UNICODE_NAMES]:
        (root / name / "map-customer").mkdir(parents=True)
        shutil.copyfile(source, root / name / "map-customer" / "mapper.py")
    ws = tmp / "ws"
    workspace.assemble(catalog.get_lab("map-customer"), ws, REFERENCE.parent)
    (ws / workspace.MARKER).write_text('lab = "map-customer"\n')
    packing.pack(ws, root / "packed.zip")
    (root / "empty").mkdir()
    (root / "typo" / "map-custmer").mkdir(parents=True)
    shutil.copyfile(REFERENCE, root / "typo" / "map-custmer" / "mapper.py")
    (root / "loose").mkdir()
    shutil.copyfile(REFERENCE, root / "loose" / "mapper.py")
    (root / "junk.zip").write_text("this is not a zip file\n")
    with zipfile.ZipFile(root / "nomanifest.zip", "w") as zf:
        zf.writestr("map-customer/mapper.py", REFERENCE.read_text())
    with zipfile.ZipFile(root / "badmanifest.zip", "w") as zf:
        zf.writestr("iclab-submission.json", "{not json")
    with zipfile.ZipFile(root / "elsewhere.zip", "w") as zf:
        zf.writestr("iclab-submission.json", _manifest(["no-such-lab"]))
    with zipfile.ZipFile(root / "mallory.zip", "w") as zf:
        zf.writestr("iclab-submission.json", _manifest(["map-customer"]))
        zf.writestr("../../escaped.py", "print('out')\n")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cohort") / "subs"
    root.mkdir()
    make_cohort(root, tmp_path_factory.mktemp("work"))
    return root


@pytest.fixture(scope="module")
def run(cohort, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("out")
    result = iclab("batch", cohort, "--out", out, "--jobs", "2")
    assert result.returncode == 0, result.stderr
    return out, result


@pytest.fixture(scope="module")
def merged(cohort, tmp_path_factory) -> Path:
    outs = []
    for k in (1, 2):
        out = tmp_path_factory.mktemp(f"shard{k}")
        result = iclab("batch", cohort, "--out", out, "--shard", f"{k}/2", "--jobs", "2")
        assert result.returncode == 0, result.stderr
        outs.append(out)
    target = tmp_path_factory.mktemp("merged") / "gradebook"
    result = iclab("merge", *outs, "--out", target)
    assert result.returncode == 0, result.stderr
    return target


def _learners(db: Path) -> dict[str, tuple[str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {learner: (status, reason) for learner, status, reason in
                con.execute("SELECT learner, status, reason FROM learners").fetchall()}
    finally:
        con.close()


def _check_statuses(found: dict[str, tuple[str, str]], where: str) -> None:
    assert set(found) == set(EXPECTED), f"{where}: learners missing or extra"
    for name, (status, words) in EXPECTED.items():
        got_status, reason = found[name]
        assert got_status == status, f"{where}: {name} is {got_status}, expected {status} ({reason})"
        assert words in reason, f"{where}: {name}'s reason {reason!r} lacks {words!r}"
        if status != "graded":
            assert "holds no lab folder" not in reason and str(ROOT) not in reason and "/tmp/" not in reason


# --------------------------------------------------------------------------- nobody silently missing


def test_the_batch_says_which_learners_hold_nothing_to_grade(run):
    _, result = run
    assert f"for {len(EXPECTED)} learners" in result.stderr
    assert "7 of them hold nothing to grade" in result.stderr
    assert "typo: ungradable: it holds a folder for an unknown lab: map-custmer/" in result.stderr
    assert "skipped" not in result.stderr


def test_every_learner_has_a_status_and_reason_in_the_database(run):
    out, _ = run
    _check_statuses(_learners(out / DB_NAME), "gradebook.duckdb")


def test_every_learner_is_in_the_csv_files(run):
    out, _ = run
    rows = list(csv.DictReader(io.StringIO((out / "gradebook.csv").read_text(encoding="utf-8"))))
    _check_statuses({r["learner"]: (r["status"] if r["lab"] == "" else _lab_to_learner(r), r["reason"])
                     for r in rows}, "gradebook.csv")
    wide = list(csv.DictReader(io.StringIO((out / "gradebook-wide.csv").read_text(encoding="utf-8"))))
    assert len(wide) == len(EXPECTED), "the wide CSV has one row per learner"
    _check_statuses({r["learner"]: (r["status"], r["reason"]) for r in wide}, "gradebook-wide.csv")
    by_name = {r["learner"]: r for r in wide}
    assert by_name["ana"]["map-customer"] == "100" and by_name["bob"]["map-customer"] == "90"
    assert by_name["mallory"]["map-customer"] == "0" and by_name["empty"]["map-customer"] == ""


def _lab_to_learner(row: dict) -> str:
    # A lab row's status is the lab's: a learner whose only lab was refused is refused.
    return row["status"]


def test_every_learner_is_in_the_json(run):
    out, _ = run
    records = json.loads((out / "gradebook.json").read_text(encoding="utf-8"))
    _check_statuses({r["learner"]: (r["status"], r["reason"]) for r in records}, "gradebook.json")
    mallory = next(r for r in records if r["learner"] == "mallory")
    assert mallory["labs"][0]["status"] == "refused" and mallory["score"] == 0


def test_every_learner_has_a_junit_file_of_their_own(run):
    out, _ = run
    files = sorted((out / "junit").iterdir())
    assert len(files) == len(EXPECTED), "one JUnit file per learner, none shared"
    assert len({f.name.casefold() for f in files}) == len(files)
    found = {}
    for path in files:
        doc = etree.parse(str(path))
        learners = set(doc.xpath("//property[@name='submission']/@value"))
        assert len(learners) == 1, path.name
        name = learners.pop()
        statuses = doc.xpath("//property[@name='status']/@value")
        errors = doc.xpath("//error/@message")
        status = "graded" if "graded" in statuses else statuses[0]
        found[name] = (status, errors[0] if status != "graded" else "")
        readable = unicodedata.normalize("NFC", name).replace("/", "_")
        assert path.name.startswith(readable), f"{path.name} does not name {name!r}"
    _check_statuses(found, "junit/")


def test_every_learner_is_in_the_report(run):
    out, _ = run
    doc = lhtml.document_fromstring((out / "report.html").read_text(encoding="utf-8"))
    rows = doc.xpath("//table[@id='learners']/tbody/tr")
    found = {}
    for row in rows:
        name = row.xpath(".//bdi[@class='name']")[0].text_content()
        status = row.xpath("td[contains(@class, 'learner')]/@data-status")[0]
        notes = " ".join(li.text_content() for li in row.xpath(".//ul[@class='notes']/li"))
        found[name] = (status, notes if status != "graded" else "")
    _check_statuses(found, "report.html")


def test_merged_shards_keep_every_learner(merged):
    _check_statuses(_learners(merged / DB_NAME), "merged gradebook.duckdb")
    assert len(list((merged / "junit").iterdir())) == len(EXPECTED)


# --------------------------------------------------------------------------- names that survive


@pytest.mark.parametrize("names", [
    UNICODE_NAMES,
    ["ann", "Ann", "ANN"],                      # case-insensitive file systems (macOS, Windows)
    ["a/b", "a_b", "a:b", "a\\b", "..", ".", ""],  # characters a file name cannot hold, or names that are not names
    ["x" * 300, "x" * 299 + "y"],                # long names, cut to the same readable part
])
def test_junit_file_names_are_unique_and_readable(names):
    taken: set[str] = set()
    files = [junit_file_name(n, taken) for n in names]
    assert len({f.casefold() for f in files}) == len(names)
    for name, file in zip(names, files):
        assert re.fullmatch(r"[^/\\\x00]{1,60}-[0-9a-f]{8,64}\.xml", file), file
        assert len(file.encode("utf-8")) < 255
        assert junit_file_name(name, set()) == file, "stable: the same learner, the same file, every run"


# --------------------------------------------------------------------------- merge trusts no foreign shard


def _empty_cohort(root: Path, names) -> Path:
    """Learners whose folders hold nothing: cheap to batch (a batch of them exits 2, its outputs written)."""
    for name in names:
        (root / name).mkdir(parents=True)
    return root


def test_merge_refuses_a_shard_of_another_cohort(tmp_path):
    one = _empty_cohort(tmp_path / "one", [f"learner{i}" for i in range(6)])
    two = _empty_cohort(tmp_path / "two", [f"learner{i}" for i in range(9)])
    assert iclab("batch", one, "--out", tmp_path / "s1", "--shard", "1/2").returncode == 2  # nothing gradable
    assert iclab("batch", two, "--out", tmp_path / "s2", "--shard", "2/2").returncode == 2
    result = iclab("merge", tmp_path / "s1", tmp_path / "s2", "--out", tmp_path / "m")
    assert result.returncode == 2
    assert "another cohort or with other settings" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m" / DB_NAME).exists()


def test_merge_refuses_to_write_into_one_of_its_shards(tmp_path):
    one = _empty_cohort(tmp_path / "one", ["a", "b", "c"])
    assert iclab("batch", one, "--out", tmp_path / "s1").returncode == 2  # nothing gradable; outputs written
    before = (tmp_path / "s1" / "journal.jsonl").read_bytes()
    result = iclab("merge", tmp_path / "s1", "--out", tmp_path / "s1")
    assert result.returncode == 2 and "is one of the shards being merged" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (tmp_path / "s1" / "journal.jsonl").read_bytes() == before


# --------------------------------------------------------------------------- other tools can read it


def _compat_python() -> str | None:
    explicit = os.environ.get("ICLAB_DUCKDB_COMPAT_PYTHON")
    default = ROOT / ".venv-duckdb-compat" / "bin" / "python"
    path = Path(explicit) if explicit else default
    if path.exists():
        return str(path)
    if explicit or os.environ.get("CI"):
        # Under `make test` (or in CI) the Makefile made this venv: its absence is a failure, never a skip.
        pytest.fail(f"{path} is missing: `make test` creates .venv-duckdb-compat with an older duckdb")
    pytest.skip("no .venv-duckdb-compat here (`make test` creates it); run `make .venv-duckdb-compat/.installed`")


def test_an_older_duckdb_opens_the_gradebook(run):
    out, _ = run
    python = _compat_python()
    script = ("import duckdb, json, sys\n"
              "con = duckdb.connect(sys.argv[1], read_only=True)\n"
              "rows = con.execute('SELECT learner, status, reason, score FROM learners ORDER BY learner').fetchall()\n"
              "checks = con.execute('SELECT count(*), sum(points) FROM check_results').fetchone()\n"
              "print(json.dumps({'version': duckdb.__version__, 'rows': rows, 'checks': checks}))\n")
    old = subprocess.run([python, "-c", script, str(out / DB_NAME)], capture_output=True, text=True, timeout=120)
    assert old.returncode == 0, old.stderr
    seen = json.loads(old.stdout)
    assert seen["version"].startswith("1.1."), f"the compatibility venv holds duckdb {seen['version']}, not 1.1"
    con = duckdb.connect(str(out / DB_NAME), read_only=True)
    try:
        now = con.execute("SELECT learner, status, reason, score FROM learners ORDER BY learner").fetchall()
        checks = con.execute("SELECT count(*), sum(points) FROM check_results").fetchone()
    finally:
        con.close()
    # Compared as sets: DuckDB releases order non-ASCII text differently.
    assert sorted(tuple(r) for r in seen["rows"]) == sorted(now) and tuple(seen["checks"]) == checks
    assert len(now) == len(EXPECTED)
    assert STORAGE_VERSION == "v1.1.0"


def test_tables_and_columns_are_named_for_people_writing_sql(run):
    out, _ = run
    con = duckdb.connect(str(out / DB_NAME), read_only=True)
    try:
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        types = {(t, c): ty for t, c, ty in con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns").fetchall()}
    finally:
        con.close()
    assert tables == set(TABLES) == {"learners", "lab_results", "check_results", "rubric_items", "review_results"}
    assert types[("lab_results", "graded_at")] == "TIMESTAMP"
    for table, column in [("learners", "lab_count"), ("learners", "graded_lab_count"), ("lab_results", "check_count"),
                          ("lab_results", "passed_check_count"), ("lab_results", "lost_check_count"),
                          ("check_results", "check_no"), ("check_results", "criterion")]:
        assert types[(table, column)] == "INTEGER", (table, column)
    for table, column in [("learners", "score"), ("lab_results", "percent"), ("check_results", "lost_points"),
                          ("lab_results", "duration_seconds")]:
        assert types[(table, column)] == "DOUBLE", (table, column)
    # Every column is documented, table by table.
    doc = (ROOT / "docs" / "gradebook.md").read_text(encoding="utf-8")
    for table in tables:
        section = doc.split(f"### `{table}`", 1)[1].split("###", 1)[0]
        for (t, column), _ in types.items():
            if t == table:
                assert f"`{column}`" in section, f"docs/gradebook.md does not document {table}.{column}"


def test_graded_at_is_a_real_timestamp(run):
    out, _ = run
    result = iclab("gradebook", "query", "SELECT count(*) FROM lab_results WHERE graded_at > TIMESTAMP '2020-01-01' "
                   "AND graded_at < now()::TIMESTAMP + INTERVAL 1 DAY", "--out", out, "--csv")
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.splitlines()[1]) == sum(1 for s, _ in EXPECTED.values() if s == "graded") + 1  # + mallory


@pytest.mark.parametrize("sql, says", [
    ("COPY learners TO '{target}'", "only reads"),
    ("SELECT * FROM read_csv('{target}')", "file system operations are disabled"),
    ("ATTACH '{target}' AS other", "only reads"),
    ("SELECT 1; SELECT 2", "exactly one SQL statement"),
    ("SELECT 1; COPY learners TO '{target}'", "exactly one SQL statement"),
    ("CREATE TABLE mine AS SELECT 1", "only reads"),
    ("DELETE FROM learners", "only reads"),
    ("", "give one SQL query"),
    ("   ", "give one SQL query"),
])
def test_query_reads_and_only_reads(run, tmp_path, sql, says):
    out, _ = run
    target = tmp_path / "leak.csv"
    if "read_csv" in sql:
        target.write_text("a\n1\n")
    before = (out / DB_NAME).read_bytes()
    result = iclab("gradebook", "query", sql.format(target=target), "--out", out)
    assert result.returncode == 2, result.stdout
    assert says in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not target.exists() or "read_csv" in sql
    assert (out / DB_NAME).read_bytes() == before


def test_a_folder_and_a_zip_of_the_same_name_are_two_learners(tmp_path):
    from graders.batch import make_plan

    (tmp_path / "alice").mkdir()
    (tmp_path / "alice.zip").write_text("not a zip")
    (tmp_path / "bob").mkdir()
    plan = make_plan(tmp_path)
    assert sorted(u.submission for u in plan.ungradable) == ["alice", "alice.zip", "bob"]
    assert len(set(plan.keys())) == 3 and plan.learners == 3


def test_query_tables_line_up_for_wide_characters_and_keep_one_line_per_row(run):
    from graders.render.table import _width

    out, _ = run
    result = iclab("gradebook", "query", "SELECT learner, status, problems FROM lab_results ORDER BY learner", "--out", out)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 + sum(1 for s, _ in EXPECTED.values() if s == "graded") + 1  # header, rule, one per row
    starts = set()
    for line in lines[2:]:
        name, _, rest = line.partition("  ")
        starts.add(_width(name) + 2 + len(rest) - len(rest.lstrip(" ")))
    assert len(starts) == 1, "the status column does not start at the same terminal column on every row"
