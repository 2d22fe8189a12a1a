"""Which endpoints are staff phones and which are the outside world: the one definition.

A PBX does not say which of its endpoints are phones on a desk and which are trunks, and many
name their phones (``SIP/agent1``, ``PJSIP/1001-desk``, Wazo's ``SIP/as2mkq``), so a pattern on
the name alone misreads them. What the PBX does show, call after call, is evidence; the AMI
handlers and the file readers each turn what they see into :class:`Sighting` records (one per
channel of a call) and :class:`Parties` decides from them, the same way for every source:

strong evidence
  - the configuration: the directory names the endpoint, or an explicit
    ``staff_endpoint_pattern`` (the default pattern, 2-6 digits, makes a numbered endpoint a phone);
  - a queue dialled it (queue members are staff);
  - its own caller ID when its channel was created: a phone's is its extension, always the same
    short number; a trunk's is the outside caller's, long or changing;
  - it was dialled with an outside number (a trunk: ``Dial(PJSIP/0105555@pstn-out)``).
weak evidence
  - it was dialled as a short number, or nothing is known: the endpoint is taken for a phone
    (dialled as an extension) or for the outside world, and ``ingest``/``listen`` warn once with
    the line of configuration that would settle it.

What was learnt is kept per PBX (:meth:`Parties.learn`, stored by ``storage``), so a later call
with weaker evidence, a rebuild and ``callmon endpoints`` see the same classes.

>>> p = Parties(Config())
>>> p.classify("agent1", [Sighting("agent1", own_number="2001")])
Endpoint(endpoint='agent1', kind='staff', evidence='own caller ID is extension 2001', strong=True, extension='2001')
>>> p.classify("carrier", [Sighting("carrier", own_number="01055501234", started=True)]).kind
'outside'
"""

from __future__ import annotations

import re
from collections import OrderedDict
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from callmon.core.config import DEFAULT_STAFF_PATTERN, Config

SHORT = re.compile(r"^\d{2,6}$")  # an extension
LONG = re.compile(r"^\+?\d{7,}$")  # a number of the public network
_SEPARATORS = re.compile(r"[/:]")
LEARNT_MEMORY = 200_000  # call ids remembered as learnt from
MAX_NUMBERS = 4  # own numbers remembered per endpoint (more than one already means a trunk)


@lru_cache(maxsize=16_384)
def number_of(text: str | None) -> str:
    """A caller ID or dialled number as digits, '' for none (``<unknown>``, ``s``, a name).

    >>> number_of("<unknown>"), number_of("01055551234@pstn-out"), number_of("agent1")
    ('', '01055551234', '')
    >>> number_of("carrier/sip:01055501234@192.0.2.1")
    '01055501234'

    """
    if not text:
        return ""
    text = _SEPARATORS.split(text.split("@", 1)[0])[-1]  # PJSIP/trunk/sip:0105...@host: 0105...
    return text if SHORT.match(text) or LONG.match(text) else ""


