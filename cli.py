"""The iclab command line: a thin shell over the graders and mock_services packages.

Each command parses, calls one core function, renders. Exit codes: 0 when the
work finished (whatever the score), 1 for --fail-under, failed proofs or an
environment failure (an output that cannot be written: read-only folder, full
disk), 2 for usage errors, 3 for an internal fault (our bug), 130 for Ctrl+C.
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
@click.option("--labs", "lab_packs", multiple=True, metavar="PATH",
              help="A lab pack folder to use besides the built-in labs (repeatable; also ICLAB_LABS_PATH).")
def cli(lab_packs: tuple[str, ...]) -> None:
    """Hands-on integration labs and their grader."""
    from graders import packs

    packs.configure(lab_packs)


@cli.command("list")
def list_cmd() -> None:
    """List the labs with your progress in each: checks run, best score, criteria still failing."""
    state = workspace.State.load()
    rows = []
    catalog.require_labs()  # finding no lab is an error that says where iclab looked, never an empty table
    for lab in catalog.all_labs():
        entry = state.lab(lab.id)
        best = entry.get("best")
        if isinstance(best, (int, float)):
            status = f"best {best:g}/{entry.get('max', 100):g}"
        elif "workspace" in entry:
            status = "in progress"
        else:
            status = "not started"
        attempts = entry.get("attempts")
        failing = entry.get("failing")
        if state.solved(lab.id):
            left = "none: see `iclab solution`"
        elif isinstance(failing, list) and failing:
            left = ", ".join(str(f).split(" ")[0] for f in failing[:8]) + (" ..." if len(failing) > 8 else "")
        else:
            left = "-"
        rows.append([lab.id, f"{lab.minutes} min", lab.difficulty, ", ".join(lab.skills[:2]), status,
                     str(attempts) if isinstance(attempts, int) else "0", left])
    click.echo(table(["lab", "time", "level", "skills", "progress", "checks", "still failing"], rows), nl=False)


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


def _tests_line(run) -> list[str]:
    lines = [f"visible tests: {run.passed} passed, {run.failed + run.errors} failed ({run.summary})"]
    return lines + [f"note: {note}" for note in run.notes]


@cli.command()
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-tests", is_flag=True, help="Skip the visible tests; show only the grader's verdicts.")
def check(directory: Path, no_tests: bool) -> None:
    """Run the visible tests and the grader on the workspace in DIRECTORY (side by side)."""
    from graders.trainee import check_workspace

    lab_id, root = workspace.find(directory)
    lab = catalog.get_lab(lab_id)
    done = check_workspace(lab, root, tests=not no_tests)
    if done.tests is not None:
        click.echo("\n".join(_tests_line(done.tests)))
    click.echo(FORMATS["text"](done.result, color=_color()), nl=False)
    for note in done.notes:
        click.echo(f"note: {note}")


@cli.command()
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--poll", is_flag=True, help="Look for saved files every half second instead of waiting for file events.")
def watch(directory: Path, poll: bool) -> None:
    """Re-run the visible tests and the grader on DIRECTORY's workspace whenever you save a file.

    Keys: h shows the next hint, c checks now, q quits.
    """
    from graders.watch import watch as watch_loop

    lab_id, root = workspace.find(directory)
    watch_loop(catalog.get_lab(lab_id), root, poll=poll)


@cli.command()
@click.argument("lab_id", metavar="LAB")
@click.argument("directory", required=False, type=click.Path(file_okay=False, exists=True, path_type=Path))
def solution(lab_id: str, directory: Path | None) -> None:
    """Once LAB scores 100, show the reference solution beside your files; before that, what is left."""
    import shutil

    from graders.render.text import side_by_side
    from graders.trainee import solution as reveal

    lab = catalog.get_lab(lab_id)
    if directory is not None:
        found, directory = workspace.find(directory)
        if found != lab.id:
            raise _Failure(f"{directory} is a {found} workspace, not {lab.id}", 2)
    shown = reveal(lab, directory)
    if not shown.solved:
        if shown.best is None:
            click.echo(f"{lab.id}: not checked yet. The reference is shown once your work scores full marks: "
                       f"`iclab check` in your workspace{f' ({shown.workspace})' if shown.workspace else ''}.")
            return
        click.echo(f"{lab.id}: your best is {shown.best:g}/{shown.max_score or 100:g} after {shown.attempts} "
                   f"check{'s' if shown.attempts != 1 else ''}; the reference is shown once it scores full marks.")
        if shown.failing:
            click.echo("still failing at your last check:")
            for label in shown.failing:
                click.echo(f"  {label}")
        click.echo(f"stuck? `iclab hint {lab.id}`")
        return
    width = shutil.get_terminal_size((120, 40)).columns
    for rel, mine, ref in shown.pairs:
        click.echo(side_by_side(f"yours: {rel}" if mine is not None else f"{rel} (not in your workspace)", mine or "",
                                f"reference: {rel}", ref, width))
    where = f"; the reference files are also in {shown.written}/ to open beside yours" if shown.written else ""
    click.echo(f"{lab.id}: solved ({shown.best:g}/{shown.max_score:g}){where}")


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
    import tempfile

    from graders.packing import submission_labs

    lab = catalog.get_lab(lab_id)
    if not path.exists():
        raise _Failure(f"{path}: no such file or folder", 2)
    with tempfile.TemporaryDirectory(prefix="iclab-grade-") as tmp:
        folder = submission_labs(path, [lab.id], Path(tmp))[lab.id]
        result = engine.grade(lab, folder, label=path.stem if path.is_file() else path.name)
    text = FORMATS[fmt](result, color=_color() and output is None and fmt == "text")
    if output:
        from graders import atomic

        atomic.ensure_folder(output.parent)
        atomic.write_text(output, text)  # never a truncated result file, whatever happens mid-write
        click.echo(f"{lab.id}: {result.score:g}/{result.max_score:g} -> {output}", err=True)
    else:
        click.echo(text, nl=False)
    if any(engine.INTERNAL in p for p in result.problems):
        raise _Failure("the grader hit an internal error (see the result); please report it", 3)
    if fail_under is not None and result.percent < fail_under:
        raise _Failure(f"score {result.percent:g}% is under --fail-under {fail_under:g}", 1)


@cli.command()
@click.argument("lab_ids", metavar="LAB...", nargs=-1, required=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=Path("bundle.zip"), show_default=True)
def export(lab_ids: tuple[str, ...], output: Path) -> None:
    """Write a take-home bundle for candidates: tickets, starters, fixtures; no hidden checks or solutions."""
    from graders.bundle import export as export_bundle

    summary = export_bundle(list(lab_ids), output)
    click.echo(f"{output}: {len(summary.files)} files for {', '.join(summary.labs)} ({summary.size // 1024} KiB, sha256 {summary.sha256[:12]})")


@cli.command()
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=Path("submission.zip"), show_default=True)
def submit(directory: Path, output: Path) -> None:
    """Pack your workspace (or a folder of workspaces) into one submission file with checksums."""
    from graders.packing import pack

    summary = pack(directory, output)
    click.echo(f"{output}: {', '.join(summary.labs)}; {len(summary.files)} files, sha256 {summary.sha256[:12]}")
    for rel in summary.unchanged:
        click.echo(f"note: {rel} is unchanged from the starter", err=True)


@cli.command()
@click.argument("lab_id", metavar="LAB")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=Path("autograder.zip"), show_default=True)
def gradescope(lab_id: str, output: Path) -> None:
    """Build a Gradescope autograder package (setup.sh, run_autograder) for LAB."""
    from graders.gradescope_package import build_autograder

    build_autograder(lab_id, output)
    click.echo(f"{output}: upload it as the autograder of a Gradescope programming assignment for {lab_id}")


@cli.command()
@click.argument("lab_ids", metavar="[LAB]...", nargs=-1)
@click.option("--skip-visible", is_flag=True, help="Skip running the visible tests (faster).")
@click.option("--mutants", is_flag=True,
              help="Also grade every mutant of the reference and require a mutation score (survivors shown with their diff).")
@click.option("--min-score", type=click.FloatRange(0, 100), default=90.0, show_default=True,
              help="With --mutants: the mutation score a lab needs.")
@click.option("--stanzas", is_flag=True,
              help="With --mutants: print an equivalent-mutants.toml entry under each survivor, to fill in once reviewed.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), help="With --mutants: parallel gradings (default: two per core).")
def verify(lab_ids: tuple[str, ...], skip_visible: bool, mutants: bool, min_score: float, stanzas: bool,
           jobs: int | None) -> None:
    """Prove labs: reference at full marks, flaws lose exactly their checks, visible tests agree."""
    from graders.verify import verify_lab

    ids = list(lab_ids) or catalog.require_labs()
    for lab_id in ids:
        catalog.get_lab(lab_id)
    bad = 0
    reports = []
    for lab_id in ids:
        progress = _MutantProgress(lab_id, sys.stderr.isatty()) if mutants else None
        proof = verify_lab(lab_id, visible=not skip_visible, mutants=mutants, min_score=min_score, jobs=jobs,
                           on_progress=progress)
        click.echo(f"{lab_id}: {'ok' if proof.ok else 'FAILED'}")
        for p in proof.proofs:
            click.echo(f"  {'ok  ' if p.ok else 'FAIL'} {p.name}: {p.detail}")
        if proof.mutation is not None:
            from graders.render.mutation import report_text

            reports.append(proof.mutation)
            click.echo(report_text(proof.mutation, min_score=min_score, stanzas=stanzas), nl=False)
        bad += not proof.ok
    if len(reports) > 1:
        from graders.render.mutation import summary_table

        click.echo("")
        click.echo(summary_table(reports), nl=False)
    if bad:
        raise _Failure(f"{bad} of {len(ids)} labs failed verification", 1)


@cli.command()
@click.argument("lab_id", metavar="LAB-ID")
@click.option("--pack", "pack", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="The lab pack folder to write into (made if missing).")
def new(lab_id: str, pack: Path) -> None:
    """Scaffold a new lab that passes `iclab verify` at once: ticket, starter, hints, checks, reference, a flaw."""
    from graders.scaffold import new_lab

    made = new_lab(lab_id, pack)
    for path in made.files:
        click.echo(f"  {path.relative_to(made.pack)}")
    labs = "" if _pack_known(made.pack) else f"--labs {made.pack} "
    click.echo(f"made {lab_id} in the lab pack {made.pack}; prove it with `iclab {labs}verify {lab_id}`")


def _pack_known(folder: Path) -> bool:
    from graders import packs

    return any(p.root == folder.resolve() for p in packs.discover())


class _MutantProgress:
    """Mutants graded so far, in place on a terminal; nothing in logs (the summary follows)."""

    def __init__(self, lab_id: str, tty: bool):
        self.lab_id, self.tty = lab_id, tty

    def __call__(self, done: int, total: int) -> None:
        if self.tty:
            click.echo(f"\r{self.lab_id}: mutant {done}/{total} ", nl=False, err=True)
            if done == total:
                click.echo("\r" + " " * (len(self.lab_id) + 30) + "\r", nl=False, err=True)


@cli.command()
@click.option("--lab", "lab_ids", multiple=True, help="Only these labs (repeatable).")
def demo(lab_ids: tuple[str, ...]) -> None:
    """Grade every bundled sample submission (references and flawed solutions) and print who scored what."""
    from concurrent.futures import ThreadPoolExecutor

    from graders.batch.runner import default_jobs
    from graders.samples import samples

    todo = samples(list(lab_ids) or None)
    click.echo(f"grading {len(todo)} sample submissions ({default_jobs()} at a time)...", err=True)

    def one(sample):
        return sample, engine.grade(catalog.get_lab(sample.lab), sample.folder, label=sample.name)

    rows = []
    with ThreadPoolExecutor(default_jobs()) as pool:
        for sample, result in pool.map(one, todo):
            lost = ", ".join(c.id for c in result.failed()) or "-"
            rows.append([sample.lab, sample.name, f"{result.score:g}/{result.max_score:g}", f"{result.duration:.2f}s", lost])
    click.echo(table(["lab", "submission", "score", "time", "checks lost"], rows), nl=False)


def _isolation_line() -> str:
    """Which sandbox grades this run: instructors grading hostile cohorts need to know."""
    from graders.sandbox import isolation

    if isolation.detect() == isolation.Isolation.NAMESPACE:
        return "sandbox: Linux namespaces (each learner's code is PID 1 of its own namespaces, file system read-only)"
    return ("sandbox: process isolation only (no usable namespaces here: not root, and unprivileged user "
            "namespaces are off); learner code could signal the grader. On Ubuntu 24.04 runners: "
            "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0")


def _stderr_columns() -> int:
    """The width of the terminal the bar is drawn on (stderr's, which stdout's may not be)."""
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns or 80
    except (OSError, ValueError):
        import shutil

        return shutil.get_terminal_size().columns


class _ProgressPrinter:
    """A bar with rate and ETA on a terminal, redrawn in place; a plain line every tenth of the way in CI logs.

    The bar never reaches the terminal's last column (a line that long wraps, and every redraw would
    then start a new line): it shrinks, then goes, on narrow terminals.
    """

    def __init__(self, tty: bool, columns: int | None = None):
        self.tty, self.columns, self.next_line, self.drawn = tty, columns, 0, 0

    def line(self, p, width: int) -> str:
        """The progress line for a terminal ``width`` columns wide: at most width - 1 characters."""
        eta = f"{p.eta:.0f}s" if p.eta is not None else "?"
        for tail in (f" {p.done}/{p.total}  {p.rate:.1f}/s  eta {eta}", f" {p.done}/{p.total} eta {eta}",
                     f" {p.done}/{p.total}"):
            room = width - 1 - len(tail) - 2
            if room >= 10:
                filled = int(min(room, 30) * p.done / max(1, p.total))
                return f"[{'#' * filled}{'.' * (min(room, 30) - filled)}]{tail}"
            if len(tail) <= width - 1:
                return tail.lstrip()
        return f"{p.done}/{p.total}"[: max(1, width - 1)]

    def __call__(self, p) -> None:
        if p.done == 0:
            if p.already:
                click.echo(f"resuming: {p.already} gradings already in the journal, {p.total} left to grade", err=True)
            return
        if self.tty:
            text = self.line(p, self.columns or _stderr_columns())
            click.echo("\r" + text + " " * max(0, self.drawn - len(text)), nl=False, err=True)
            self.drawn = len(text)
            if p.done == p.total:
                click.echo("", err=True)
                self.drawn = 0
        elif p.done >= self.next_line or p.done == p.total:
            eta = f"{p.eta:.0f}s" if p.eta is not None else "?"
            click.echo(f"graded {p.done}/{p.total} ({p.rate:.1f}/s, eta {eta})", err=True)
            self.next_line = p.done + max(1, p.total // 10)

    def interrupted(self) -> None:
        if self.tty and self.drawn:
            click.echo("", err=True)
            self.drawn = 0


def _jobs_help() -> str:
    from graders.batch.runner import default_jobs

    return f"Parallel gradings (default: two per core, at least 2; {default_jobs()} on this machine)."


@cli.command()
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option("--labs", "labs", multiple=True, help="Grade every submission on these labs (default: the labs each holds).")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), help=_jobs_help())
@click.option("--shard", help="K/N: grade only this deterministic share (one CI job of N).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("iclab-out"), show_default=True)
def batch(submissions: Path, labs: tuple[str, ...], jobs: int | None, shard: str | None, out: Path) -> None:
    """Grade every submission in SUBMISSIONS (one folder or .zip per learner); resumable."""
    from graders import gradebook
    from graders.batch import Interrupted, make_plan, run_batch

    plan = make_plan(submissions, list(labs) or None, shard)
    click.echo(f"{len(plan.units)} gradings planned for {plan.learners} learners (shard {plan.shard[0]}/{plan.shard[1]}) "
               f"-> {out}", err=True)
    if plan.ungradable:
        click.echo(f"{len(plan.ungradable)} of them hold nothing to grade (each is in the gradebook with the reason):",
                   err=True)
        for line in plan.skipped[:10]:
            click.echo(f"  {line}", err=True)
        if len(plan.ungradable) > 10:
            click.echo(f"  ... and {len(plan.ungradable) - 10} more (SELECT * FROM learners WHERE status <> 'graded')",
                       err=True)
    click.echo(_isolation_line(), err=True)
    progress = _ProgressPrinter(sys.stderr.isatty())
    try:
        summary = run_batch(plan, out, jobs=jobs, on_progress=progress)
    except Interrupted:
        progress.interrupted()
        raise
    info = gradebook.build(out, [out / "journal.jsonl"])
    click.echo(f"graded {summary.graded} now, {summary.resumed} already in the journal, in {summary.elapsed:.1f}s; "
               f"gradebook: {info.path} ({info.submissions} learners, {info.ungradable} of them not graded; "
               f"{info.gradings} gradings)")
    if summary.failed_units:
        for line in summary.failed_units[:10]:
            click.echo(f"internal error: {line}", err=True)
        raise _Failure(f"{len(summary.failed_units)} gradings hit an internal error; rerun to retry them", 3)
    if not plan.cohort_gradable:  # an empty run is never a green one
        what = "no folder or .zip" if not plan.cohort else f"nothing gradable in its {plan.cohort} entries (see {out})"
        raise _Failure(f"{submissions}: {what}; nothing was graded", 2)
    if not plan.units:
        click.echo(f"shard {plan.shard[0]}/{plan.shard[1]} holds none of the cohort's gradable submissions", err=True)


@cli.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True)
def merge(folders: tuple[Path, ...], out: Path) -> None:
    """Join the outputs of sharded `iclab batch` runs, and reviewers' copies of them, into one gradebook."""
    from graders.batch.merge import merge as merge_runs

    done = merge_runs(list(folders), out)
    info = done.info
    what = (f"{done.shards} shards" if done.copies == done.shards
            else f"{done.copies} folders ({done.shards} shard{'s' if done.shards != 1 else ''}, reviewers' copies)")
    click.echo(f"merged {what}: {info.path} ({info.submissions} learners, {info.ungradable} of them "
               f"not graded; {info.gradings} gradings)")
    for note in done.notes:
        click.echo(f"note: {note}", err=True)
    if done.reviewers:
        click.echo(f"reviews by {', '.join(done.reviewers)}: {len(done.disputed)} rubric item"
                   f"{'s' if len(done.disputed) != 1 else ''} where reviewers disagree by more than one level")
        for learner, lab, item, levels in done.disputed[:20]:
            click.echo(f"  disputed: {learner} {lab} {item} ({levels})")
        if len(done.disputed) > 20:
            click.echo(f"  ... and {len(done.disputed) - 20} more (SELECT * FROM review_results WHERE status = 'disputed')")
        if done.disputed:
            click.echo(f"settle them with `iclab review {out}`: a level entered there replaces the reviewers'")


