"""Submissions as files: pack what a learner made, refuse every hostile zip, map what grade and batch get."""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import stat
import struct
import uuid
import warnings
import zipfile
from pathlib import Path

import pytest

from graders import __version__, catalog, engine, packing, workspace
from graders.errors import SubmissionError, UnknownLab
from graders.packing import MANIFEST, SCHEMA_ID

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "solutions/map-customer/reference/mapper.py").read_bytes()
MiB = 1024 * 1024


def _workspace(folder: Path, lab_id: str = "map-customer", overlay: Path | None = None) -> Path:
    """A workspace as `iclab start` makes it, optionally with a solution's files on top."""
    workspace.assemble(catalog.get_lab(lab_id), folder, overlay)
    (folder / workspace.MARKER).write_text(f'lab = "{lab_id}"\n', encoding="utf-8")
    return folder


@pytest.fixture
def ws(tmp_path):
    return _workspace(tmp_path / "ws", overlay=ROOT / "solutions/map-customer/reference")


def _members(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


# --------------------------------------------------------------------------- pack


def test_pack_writes_the_manifest_and_round_trips_to_full_marks(ws, tmp_path):
    (ws / "answers.md").unlink()  # rubric answers are packed when present (tests/graders/review/test_rubric.py)
    summary = packing.pack(ws, tmp_path / "submission.zip")
    assert summary.labs == ("map-customer",)
    assert summary.files == ("map-customer/mapper.py",)
    assert summary.unchanged == ()
    members = _members(summary.out)
    assert list(members) == [MANIFEST, "map-customer/mapper.py"]
    manifest = json.loads(members[MANIFEST])
    assert manifest["schema"] == SCHEMA_ID and manifest["tool_version"] == __version__
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", manifest["created"])
    assert manifest["labs"] == ["map-customer"]
    assert manifest["files"] == [
        {"path": "map-customer/mapper.py", "sha256": hashlib.sha256(REFERENCE).hexdigest(), "size": len(REFERENCE)}
    ]
    assert summary.sha256 == hashlib.sha256(summary.out.read_bytes()).hexdigest()

    folders = packing.unpack(summary.out, tmp_path / "unpacked")
    assert folders == {"map-customer": tmp_path / "unpacked" / "map-customer"}
    assert (folders["map-customer"] / "mapper.py").read_bytes() == REFERENCE
    result = engine.grade(catalog.get_lab("map-customer"), folders["map-customer"])
    assert result.score == result.max_score == 100


def test_pack_takes_helper_modules_but_no_tests_fixtures_hidden_files_caches_or_links(ws, tmp_path):
    (ws / "phone_rules.py").write_text("TRUNK = '0'\n")
    (ws / "test_more.py").write_text("def test_x(): pass\n")
    (ws / "conftest.py").write_text("")
    (ws / ".scratch.py").write_text("")
    (ws / "notes.txt").write_text("todo")
    (ws / "__pycache__").mkdir()
    (ws / "__pycache__" / "mapper.cpython-311.pyc").write_bytes(b"\0")
    (ws / "linked.py").symlink_to(ROOT / "solutions/map-customer/reference/mapper.py")
    (ws / "answers.md").unlink()  # rubric answers are packed when present (tests/graders/review/test_rubric.py)
    summary = packing.pack(ws, tmp_path / "s.zip")
    assert summary.files == ("map-customer/mapper.py", "map-customer/phone_rules.py")
    assert set(_members(summary.out)) == {MANIFEST, "map-customer/mapper.py", "map-customer/phone_rules.py"}


def test_pack_is_reproducible(ws, tmp_path, monkeypatch):
    first = packing.pack(ws, tmp_path / "a.zip")
    second = packing.pack(ws, tmp_path / "b.zip")
    a, b = _members(first.out), _members(second.out)
    assert {k: v for k, v in a.items() if k != MANIFEST} == {k: v for k, v in b.items() if k != MANIFEST}
    strip = lambda blob: {k: v for k, v in json.loads(blob).items() if k != "created"}
    assert strip(a[MANIFEST]) == strip(b[MANIFEST])
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    c, d = packing.pack(ws, tmp_path / "c.zip"), packing.pack(ws, tmp_path / "d.zip")
    assert c.out.read_bytes() == d.out.read_bytes()
    assert json.loads(_members(c.out)[MANIFEST])["created"] == "2023-11-14T22:13:20Z"


def test_pack_a_folder_of_workspaces_and_flags_untouched_starters(tmp_path):
    _workspace(tmp_path / "all" / "mine", overlay=ROOT / "solutions/map-customer/reference")
    _workspace(tmp_path / "all" / "recon", "sql-recon")
    summary = packing.pack(tmp_path / "all", tmp_path / "s.zip")
    assert summary.labs == ("map-customer", "sql-recon")
    sql = catalog.get_lab("sql-recon").files
    # answers.md: the written answers' template, still untouched (packed when present, never required)
    assert set(summary.files) == {"map-customer/mapper.py", "map-customer/answers.md"} | {f"sql-recon/{f}" for f in sql}
    assert "sql-recon/recon.py" not in summary.files  # starter helper, not the learner's work
    assert set(summary.unchanged) == {f"sql-recon/{f}" for f in sql} | {"map-customer/answers.md"}
    assert set(packing.unpack(summary.out, tmp_path / "u")) == {"map-customer", "sql-recon"}


def test_pack_from_a_subfolder_of_a_workspace(ws, tmp_path):
    (ws / "notes").mkdir()
    assert packing.pack(ws / "notes", tmp_path / "s.zip").labs == ("map-customer",)


@pytest.mark.parametrize("case", ["no-workspace", "missing-file", "twice", "unknown-lab", "link", "too-big"])
def test_pack_refuses_with_one_line(case, tmp_path):
    src = tmp_path / "src"
    expected = {
        "no-workspace": "no iclab workspace here",
        "missing-file": "mapper.py is missing",
        "twice": "two workspaces for map-customer",
        "unknown-lab": "names lab 'nope', which does not exist",
        "link": "is a symbolic link",
        "too-big": "at most 1.0 MB",
    }[case]
    src.mkdir()
    if case == "missing-file":
        _workspace(src)
        (src / "mapper.py").unlink()
    elif case == "twice":
        _workspace(src / "a")
        _workspace(src / "b")
    elif case == "unknown-lab":
        (src / workspace.MARKER).write_text('lab = "nope"\n')
    elif case == "link":
        _workspace(src)
        (src / "mapper.py").unlink()
        (src / "mapper.py").symlink_to(ROOT / "solutions/map-customer/reference/mapper.py")
    elif case == "too-big":
        _workspace(src)
        (src / "mapper.py").write_text("#" * (MiB + 1))
    with pytest.raises(SubmissionError) as info:
        packing.pack(src, tmp_path / "out.zip")
    assert expected in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "out.zip").exists()
    assert not list(tmp_path.glob(".out.zip*"))  # no temporary left behind


