"""Errors a retry cannot fix: bad configuration and unknown names. Dagster assets turn them into a
failure that the retry policy skips (assets/materialize.py), so a typo fails in seconds, not minutes."""

from __future__ import annotations


class ConfigError(ValueError):
    """An option has a value no stage can run with; the message names the option."""


class UnknownNameError(ConfigError, KeyError):
    """A registry has no entry of that name; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""
