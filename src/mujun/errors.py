"""Typed errors for misuse and bad configuration; the CLI turns each into one actionable line.

Bad *data* never raises (it becomes rows in the ``issues`` table); these are for problems the user
must fix before anything can run: a missing directory, an invalid source profile, a busy store.
"""

from __future__ import annotations


class MujunError(Exception):
    """Base class: a message for the user and an optional hint on how to fix it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(MujunError):
    """A rule set, source profile or setting is invalid."""


class InputError(MujunError):
    """A path or argument given by the user cannot be used."""


class StoreError(MujunError):
    """The DuckDB store cannot be opened or is in an unexpected state."""


class StoreBusyError(StoreError):
    """Another process (usually ``mujun serve``) holds the store for writing."""
