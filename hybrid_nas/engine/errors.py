"""The user-facing exception family: every message is one line that says what is wrong and what to do."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class HybridNasError(Exception):
    """Base of every error a user can cause; the CLI prints it as one line, never a traceback."""

    exit_code = 2  # the CLI's exit status: 2 for a command refused before any work


class ConfigError(HybridNasError, ValueError):
    """A bad argument, option or configuration file."""


class SpaceError(HybridNasError, ValueError):
    """An architecture that does not belong to its search space (unknown decision or option)."""


class StorageError(HybridNasError):
    """The trial store cannot be read or written (corrupt file, foreign schema, locked database)."""


class DataError(HybridNasError):
    """A data set or table that is missing or malformed."""


class RunFailed(HybridNasError):
    """A run that ran but produced nothing: every trial failed. Its trials and report are kept."""

    exit_code = 1


def did_you_mean(given: object, choices: Iterable[object]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    names = [str(c) for c in choices]
    close = difflib.get_close_matches(str(given), names, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown(kind: str, given: object, choices: Iterable[object]) -> str:
    """The message for a name that is not among the choices: names them and suggests the closest."""
    choices = list(choices)
    shown = ", ".join(repr(str(c)) for c in choices[:12]) + (", ..." if len(choices) > 12 else "")
    return f"unknown {kind} {str(given)!r}{did_you_mean(given, choices)}; expected one of {shown}"