@cli.command()
@click.argument("out", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--reviewer", help="Your name, recorded with every score (default: your user name).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0 picks a free port.")
@click.option("--show-names", is_flag=True, help="Show learners' names from the start (hidden until all are reviewed).")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default browser.")
def review(out: Path, reviewer: str | None, port: int, show_names: bool, open_browser: bool) -> None:
    """Score the rubric items of a batch's learners in a local web page (127.0.0.1, a token in the URL).

    One learner at a time, names hidden: their answers beside the rubric, their automatic results
    alongside. Scores are saved to OUT/reviews.jsonl as you enter them and land in the gradebook.
    """
    import getpass

    from graders.review.server import ReviewServer

    server = ReviewServer(out, reviewer=reviewer or getpass.getuser(), show_names=show_names, port=port)
    done, total = server.cohort.progress(server.book)
    click.echo(f"reviewing {total} learners in {out} as {server.reviewer} ({done} reviewed so far); Ctrl+C stops")
    click.echo(f"open {server.url}", err=False)
    sys.stdout.flush()
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    done, total = server.cohort.progress(server.book)
    click.echo(f"stopped: {done} of {total} learners reviewed; scores in {out / 'reviews.jsonl'}, "
               f"gradebook {out / 'gradebook.duckdb'}")


@cli.group()
def gradebook() -> None:
    """Query a batch run's gradebook (a DuckDB file)."""


@gradebook.command("query")
@click.argument("sql")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("iclab-out"), show_default=True,
              help="The batch output folder holding gradebook.duckdb.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
def gradebook_query(sql: str, out: Path, as_csv: bool) -> None:
    """Run one read-only SQL query (tables: learners, lab_results, check_results; see docs/gradebook.md)."""
    import csv
    import io

    from graders import gradebook as gb

    columns, rows = gb.query(out / gb.DB_NAME, sql)
    if as_csv:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        writer.writerows(rows)
        click.echo(buf.getvalue(), nl=False)
    else:
        click.echo(table(columns, [["" if v is None else str(v) for v in row] for row in rows]), nl=False)


@cli.group()
def mock() -> None:
    """Run the fake enterprise systems the HTTP labs talk to."""


@mock.command("list")
def mock_list() -> None:
    """List the mock services and their scenarios."""
    import mock_services

    rows = [[s.name, ", ".join(s.scenarios), s.summary] for s in mock_services.list_services()]
    click.echo(table(["service", "scenarios", "what it is"], rows), nl=False)


@mock.command("serve")
@click.argument("name")
@click.option("--scenario", default="happy", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), help="Default: the service's usual port.")
@click.option("--seed", type=int, default=0, show_default=True)
def mock_serve(name: str, scenario: str, port: int | None, seed: int) -> None:
    """Serve mock NAME on 127.0.0.1 until Ctrl+C (for curl, Postman or your own client)."""
    import mock_services

    try:
        mock_services.serve_forever(name, scenario=scenario, port=port, seed=seed, echo=click.echo)
    except mock_services.MockServiceError as exc:
        raise _Failure(str(exc), 2) from None


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
    except OSError as exc:
        from graders.atomic import ENVIRONMENT_ERRNOS

        if exc.errno not in ENVIRONMENT_ERRNOS:
            _internal_error()
        # The machine, not iclab (a read-only folder, a full disk, no permission): one line, exit 1.
        where = exc.filename or exc.filename2
        click.echo(f"iclab: {str(where) + ': ' if where else ''}{(exc.strerror or str(exc)).lower()}", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception:
        _internal_error()


def _internal_error() -> None:
    click.echo("iclab: internal error (our bug, please report it):", err=True)
    click.echo(traceback.format_exc(limit=6), err=True)
    sys.exit(3)


if __name__ == "__main__":
    main()
