"""Every error iclab reports to a user, in one small tree.

    IclabError                  anything a user can act on (never a traceback)
    ├── UsageError              the command line names something that does not exist (exit 2)
    │   └── UnknownLab
    ├── ManifestError           a lab.toml or flaw.toml is malformed (names the file and field)
    ├── SubmissionError         a submission cannot be read or unpacked safely
    └── WorkspaceError          a workspace is missing, foreign, or would be overwritten

Anything else escaping to the CLI is our bug: exit 3 with a short report.
"""
from __future__ import annotations

__all__ = ["IclabError", "UsageError", "UnknownLab", "ManifestError", "SubmissionError", "WorkspaceError"]


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
    """A submission cannot be read, unpacked or run."""

    exit_code = 2


class WorkspaceError(IclabError):
    """A learner workspace is missing, belongs to another lab, or would be overwritten."""

    exit_code = 2
