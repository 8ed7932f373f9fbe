"""Errors of the runtime that a user causes or can fix; the CLI prints them without a traceback."""

from __future__ import annotations

from archspec.errors import UserError


class RunError(UserError):
    """A problem with what the user asked the runtime to do (exit 1, message only)."""


class InputError(RunError):
    """An input file that is missing, unreadable or does not fit the model."""


class ProviderError(RunError):
    """An execution provider that was asked for and is not available; never silently replaced."""
