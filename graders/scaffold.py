"""``iclab new``: a lab that verifies at once, in a lab pack of the author's own.

The scaffold is a small but complete lab: a ticket with numbered criteria,
lab.toml, a starter with a stub and visible tests, two hints, hidden checks
written against the documented checks API (hidden data per criterion, its
coverage written down), a reference and one realistic flaw. The author then
replaces its content criterion by criterion, running ``iclab verify`` as they go.
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from . import packs, paths
from .errors import UsageError

__all__ = ["Scaffold", "new_lab"]

_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Scaffold:
    lab_id: str
    pack: Path
    files: tuple[Path, ...]


def _files(lab_id: str, module: str) -> dict[str, str]:
    title = lab_id.replace("-", " ").capitalize()
    return {
        f"labs/{lab_id}/lab.toml": f'''\
            id = "{lab_id}"
            title = "{title}: clean a country code"
            summary = "Trim and upper-case a two-letter country code; refuse blanks with ValueError."
            minutes = 20
            difficulty = "foundation"
            skills = ["data-mapping", "validation"]
            dimensions = ["API & data skills"]
            files = ["solution.py"]          # what the learner edits = what a submission must contain
            services = []                    # mock services the lab talks to (see mock_services)

            [[entry_points]]
            name = "clean_code"
            module = "solution"
            signature = "(value: str | None) -> str"

            [limits]
            call_timeout = 5.0
            libraries = []                   # installed libraries the learner's code may import
            ''',
        f"labs/{lab_id}/README.md": f'''\
            # {title}: clean a country code

            ## Business context

            Accounts arrive from a CRM whose users type country codes by hand: in any case, with
            spaces around them, sometimes not at all. The ERP accepts only upper-case codes.
            (This is the example `iclab new` writes: replace it with your own ticket.)

            ## Acceptance criteria

            1. `clean_code` returns the code with surrounding whitespace (spaces, tabs, newlines)
               removed and its letters upper-cased.
            2. A blank value (None, an empty string, or only whitespace) raises `ValueError`.

            ## Interface contract

            You edit one file, `solution.py`:

            ```python
            def clean_code(value: str | None) -> str: ...
            ```

            `clean_code(" gb ")` returns `"GB"`; `clean_code("  ")` raises `ValueError`.

            ## How to run

            ```console
            $ pytest          # the visible tests
            $ iclab check     # the hidden checks, criterion by criterion
            ```

            ## Out of scope

            - Checking that the code is a real ISO 3166 country.
            ''',
        f"labs/{lab_id}/hints.md": '''\
            ## Whitespace is more than spaces

            `str.strip()` with no argument removes tabs and newlines too.

            ## Blank means nothing left

            Test the value after stripping: `None`, `""` and `"   "` are all blank.
            ''',
        f"labs/{lab_id}/starter/solution.py": '''\
            """Clean a country code typed by hand in the CRM."""
            from __future__ import annotations


            def clean_code(value: str | None) -> str:
                """The code trimmed and upper-cased; ValueError when it is blank."""
                raise NotImplementedError("write clean_code")
            ''',
        f"labs/{lab_id}/starter/test_solution.py": '''\
            """Visible tests: run them with `pytest`."""
            import pytest

            from solution import clean_code


            def test_a_padded_lower_case_code_is_cleaned():
                assert clean_code(" gb ") == "GB"


            @pytest.mark.parametrize("blank", [None, "", "   "])
            def test_a_blank_code_is_refused(blank):
                with pytest.raises(ValueError):
                    clean_code(blank)
            ''',
        f"fixtures/{lab_id}/codes.txt": " gb \nDE\n\tus\n",
        f"graders/{module}.py": f'''\
            """Hidden checks for {lab_id}: hidden data per criterion, judged in the grader (docs/authoring.md)."""
            from __future__ import annotations

            import random
            from dataclasses import dataclass

            from graders.checks import Grader, failed, passed
            from graders.evidence import mismatch_table, show
            from graders.results import Dimension

            CODES = ("GB", "DE", "US", "JP", "BR", "ZA", "IN", "NZ", "MX", "SG")
            BLANKS = (None, "", "   ", "\\t\\n")


            @dataclass(frozen=True)
            class Hidden:
                messy: tuple[tuple[str, str], ...]   # (what the CRM holds, the clean code)


            def make_hidden(rng: random.Random) -> Hidden:
                """Every code in each case and with whitespace of each kind on each side (seeded)."""
                forms = (str.lower, str.title, str.upper)
                pads = (("", ""), (" ", ""), ("", "  "), ("\\t", "\\n"), (" \\n", "\\t "))
                messy = []
                for i, code in enumerate(CODES):
                    before, after = pads[i % len(pads)]
                    messy.append((before + forms[rng.randrange(len(forms))](code) + after, code))
                return Hidden(tuple(messy))


            grader = Grader(seed=20260101, data=make_hidden, preload=True, coverage={{
                1: ("lower, title and upper case — make_hidden() forms",
                    "spaces, tabs and newlines before, after and on both sides — make_hidden() pads"),
                2: ("None and the empty string — BLANKS", "only spaces, or only tabs and newlines — BLANKS"),
            }})


            @grader.probe("messy")
            def _messy(run):
                return run.call_many("solution:clean_code", [(given,) for given, _ in run.data.messy])


            @grader.probe("blanks")
            def _blanks(run):
                return run.call_many("solution:clean_code", [(blank,) for blank in BLANKS])


            @grader.check("cleans-codes", title="Codes come back trimmed and upper-cased", points=60,
                          skill="data-mapping", dimension=Dimension.API_DATA, criterion=1, probe="messy")
            def check_cleans(records, data):
                rows = []
                for record, (given, want) in zip(records, data.messy):
                    if not record.ok:
                        rows.append((show(given), [record.problem()]))
                    elif record.value != want:  # a wrong type is a wrong answer, never a crash
                        rows.append((show(given), [f"expected {{want!r}}, got {{show(record.value, 60)}}"]))
                if rows:
                    return failed(f"{{len(rows)}} of {{len(records)}} codes came back wrong", mismatch_table(rows, len(records)))
                return passed(f"all {{len(records)}} codes trimmed and upper-cased")


            @grader.check("rejects-blanks", title="Blank values raise ValueError", points=40,
                          skill="validation", dimension=Dimension.API_DATA, criterion=2, probe="blanks")
            def check_blanks(records, data):
                rows = []
                for record, blank in zip(records, BLANKS):
                    if record.ok:
                        rows.append((show(blank), [f"expected ValueError, got {{show(record.value, 60)}}"]))
                    elif record.error is None or record.error.type != "ValueError":
                        rows.append((show(blank), [f"expected ValueError, but {{record.problem()}}"]))
                if rows:
                    return failed(f"{{len(rows)}} of {{len(BLANKS)}} blank values were not refused with ValueError",
                                  mismatch_table(rows, len(BLANKS)))
                return passed(f"all {{len(BLANKS)}} blank values refused with ValueError")
            ''',
        f"solutions/{lab_id}/reference/solution.py": '''\
            """Clean a country code typed by hand in the CRM."""
            from __future__ import annotations


            def clean_code(value: str | None) -> str:
                """The code trimmed and upper-cased; ValueError when it is blank."""
                cleaned = (value or "").strip()
                if not cleaned:
                    raise ValueError("the country code is blank")
                return cleaned.upper()
            ''',
        f"solutions/{lab_id}/flawed/only-spaces-trimmed/solution.py": '''\
            """Clean a country code typed by hand in the CRM."""
            from __future__ import annotations


            def clean_code(value: str | None) -> str:
                """The code trimmed and upper-cased; ValueError when it is blank."""
                cleaned = (value or "").strip(" ")
                if not cleaned:
                    raise ValueError("the country code is blank")
                return cleaned.upper()
            ''',
        f"solutions/{lab_id}/equivalent-mutants.toml": '''\
            # Mutants of the reference that no input the ticket allows tells apart from it, each with the
            # reason (`iclab verify --mutants --stanzas` prints an entry to paste under each survivor).

            [[equivalent]]
            id = "argument-ebec68efbd"
            where = "solution.py:9"
            reason = "the ticket asks for a ValueError on a blank value, not for any message: no check reads it"

            [[equivalent]]
            id = "string-3c12523eac"
            where = "solution.py:9"
            reason = "the message of the ValueError is not part of the contract (same as above)"

            [[equivalent]]
            id = "string-51edfa1868"
            where = "solution.py:9"
            reason = "the message of the ValueError is not part of the contract (same as above)"
            ''',
        f"solutions/{lab_id}/flawed/only-spaces-trimmed/flaw.toml": '''\
            mistake = "Strips spaces only, so tabs and newlines around a code (and a blank made of them) get through."
            fails = ["cleans-codes", "rejects-blanks"]
            ''',
    }


def new_lab(lab_id: str, pack: Path) -> Scaffold:
    """Write a new lab into the pack at ``pack`` (made if missing); UsageError if the id is taken or bad."""
    if not _ID.match(lab_id) or len(lab_id) > 40:
        raise UsageError(f"{lab_id!r} is not a lab id: lower-case letters, digits and single hyphens, "
                         "starting with a letter (e.g. erp-customer-sync)")
    pack = Path(pack).resolve()
    from . import catalog

    if lab_id in _known_ids():
        raise UsageError(f"a lab {lab_id!r} already exists ({catalog.get_lab(lab_id).folder}); pick another id")
    module = lab_id.replace("-", "_")
    checks = paths.BUILTIN_CHECKS if pack == paths.ROOT.resolve() else pack / "graders"
    written = []
    for rel, text in _files(lab_id, module).items():
        target = pack / rel
        if rel.startswith("graders/"):
            target = checks / rel.removeprefix("graders/")
        if target.exists():
            raise UsageError(f"{target} already exists; `iclab new` never overwrites")
    for rel, text in _files(lab_id, module).items():
        target = checks / rel.removeprefix("graders/") if rel.startswith("graders/") else pack / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text), encoding="utf-8")
        written.append(target)
    packs.discover.cache_clear()
    return Scaffold(lab_id, pack, tuple(written))


def _known_ids() -> set[str]:
    from . import catalog

    try:
        return set(catalog.lab_ids())
    except UsageError:
        return set()
