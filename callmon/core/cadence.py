"""Ring cadences and ring counting.

A ring "count" is the number of ring bursts that have STARTED before the answer. A cadence is the
repeating on/off pattern of the ringback tone; ``rings_at(seconds)`` counts bursts started within
``seconds`` of the first ring, so the first burst counts at 0 s.

>>> KR.rings_at(2.5), KR.rings_at(3.0), KR.rings_at(7.5)
(1, 2, 3)
>>> answered_before_ring(5.9, limit=3, cadence=KR)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from callmon.core.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Cadence:
    """A ring pattern: alternating on/off durations in seconds, repeated (``pattern`` starts on)."""

    name: str
    pattern: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.pattern or len(self.pattern) % 2 or any(p < 0 for p in self.pattern) or self.period <= 0:
            raise ConfigError(f"cadence {self.name!r}: need on/off pairs of non-negative seconds, got {self.pattern}")

    @property
    def period(self) -> float:
        return float(sum(self.pattern))

    @property
    def burst_starts(self) -> tuple[float, ...]:
        """Offsets of the bursts that start within one period (uk: two bursts a period)."""
        starts, t = [], 0.0
        for i, d in enumerate(self.pattern):
            if i % 2 == 0:
                starts.append(t)
            t += d
        return tuple(starts)

    def rings_at(self, seconds: float) -> int:
        """Bursts started at or before ``seconds`` after ringing started (>= 1 once ringing)."""
        if seconds < 0:
            return 0
        full, rest = divmod(seconds, self.period)
        # a hair of tolerance: an answer exactly on a burst boundary counts that burst
        return int(full) * len(self.burst_starts) + sum(1 for s in self.burst_starts if s <= rest + 1e-9)

    def start_of_ring(self, n: int) -> float:
        """Seconds after ringing started at which burst ``n`` (1-based) starts."""
        per = len(self.burst_starts)
        k, i = divmod(n - 1, per)
        return k * self.period + self.burst_starts[i]


KR = Cadence("kr", (1.0, 2.0))
US = Cadence("us", (2.0, 4.0))
UK = Cadence("uk", (0.4, 0.2, 0.4, 2.0))
PROFILES = {c.name: c for c in (KR, US, UK)}


def cadence_from(value: str | list | tuple | Cadence) -> Cadence:
    """A profile name (``kr``, ``us``, ``uk``) or an explicit on/off list, as the config gives it."""
    if isinstance(value, Cadence):
        return value
    if isinstance(value, str):
        try:
            return PROFILES[value.lower()]
        except KeyError:
            raise ConfigError(f"unknown cadence {value!r}; known: {', '.join(PROFILES)} or a list of on/off seconds") from None
    try:
        pattern = tuple(float(x) for x in value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"cadence must be a name or a list of seconds, got {value!r}") from exc
    return Cadence("custom", pattern)


def answered_before_ring(ring_seconds: float, *, limit: int, cadence: Cadence) -> bool:
    """True when the answer came before burst ``limit`` started (the charter's 'before the 3rd ring')."""
    return ring_seconds < cadence.start_of_ring(limit) and not math.isclose(ring_seconds, cadence.start_of_ring(limit))