# --------------------------------------------------------------------------- unpack: hostile input


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest(files: dict[str, bytes], labs=("map-customer",), **override) -> bytes:
    doc = {
        "schema": SCHEMA_ID, "tool_version": "0.1.0", "created": "2025-01-01T00:00:00Z", "labs": list(labs),
        "files": [{"path": p, "sha256": _sha(d), "size": len(d)} for p, d in sorted(files.items())],
    }
    doc.update(override)
    return json.dumps(doc).encode()


def _zip(path: Path, members, **kw) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names one case needs
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, **kw) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return path


def _good(extra=(), files=None, **manifest_override):
    files = files if files is not None else {"map-customer/mapper.py": REFERENCE}
    return [(MANIFEST, _manifest(files, **manifest_override)), *files.items(), *extra]


def _typed(name: str, kind: int, data: bytes = b"/etc/passwd") -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.create_system = 3
    info.external_attr = (kind | 0o777) << 16
    return info, data


EVIL_ABSOLUTE = f"/tmp/iclab-evil-{uuid.uuid4().hex}"


def zip_slip(tmp):
    return _zip(tmp / "a.zip", _good([("../../evil.py", b"import os")])), "path traversal"


def absolute(tmp):
    return _zip(tmp / "a.zip", _good([(EVIL_ABSOLUTE, b"x")])), "absolute path"


