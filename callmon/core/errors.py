"""The exceptions callmon raises.

Every error callmon raises on purpose derives from :class:`CallmonError`, so a caller can catch
one type. Library exceptions are wrapped with ``raise ... from`` so the cause stays visible::

    CallmonError
    ├── ConfigError          a configuration file or value is wrong (file, key)
    ├── InputError           an input file cannot be read at all (file, line)
    │   └── FrameError       one AMI frame cannot be used (offset, reason)
    ├── StoreError           the database refused or cannot be reached (url without secrets)
    └── AmiError             talking to an AMI server failed
        └── AmiAuthError     the AMI server refused our credentials (never retried)
"""

from __future__ import annotations


class CallmonError(Exception):
    """Root of every error callmon raises on purpose."""


class ConfigError(CallmonError):
    """A configuration file or value is wrong."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None):
        where = ", ".join(p for p in (file, key and f"key {key!r}") if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.file = file
        self.key = key


class InputError(CallmonError):
    """An input file (capture, CDR, CEL, queue_log) cannot be used."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        where = file or ""
        if line is not None:
            where = f"{where}:{line}" if where else f"line {line}"
        super().__init__(f"{where}: {message}" if where else message)
        self.file = file
        self.line = line


class FrameError(InputError):
    """One AMI frame is malformed; the stream goes on without it."""


class StoreError(CallmonError):
    """The database cannot be reached or refused an operation."""


class AmiError(CallmonError):
    """Talking to an AMI server failed."""


class AmiAuthError(AmiError):
    """The AMI server refused the login; retrying would not help."""
