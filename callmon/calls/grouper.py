"""The one grouper: things that share an id are one call.

Asterisk names a call by several ids: each channel's ``Uniqueid``, the call's ``Linkedid``, and
the ids a transfer, a pickup or a queue join. The AMI tracker (events), the file assembler (rows
of Master.csv, CEL and queue_log) and the reconciliation of their records (calls) all put each
member under its ids, and two groups that come to share one id become one group. This module is
that, and only that: keys in, groups out, no Asterisk knowledge; the callers decide which ids a
member has (and keep kinds of ids apart by prefixing them, as ``"ch:"`` names a channel).

A :class:`Group` holds its keys, its members in order, and the time it was last touched; its
``state`` is the owner's (the tracker keeps the channels still up there).

>>> g = Grouper()
>>> a = g.add(["1700.1"], "caller's Newchannel", 10.0)
>>> b = g.add(["1700.2"], "agent's Newchannel", 11.0)
>>> a is b
False
>>> c = g.add(["1700.1", "1700.2"], "their Bridge", 12.0)  # shares an id with both: one call
>>> c.members, sorted(c.keys), c.last
(["caller's Newchannel", "agent's Newchannel", 'their Bridge'], ['1700.1', '1700.2'], 12.0)
>>> len(g), [x.members[-1] for x in g.idle(before=13.0)]
(1, ['their Bridge'])
"""

from __future__ import annotations

from typing import Any, Callable, Generic, Hashable, Iterable, Iterator, TypeVar

M = TypeVar("M")

__all__ = ["Group", "Grouper"]


class Group(Generic[M]):
    """One call so far: every key that names it, its members, the newest time it was touched."""

    __slots__ = ("keys", "members", "last", "state")

    def __init__(self) -> None:
        self.keys: set[Hashable] = set()
        self.members: list[M] = []
        self.last = float("-inf")
        self.state: Any = None

    def __repr__(self) -> str:
        return f"Group({len(self.members)} members, {len(self.keys)} keys, last={self.last})"


class Grouper(Generic[M]):
    """Members under keys; groups that share a key are merged.

    ``order``: when given, a merged group's members are sorted by it (stably: on a tie, the group
    found first keeps its members first); otherwise they are the first group's followed by the
    other's. Arrival order is always kept within a group. ``on_merge(kept, gone)`` lets the owner
    merge its ``state`` before ``gone`` disappears. Keys are relabelled from the group with fewer
    keys, so a long chain of merges costs no more than its keys (union by size).
    """

    def __init__(self, *, order: Callable[[M], Any] | None = None,
                 on_merge: Callable[[Group[M], Group[M]], None] | None = None,
                 new_state: Callable[[], Any] | None = None):
        self._order = order
        self._on_merge = on_merge
        self._new_state = new_state
        self._by_key: dict[Hashable, Group[M]] = {}

    def add(self, keys: Iterable[Hashable], member: M, at: float | None = None) -> Group[M]:
        """Put ``member`` (touched at time ``at``) under ``keys``; the group it is in now.

        Groups found under different keys are merged, in the order of the keys."""
        group = self.place(keys, at)
        group.members.append(member)
        return group

    def place(self, keys: Iterable[Hashable], at: float | None = None) -> Group[M]:
        """The group of ``keys`` (merged, or new), without a member: the owner appends to it."""
        by_key = self._by_key
        group = None
        keys = keys if isinstance(keys, (list, tuple)) else list(keys)
        for k in keys:
            g = by_key.get(k)
            if g is None or g is group:
                continue
            group = g if group is None else self._merge(group, g)
        if group is None:
            group = Group()
            if self._new_state is not None:
                group.state = self._new_state()
        gkeys = group.keys
        for k in keys:
            if k not in gkeys:
                gkeys.add(k)
                by_key[k] = group
        if at is not None and at > group.last:
            group.last = at
        return group

    def _merge(self, first: Group[M], other: Group[M]) -> Group[M]:
        """One group of two; ``first``'s members come first (on a tie of ``order``)."""
        members = first.members + other.members
        if self._order is not None:
            members.sort(key=self._order)
        kept, gone = (first, other) if len(first.keys) >= len(other.keys) else (other, first)
        if self._on_merge is not None:
            self._on_merge(kept, gone)
        by_key = self._by_key
        for k in gone.keys:
            by_key[k] = kept
        kept.keys |= gone.keys
        kept.members = members
        if gone.last > kept.last:
            kept.last = gone.last
        return kept

    def get(self, key: Hashable) -> Group[M] | None:
        """The group under ``key``, if any."""
        return self._by_key.get(key)

    def remove(self, group: Group[M]) -> None:
        """Forget ``group`` and its keys (a call that ended)."""
        by_key = self._by_key
        for k in group.keys:
            if by_key.get(k) is group:
                del by_key[k]

    def groups(self) -> list[Group[M]]:
        """Every group, in order of their first key."""
        return list({id(g): g for g in self._by_key.values()}.values())

    def idle(self, before: float) -> list[Group[M]]:
        """The groups last touched before ``before`` (calls no later row can join)."""
        return [g for g in self.groups() if g.last < before]

    def __len__(self) -> int:
        return len(self.groups())

    def __iter__(self) -> Iterator[Group[M]]:
        return iter(self.groups())