@dataclass(frozen=True, slots=True)
class Sighting:
    """What one call shows about one endpoint, normalised from AMI, CEL or CDR.

    ``own_number``: the channel's caller ID when it was created; ``started``: the channel began the
    call (it was not dialled); ``dialled_as``: the number it was dialled with (a leg);
    ``queue_member``: a queue dialled it.
    """

    endpoint: str
    own_number: str = ""
    started: bool = False
    dialled_as: str = ""
    queue_member: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An endpoint's class (``staff`` | ``outside``), the evidence it rests on, and, for a phone,
    the extension the PBX gave it (None when it never said)."""

    endpoint: str
    kind: str
    evidence: str
    strong: bool
    extension: str | None = None


@dataclass
class Evidence:
    """Everything seen about one endpoint, across calls (what storage keeps)."""

    own_numbers: list[str] = field(default_factory=list)  # distinct, at most MAX_NUMBERS
    outside_numbers: int = 0  # calls it brought in from a long number
    dialled_outside: int = 0  # times it was dialled with a long number
    dialled_short: list[str] = field(default_factory=list)  # short numbers it was dialled as
    queue_member: bool = False
    first_seen: float | None = None
    last_seen: float | None = None
    calls: int = 0

    def add(self, s: Sighting) -> bool:
        """Add one sighting; True when it changed what :func:`decide` reads (not only counts)."""
        changed = False
        own = number_of(s.own_number)
        if own and SHORT.match(own):
            if own not in self.own_numbers and len(self.own_numbers) < MAX_NUMBERS:
                self.own_numbers.append(own)
                changed = True
        elif own:
            changed = changed or not self.outside_numbers
            self.outside_numbers += 1
        dialled = number_of(s.dialled_as)
        if dialled and LONG.match(dialled):
            changed = changed or not self.dialled_outside
            self.dialled_outside += 1
        elif dialled and dialled not in self.dialled_short and len(self.dialled_short) < MAX_NUMBERS:
            self.dialled_short.append(dialled)
            changed = True
        if s.queue_member and not self.queue_member:
            self.queue_member = changed = True
        return changed

    def merged(self, sightings: Iterable[Sighting]) -> Evidence:
        out = Evidence(list(self.own_numbers), self.outside_numbers, self.dialled_outside, list(self.dialled_short),
                       self.queue_member, self.first_seen, self.last_seen, self.calls)
        for s in sightings:
            out.add(s)
        return out


def _shape(s: Sighting) -> tuple[str, str, bool]:
    own, dialled = number_of(s.own_number), number_of(s.dialled_as)
    return ("L" if LONG.match(own) else own), ("L" if LONG.match(dialled) else dialled), s.queue_member


def decide(endpoint: str, ev: Evidence, config: Config) -> Endpoint:
    """The class of ``endpoint`` given the evidence: the one definition of "staff"."""
    own = ev.own_numbers[0] if len(ev.own_numbers) == 1 else None
    # the extension the PBX gave a phone: its own caller ID, else the one number it was dialled as
    ext = own if own is not None else (ev.dialled_short[0] if len(ev.dialled_short) == 1 and not ev.own_numbers else None)
    if endpoint in config.directory:
        return Endpoint(endpoint, "staff", "in the directory", True, endpoint)
    explicit = config.staff_endpoint_pattern != DEFAULT_STAFF_PATTERN
    if config.is_staff_endpoint(endpoint):
        return Endpoint(endpoint, "staff", f"name matches staff_endpoint_pattern {config.staff_endpoint_pattern}",
                        True, endpoint if SHORT.match(endpoint) else ext)
    if explicit:
        return Endpoint(endpoint, "outside", "name does not match the configured staff_endpoint_pattern", True)
    if own is not None and own in config.directory:
        return Endpoint(endpoint, "staff", f"own caller ID is extension {own}, in the directory", True, own)
    if ev.queue_member:
        return Endpoint(endpoint, "staff", "a queue member", True, ext)
    if ev.outside_numbers or len(ev.own_numbers) > 1:
        return Endpoint(endpoint, "outside", "brings in callers with outside or changing numbers", True)
    if ev.dialled_outside:  # before its caller ID: a trunk may be given the calling phone's
        return Endpoint(endpoint, "outside", "dialled with outside numbers", True)
    if own is not None:
        return Endpoint(endpoint, "staff", f"own caller ID is extension {own}", True, own)
    if ev.dialled_short:
        if ext is not None and ext in config.directory:
            return Endpoint(endpoint, "staff", f"dialled as extension {ext}, in the directory", True, ext)
        return Endpoint(endpoint, "staff", f"dialled as extension {', '.join(ev.dialled_short)}", False, ext)
    return Endpoint(endpoint, "outside", "no evidence: taken for the outside world", False)


def settle_line(e: Endpoint) -> str:
    """The configuration that settles an endpoint's class (for the weak-evidence warning)."""
    if e.kind == "staff":
        return f'[directory] "{e.extension or e.endpoint}" = {{ name = "…" }}'
    return f"[pbx] staff_endpoint_pattern = '...' (a pattern matching the staff phones, not {e.endpoint!r})"


