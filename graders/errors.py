"""Every error iclab reports to a user, in one small tree.

    IclabError                  anything a user can act on (never a traceback)
    ├── UsageError              the command line names something that does not exist (exit 2)
    │   └── UnknownLab
    ├── ManifestError           a lab.toml or flaw.toml is malformed (names the file and field)
    ├── SubmissionError         a submission cannot be read or unpacked safely
    ├── WorkspaceError          a workspace is missing, foreign, or would be overwritten
    └── OutputError             an output cannot be written: read-only folder, full disk (exit 1)

Exit codes: 2 for what the user typed or gave (usage), 1 for the machine
(an environment failure the user fixes outside iclab). Anything else escaping
to the CLI is our bug: exit 3 with a short report.
"""
from __future__ import annotations

__all__ = ["IclabError", "UsageError", "UnknownLab", "ManifestError", "SubmissionError", "WorkspaceError",
           "OutputError"]


class IclabError(Exception):
    """Base of every error iclab explains to the user in one line."""

    exit_code = 1


class UsageError(IclabError):
    """The command names a lab, path or option that does not exist."""

    exit_code = 2


class UnknownLab(UsageError):
    """No lab has the given id."""


class ManifestError(IclabError):
    """A manifest file is malformed; the message names the file and the field."""

    exit_code = 2


class SubmissionError(IclabError):
    """A submission cannot be read, unpacked or run.

    ``str(exc)`` is for the instructor and may name paths on the grading
    machine; ``problem`` is the same fact for the learner, without them.
    """

    exit_code = 2

    def __init__(self, message: str, *, problem: str | None = None):
        super().__init__(message)
        self.problem = problem if problem is not None else message


class WorkspaceError(IclabError):
    """A learner workspace is missing, belongs to another lab, or would be overwritten."""

    exit_code = 2


class OutputError(IclabError):
    """An output file or folder cannot be written (permissions, a full disk): nothing half-written is left."""

    exit_code = 1