def backslash(tmp):
    return _zip(tmp / "a.zip", _good([("map-customer\\..\\..\\evil.py", b"x")])), "backslash"


def drive_letter(tmp):
    return _zip(tmp / "a.zip", _good([("C:/evil.py", b"x")])), "drive letter"


def symlink(tmp):
    link = _typed("map-customer/mapper.py", stat.S_IFLNK)
    files = {"map-customer/mapper.py": link[1]}
    return _zip(tmp / "a.zip", [(MANIFEST, _manifest(files)), link]), "symbolic link"


def fifo(tmp):
    return _zip(tmp / "a.zip", _good([_typed("map-customer/pipe", stat.S_IFIFO)])), "not a regular file"


def zeros_200mb(tmp):
    # 200 MB of zeros, compressed while streamed: never 200 MB in memory or on disk.
    path = tmp / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr(MANIFEST, _manifest({"map-customer/mapper.py": b""}))
        with zf.open("map-customer/mapper.py", "w") as fh:
            chunk = bytes(4 * MiB)
            for _ in range(50):
                fh.write(chunk)
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("map-customer/mapper.py").file_size == 200 * MiB
    return path, "zip bomb"


def bomb_under_size_limit(tmp):
    zeros = bytes(900 * 1024)
    return _zip(tmp / "a.zip", _good(files={"map-customer/mapper.py": zeros})), "compression ratio"


def oversized_member(tmp):
    noise = random.Random(7).randbytes(2 * MiB)  # incompressible, so only the size rule can catch it
    return _zip(tmp / "a.zip", _good(files={"map-customer/mapper.py": noise})), "at most 1.0 MB"


def header_lies_about_size(tmp):
    real = b"x = 1  # " + b"a" * (3 * MiB)  # 3 MB whose header will claim 100 bytes: no size or ratio rule fires
    path = _zip(tmp / "a.zip", [(MANIFEST, _manifest({"map-customer/mapper.py": b"x" * 100})),
                                ("map-customer/mapper.py", real)])
    blob = bytearray(path.read_bytes())
    central = blob.rfind(b"PK\x01\x02")  # the last member's central-directory record: mapper.py
    struct.pack_into("<L", blob, central + 24, 100)  # "uncompressed size: 100 bytes"
    local = blob.rfind(b"PK\x03\x04")
    struct.pack_into("<L", blob, local + 22, 100)
    path.write_bytes(bytes(blob))
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("map-customer/mapper.py").file_size == 100
    return path, "lies about its size"


def five_hundred_members(tmp):
    files = {f"map-customer/m{i:03}.py": b"" for i in range(499)}  # + the manifest = 500
    return _zip(tmp / "a.zip", _good(files=files)), "500 members"


def checksum_mismatch(tmp):
    helper = b"RULES = {}\n"
    files = {"map-customer/mapper.py": REFERENCE, "map-customer/zz_rules.py": helper}
    doc = json.loads(_manifest(files))
    doc["files"][1]["sha256"] = _sha(b"something else")
    # mapper.py is extracted before zz_rules.py fails: the refusal must remove it again.
    return _zip(tmp / "a.zip", [(MANIFEST, json.dumps(doc).encode()), *files.items()]), "does not match its sha256"


def size_mismatch(tmp):
    doc = json.loads(_manifest({"map-customer/mapper.py": REFERENCE}))
    doc["files"][0]["size"] += 1
    return _zip(tmp / "a.zip", [(MANIFEST, json.dumps(doc).encode()), ("map-customer/mapper.py", REFERENCE)]), "says"


def unknown_lab(tmp):
    files = {"no-such-lab/mapper.py": REFERENCE}
    return _zip(tmp / "a.zip", _good(files=files, labs=["no-such-lab"])), "names lab 'no-such-lab', which does not exist"


def not_a_zip(tmp):
    path = tmp / "a.zip"
    path.write_text("def map_account(a, l):\n    return {}\n")
    return path, "not a zip file"