class Parties:
    """Staff or outside for the endpoints of a PBX, from each call's evidence and what was learnt.

    ``classify(endpoint, sightings)`` decides one endpoint for one call (this call's sightings
    and everything learnt before); ``learn(sightings, at)`` keeps a finished call's evidence;
    ``known`` is what storage loads and saves.
    """

    def __init__(self, config: Config, known: Mapping[str, Evidence] | None = None):
        self.config = config
        self.known: dict[str, Evidence] = dict(known or {})
        self._cache: dict[str, Endpoint] = {}
        self._by_shape: dict[str, dict[tuple, Endpoint]] = {}  # endpoint -> a call's sightings' shape -> class
        self.dirty: set[str] = set()  # endpoints learnt about since :meth:`take_dirty`
        self._learnt: OrderedDict[str, None] = OrderedDict()  # calls learnt from (a call derived again is not)

    def classify(self, endpoint: str, sightings: Iterable[Sighting] = ()) -> Endpoint:
        mine = [s for s in sightings if s.endpoint == endpoint]
        if not mine:
            hit = self._cache.get(endpoint)
            if hit is None:
                hit = self._cache[endpoint] = decide(endpoint, self.known.get(endpoint) or Evidence(), self.config)
            return hit
        # a call's sightings as decide() reads them (an outside number is any outside number):
        # calls that show the same are decided once
        key = tuple(map(_shape, mine))
        seen = self._by_shape.setdefault(endpoint, {})
        hit = seen.get(key)
        if hit is None:
            hit = decide(endpoint, (self.known.get(endpoint) or Evidence()).merged(mine), self.config)
            if len(seen) < 1000:
                seen[key] = hit
        return hit

    def of_call(self, sightings: Iterable[Sighting]) -> dict[str, Endpoint]:
        """Every endpoint of one call's sightings, classified."""
        sightings = list(sightings)
        return {e: self.classify(e, sightings) for e in dict.fromkeys(s.endpoint for s in sightings)}

    def learn(self, sightings: Iterable[Sighting], at: float | None, *, calls: int = 1,
              last: float | None = None, call_id: str | None = None) -> set[str]:
        """Keep one call's evidence (or, with ``calls``, that of so many calls that showed the same
        sightings, from ``at`` to ``last``); returns the endpoints it touched. A ``call_id``
        learnt from recently (the call derived again as more of its sources arrive) adds nothing."""
        touched: set[str] = set()
        if call_id is not None:
            if call_id in self._learnt:
                return touched
            self._learnt[call_id] = None
            if len(self._learnt) > LEARNT_MEMORY:
                self._learnt.popitem(last=False)
        last = at if last is None else last
        for s in sightings:
            ev = self.known.get(s.endpoint)
            if ev is None:
                ev = self.known[s.endpoint] = Evidence()
            if ev.add(s):  # what decide() reads changed: decide again
                self._cache.pop(s.endpoint, None)
                self._by_shape.pop(s.endpoint, None)
            if s.endpoint not in touched:
                ev.calls += calls
                if at is not None:
                    ev.first_seen = at if ev.first_seen is None else min(ev.first_seen, at)
                if last is not None:
                    ev.last_seen = last if ev.last_seen is None else max(ev.last_seen, last)
            touched.add(s.endpoint)
        self.dirty |= touched
        return touched

    def take_dirty(self) -> set[str]:
        """The endpoints learnt about since the last call (to store them), and forget them."""
        dirty, self.dirty = self.dirty, set()
        return dirty

    def endpoints(self) -> list[tuple[Endpoint, Evidence]]:
        """What was learnt: every endpoint's class and evidence."""
        return [(self.classify(e), ev) for e, ev in sorted(self.known.items())]
