"""The iclab command line: a thin shell over the graders and mock_services packages.

Each command parses, calls one core function, renders. Exit codes: 0 when the
work finished (whatever the score), 1 for --fail-under or failed proofs,
2 for usage errors, 3 for an internal fault (our bug).
"""
from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import click

from graders import __version__, catalog, engine, hints, workspace
from graders.errors import IclabError
from graders.render import FORMATS
from graders.render.table import table


class _Failure(click.ClickException):
    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.exit_code = code

    def show(self, file=None) -> None:
        click.echo(f"iclab: {self.format_message()}", err=True)


def _color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="iclab")
def cli() -> None:
    """Hands-on integration labs and their grader."""


@cli.command("list")
def list_cmd() -> None:
    """List the labs with your progress in each."""
    state = workspace.State.load()
    rows = []
    for lab in catalog.all_labs():
        entry = state.lab(lab.id)
        if "best" in entry:
            status = f"best {entry['best']:g}/{entry.get('max', 100):g}"
        elif "workspace" in entry:
            status = "in progress"
        else:
            status = "not started"
        rows.append([lab.id, f"{lab.minutes} min", lab.difficulty, ", ".join(lab.skills[:3]), status])
    click.echo(table(["lab", "time", "level", "skills", "status"], rows), nl=False)


@cli.command()
@click.argument("lab_id", metavar="LAB")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def start(lab_id: str, directory: Path | None) -> None:
    """Copy LAB's starter into DIRECTORY (default ./LAB) to work in."""
    lab = catalog.get_lab(lab_id)
    dest = workspace.start(lab, directory or Path(lab.id))
    click.echo(f"started {lab.id} in {dest}")
    click.echo(f"the ticket: {dest / 'README.md'}")
    click.echo(f"edit {', '.join(lab.files)}, run `pytest` there, then `iclab check {dest}`; stuck? `iclab hint {lab.id}`")


@cli.command()
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-tests", is_flag=True, help="Skip the visible tests; show only the grader's verdicts.")
def check(directory: Path, no_tests: bool) -> None:
    """Run the visible tests, then the grader, on the workspace in DIRECTORY."""
    from graders.visible_tests import run_visible_tests

    lab_id, root = workspace.find(directory)
    lab = catalog.get_lab(lab_id)
    if not no_tests:
        run = run_visible_tests(root)
        click.echo(f"visible tests: {run.passed} passed, {run.failed + run.errors} failed ({run.summary})")
    result = engine.grade(lab, root, label=str(root))
    click.echo(FORMATS["text"](result, color=_color()), nl=False)
    workspace.State.load().record_score(lab.id, result.score, result.max_score)


@cli.command()
@click.argument("lab_id", metavar="LAB")
@click.option("--reset", is_flag=True, help="Start the hints again from the first.")
def hint(lab_id: str, reset: bool) -> None:
    """Show LAB's next hint (they get more specific each time)."""
    lab = catalog.get_lab(lab_id)
    if reset:
        hints.reset_hints(lab)
        click.echo(f"hints for {lab.id} reset")
        return
    h = hints.next_hint(lab)
    note = "" if h.fresh else " (no more hints; this was the last)"
    click.echo(f"hint {h.number} of {h.total}: {h.title}{note}\n\n{h.body}")


@cli.command()
@click.argument("lab_id", metavar="LAB")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
@click.option("--fail-under", type=click.FloatRange(0, 100), help="Exit 1 when the score is below this percentage.")
def grade(lab_id: str, path: Path, fmt: str, output: Path | None, fail_under: float | None) -> None:
    """Grade the submission at PATH against LAB's hidden checks."""
    lab = catalog.get_lab(lab_id)
    if not path.exists():
        raise _Failure(f"{path}: no such file or folder", 2)
    if not path.is_dir():
        raise _Failure(f"{path}: not a folder (give the folder that holds {', '.join(lab.files)})", 2)
    result = engine.grade(lab, path)
    text = FORMATS[fmt](result, color=_color() and output is None and fmt == "text")
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{lab.id}: {result.score:g}/{result.max_score:g} -> {output}", err=True)
    else:
        click.echo(text, nl=False)
    if any(engine.INTERNAL in p for p in result.problems):
        raise _Failure("the grader hit an internal error (see the result); please report it", 3)
    if fail_under is not None and result.percent < fail_under:
        raise _Failure(f"score {result.percent:g}% is under --fail-under {fail_under:g}", 1)


@cli.command()
@click.argument("lab_ids", metavar="[LAB]...", nargs=-1)
@click.option("--skip-visible", is_flag=True, help="Skip running the visible tests (faster).")
def verify(lab_ids: tuple[str, ...], skip_visible: bool) -> None:
    """Prove labs: reference at full marks, flaws lose exactly their checks, visible tests agree."""
    from graders.verify import verify_lab

    ids = list(lab_ids) or catalog.lab_ids()
    for lab_id in ids:
        catalog.get_lab(lab_id)
    bad = 0
    for lab_id in ids:
        proof = verify_lab(lab_id, visible=not skip_visible)
        click.echo(f"{lab_id}: {'ok' if proof.ok else 'FAILED'}")
        for p in proof.proofs:
            click.echo(f"  {'ok  ' if p.ok else 'FAIL'} {p.name}: {p.detail}")
        bad += not proof.ok
    if bad:
        raise _Failure(f"{bad} of {len(ids)} labs failed verification", 1)


@cli.command()
@click.option("--lab", "lab_ids", multiple=True, help="Only these labs (repeatable).")
def demo(lab_ids: tuple[str, ...]) -> None:
    """Grade every bundled sample submission (references and flawed solutions) and print who scored what."""
    from graders.samples import samples

    rows = []
    for sample in samples(list(lab_ids) or None):
        result = engine.grade(catalog.get_lab(sample.lab), sample.folder, label=sample.name)
        lost = ", ".join(c.id for c in result.failed()) or "-"
        rows.append([sample.lab, sample.name, f"{result.score:g}/{result.max_score:g}", f"{result.duration:.2f}s", lost])
    click.echo(table(["lab", "submission", "score", "time", "checks lost"], rows), nl=False)


def main() -> None:
    """Console entry point: user errors get one line; our bugs get exit 3."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except IclabError as exc:
        click.echo(f"iclab: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception:
        click.echo("iclab: internal error (our bug, please report it):", err=True)
        click.echo(traceback.format_exc(limit=6), err=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