def truncated_zip(tmp):
    path = _zip(tmp / "a.zip", _good())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path, "not a zip file"


def huge_file(tmp):
    path = tmp / "a.zip"
    with path.open("wb") as fh:
        fh.truncate(13 * MiB)  # sparse: costs no disk
    return path, "a submission is at most 12.0 MB"


def duplicate(tmp):
    return _zip(tmp / "a.zip", _good([("map-customer/mapper.py", b"x = 2\n")])), "appears twice"


def case_twins(tmp):
    return _zip(tmp / "a.zip", _good([("map-customer/MAPPER.py", b"x = 2\n")])), "differ only in case"


def file_and_folder(tmp):
    return _zip(tmp / "a.zip", _good([("map-customer/mapper.py/x.py", b"")])), "both a file and a folder"


def unlisted(tmp):
    return _zip(tmp / "a.zip", _good([("map-customer/extra.py", b"")])), "'map-customer/extra.py' is not listed"


def listed_but_absent(tmp):
    files = {"map-customer/mapper.py": REFERENCE, "map-customer/gone.py": b"1"}
    return _zip(tmp / "a.zip", [(MANIFEST, _manifest(files)), ("map-customer/mapper.py", REFERENCE)]), "no such member"


def no_manifest(tmp):
    return _zip(tmp / "a.zip", [("map-customer/mapper.py", REFERENCE)]), f"no {MANIFEST}"


def manifest_not_json(tmp):
    return _zip(tmp / "a.zip", [(MANIFEST, b"{nope"), ("map-customer/mapper.py", REFERENCE)]), "not valid JSON"


def manifest_wrong_schema(tmp):
    return _zip(tmp / "a.zip", _good(schema="iclab/submission/v9")), "does not follow iclab/submission/v1"


def manifest_path_outside_labs(tmp):
    files = {"csv-batch/nightly.py": b"1"}
    return _zip(tmp / "a.zip", _good(files=files)), "not inside the folder of a lab it names"


HOSTILE = [zip_slip, absolute, backslash, drive_letter, symlink, fifo, zeros_200mb, bomb_under_size_limit,
           oversized_member, header_lies_about_size, five_hundred_members, checksum_mismatch, size_mismatch,
           unknown_lab, not_a_zip, truncated_zip, huge_file, duplicate, case_twins, file_and_folder, unlisted,
           listed_but_absent, no_manifest, manifest_not_json, manifest_wrong_schema, manifest_path_outside_labs]


def _snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("build", HOSTILE, ids=lambda f: f.__name__.replace("_", "-"))
def test_hostile_zip_is_refused_and_leaves_nothing_behind(build, tmp_path):
    archive, problem = build(tmp_path)
    (tmp_path / "grading").mkdir()
    before = _snapshot(tmp_path)
    dest = tmp_path / "grading" / "dest"
    with pytest.raises(SubmissionError) as info:
        packing.unpack(archive, dest)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{archive}: refused: ")
    assert problem in message
    assert not dest.exists()
    assert _snapshot(tmp_path) == before  # nothing written anywhere, inside or outside dest
    assert not os.path.lexists(EVIL_ABSOLUTE)


def test_refusals_name_the_member(tmp_path):
    archive, _ = zip_slip(tmp_path)
    with pytest.raises(SubmissionError, match=re.escape("member '../../evil.py'")):
        packing.unpack(archive, tmp_path / "dest")


def test_a_refusal_empties_a_destination_it_did_not_create(tmp_path):
    archive, _ = checksum_mismatch(tmp_path)
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(SubmissionError):
        packing.unpack(archive, dest)
    assert dest.is_dir() and not any(dest.iterdir())


def test_unpack_wants_an_empty_destination(ws, tmp_path):
    archive = packing.pack(ws, tmp_path / "s.zip").out
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(SubmissionError, match="new or empty folder"):
        packing.unpack(archive, tmp_path / "busy")
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"


