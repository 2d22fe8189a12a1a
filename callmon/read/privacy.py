"""Who may see what: roles, and the one masking rule (DESIGN.md, "Personal data") applied by the
read side to every number it hands out.

Roles: ``viewer`` always sees masked numbers; ``supervisor`` and ``admin`` see them masked too,
and may ask for full numbers (``reveal``), which the caller writes to the access log
(:mod:`callmon.service.users`). Only ``admin`` manages users and reads the access log. The
command line runs as the machine's operator: full numbers (:data:`OPERATOR`).

>>> v = Viewer("kim", "viewer")
>>> v.number("010-1234-5678"), v.number("2001")
('010-****-5678', '2001')
>>> OPERATOR.number("010-1234-5678")
'010-1234-5678'
>>> Viewer("lee", "supervisor").revealed().number("010-1234-5678")
'010-1234-5678'
>>> v.text("Local/01012345678@from-internal-00000104;1"), v.text("PJSIP/2002-00000104")
('Local/010-****-5678@from-internal-00000104;1', 'PJSIP/2002-00000104')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Iterable

from callmon.core.roles import MAY_READ_ACCESS_LOG, MAY_REVEAL, ROLES
from callmon.metrics.numbers import MASK_STYLES, mask

__all__ = ["MAY_READ_ACCESS_LOG", "MAY_REVEAL", "NotAllowed", "OPERATOR", "ROLES", "Viewer"]
# the fields that hold a phone number (a staff extension is left as it is by mask())
NUMBER_FIELDS = frozenset({"caller", "called", "answered_by", "number", "customer_number", "endpoint",
                           "dialled"})
# free text that may carry a number inside (a channel name Local/01012345678@...)
TEXT_FIELDS = frozenset({"channel", "hangup_channel", "answered_leg"})
# not after "-": a channel's sequence number (PJSIP/2002-00000104) is no phone number
_LONG_DIGITS = re.compile(r"(?<![-\d])\+?\d{7,}")


class NotAllowed(PermissionError):
    """The role may not do this (see full numbers, manage users)."""


@dataclass(frozen=True)
class Viewer:
    """Who reads: a user name, a role, whether full numbers were asked for (and may be shown),
    and the masking style (config ``[privacy] mask``)."""

    user: str | None
    role: str = "viewer"
    reveal: bool = False
    style: str = "middle"
    region: str = "KR"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {self.role!r}")
        if self.style not in MASK_STYLES:
            raise ValueError(f"mask style must be one of {', '.join(MASK_STYLES)}, got {self.style!r}")
        if self.reveal and self.role not in MAY_REVEAL:
            raise NotAllowed(f"a {self.role} may not see full numbers")

    @property
    def may_reveal(self) -> bool:
        return self.role in MAY_REVEAL

    @property
    def full_numbers(self) -> bool:
        """Does this viewer get numbers unmasked?"""
        return self.reveal or self.style == "none"

    def revealed(self) -> Viewer:
        """The same viewer asking for full numbers (:class:`NotAllowed` for a viewer)."""
        return replace(self, reveal=True)

    def number(self, value: str | None) -> str | None:
        """A number as this viewer may see it."""
        if value is None or self.full_numbers:
            return value
        return mask(value, self.style, self.region)

    def text(self, value: str | None) -> str | None:
        """Free text (a channel name) with any long run of digits masked."""
        if value is None or self.full_numbers:
            return value
        return _LONG_DIGITS.sub(lambda m: mask(m.group(0), self.style, self.region), value)

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        """A record (and its ``legs``) with every number field masked as this viewer may see it."""
        if self.full_numbers:
            return row
        out = dict(row)
        for key, value in row.items():
            if key in NUMBER_FIELDS and isinstance(value, str):
                out[key] = self.number(value)
            elif key in TEXT_FIELDS and isinstance(value, str):
                out[key] = self.text(value)
            elif key == "key" and isinstance(value, str) and "/" in value:  # an obligation's NUMBER/...
                number, rest = value.split("/", 1)
                out[key] = f"{self.number(number)}/{rest}"
            elif key == "legs" and isinstance(value, list):
                out[key] = [self.row(leg) for leg in value]
        return out

    def rows(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.row(r) for r in rows]

    def frame(self, frame):
        """A DataFrame with its number columns masked (a copy; the same frame when unmasked)."""
        if self.full_numbers:
            return frame
        out = frame.copy()
        for col in out.columns:
            if col in NUMBER_FIELDS:
                out[col] = out[col].map(lambda v: self.number(v) if isinstance(v, str) else v)
            elif col in TEXT_FIELDS:
                out[col] = out[col].map(lambda v: self.text(v) if isinstance(v, str) else v)
        return out


# the command line's operator: full numbers, as the commands have always printed them
OPERATOR = Viewer(None, "admin", reveal=True)