def test_folder_entries_and_helpers_in_a_hand_made_zip_are_fine(tmp_path):
    files = {"map-customer/mapper.py": REFERENCE, "map-customer/util/__init__.py": b""}
    archive = _zip(tmp_path / "s.zip", [("map-customer/", b""), ("map-customer/util/", b""),
                                        (MANIFEST, _manifest(files)), *files.items()])
    folders = packing.unpack(archive, tmp_path / "dest")
    assert (folders["map-customer"] / "util" / "__init__.py").is_file()
    assert _snapshot(tmp_path / "dest") == {"map-customer", "map-customer/mapper.py", "map-customer/util",
                                            "map-customer/util/__init__.py"}


# --------------------------------------------------------------------------- submission_labs


def test_submission_labs_unpacks_a_zip_into_the_workdir(ws, tmp_path):
    archive = packing.pack(ws, tmp_path / "s.zip").out
    folders = packing.submission_labs(archive, None, tmp_path / "work")
    assert list(folders) == ["map-customer"]
    assert folders["map-customer"].is_relative_to(tmp_path / "work")
    assert (folders["map-customer"] / "mapper.py").read_bytes() == REFERENCE


def test_submission_labs_refuses_a_hostile_zip(tmp_path):
    archive, _ = zip_slip(tmp_path)
    with pytest.raises(SubmissionError, match="path traversal"):
        packing.submission_labs(archive, ["map-customer"], tmp_path / "work")
    assert not (tmp_path / "work" / "unpacked").exists()


def test_submission_labs_folder_shapes(ws, tmp_path):
    work = tmp_path / "work"
    # a workspace
    assert packing.submission_labs(ws, None, work) == {"map-customer": ws}
    # <lab-id>/ subfolders, as an unzipped submission looks
    tree = tmp_path / "tree"
    (tree / "map-customer").mkdir(parents=True)
    (tree / "sql-recon").mkdir()
    (tree / "notes").mkdir()
    assert packing.submission_labs(tree, None, work) == {"map-customer": tree / "map-customer",
                                                          "sql-recon": tree / "sql-recon"}
    assert packing.submission_labs(tree, ["sql-recon"], work) == {"sql-recon": tree / "sql-recon"}
    # loose files: only with exactly one lab named
    loose = tmp_path / "loose"
    loose.mkdir()
    shutil.copyfile(ROOT / "solutions/map-customer/reference/mapper.py", loose / "mapper.py")
    assert packing.submission_labs(loose, ["map-customer"], work) == {"map-customer": loose}
    with pytest.raises(SubmissionError, match="cannot tell which lab"):
        packing.submission_labs(loose, None, work)
    # loose files inside one wrapper folder, as zipping a folder by hand makes
    wrapper = tmp_path / "wrapper"
    (wrapper / "my-work").mkdir(parents=True)
    shutil.copyfile(loose / "mapper.py", wrapper / "my-work" / "mapper.py")
    assert packing.submission_labs(wrapper, ["map-customer"], work) == {"map-customer": wrapper / "my-work"}


def test_submission_labs_gives_a_missing_lab_an_empty_folder_that_grades_as_missing(tmp_path):
    tree = tmp_path / "tree"
    (tree / "sql-recon").mkdir(parents=True)
    folders = packing.submission_labs(tree, ["map-customer", "sql-recon"], tmp_path / "work")
    assert folders["sql-recon"] == tree / "sql-recon"
    assert folders["map-customer"].is_dir() and not any(folders["map-customer"].iterdir())
    result = engine.grade(catalog.get_lab("map-customer"), folders["map-customer"])
    assert result.score == 0 and "the submission has no mapper.py" in result.problems


def test_submission_labs_rejects_a_workspace_of_another_lab_and_unknown_labs(ws, tmp_path):
    with pytest.raises(SubmissionError, match="is a map-customer workspace, not sql-recon"):
        packing.submission_labs(ws, ["sql-recon"], tmp_path / "work")
    with pytest.raises(UnknownLab):
        packing.submission_labs(ws, ["no-such-lab"], tmp_path / "work")
    with pytest.raises(SubmissionError, match="no such file or folder"):
        packing.submission_labs(tmp_path / "absent", None, tmp_path / "work")
