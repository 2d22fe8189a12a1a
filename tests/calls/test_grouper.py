"""The one grouper (callmon.calls.grouper): keys in, groups out, as the tracker, the file
assembler and the reconciliation use it."""

from __future__ import annotations

from callmon.calls.grouper import Grouper


def test_members_sharing_a_uniqueid_are_one_group():
    """A channel's Uniqueid named by two members puts them in one group, found under every key."""
    g: Grouper[str] = Grouper()
    caller = g.add(["1.1", "L1"], "caller Newchannel")
    other = g.add(["2.1", "L2"], "other call")
    agent = g.add(["1.2", "L1"], "agent Newchannel")  # the same Linkedid
    assert agent is caller and other is not caller
    pickup = g.add(["3.1", "1.2"], "pickup by 2003")  # a new channel that names the agent's
    assert pickup is caller
    assert {g.get(k) is caller for k in ("1.1", "1.2", "3.1", "L1")} == {True}
    assert g.get("2.1") is other and len(g) == 2


def test_a_transfer_key_joins_two_calls_into_one():
    """Two calls with keys of their own become one when a member names keys of both (a blind
    transfer's CEL row names the transferer's and the transferee's channels); the group keeps
    every key and every member, and ``on_merge`` sees the state of both."""
    merged = []
    g: Grouper[str] = Grouper(on_merge=lambda kept, gone: merged.append((kept.state, gone.state)),
                              new_state=dict)
    first = g.add(["a", "x"], "first call")
    first.state["first"] = True
    second = g.add(["b", "y"], "consultation")
    second.state["second"] = True
    one = g.add(["x", "y"], "BLINDTRANSFER")
    assert one.members == ["first call", "consultation", "BLINDTRANSFER"]
    assert one.keys == {"a", "b", "x", "y"}
    assert merged == [({"first": True}, {"second": True})]
    assert {g.get(k) is one for k in "abxy"} == {True} and len(g) == 1


def test_members_keep_their_order():
    """Within a group members stay in arrival order; a merge puts the group found first first,
    or sorts by ``order`` (stably) when one is given."""
    plain: Grouper[tuple] = Grouper()
    timed: Grouper[tuple] = Grouper(order=lambda m: m[1])
    for g in (plain, timed):
        g.add(["u1"], ("a", 3.0))
        g.add(["u2"], ("b", 1.0))
        g.add(["u2"], ("c", 3.0))
        g.add(["u1"], ("d", 2.0))
        g.add(["u1", "u2"], ("e", 4.0))
    assert [m[0] for m in plain.get("u1").members] == ["a", "d", "b", "c", "e"]
    assert [m[0] for m in timed.get("u1").members] == ["b", "d", "a", "c", "e"]  # a before c: a tie


def test_groups_idle_since_a_time_and_removed():
    """``last`` is the newest time a group was touched (also through a merge); ``idle(before)``
    lists the groups last touched earlier; ``remove`` forgets a group under all its keys."""
    g: Grouper[str] = Grouper()
    old = g.add(["o"], "old", 100.0)
    g.add(["o"], "old, late row written early", 50.0)
    young = g.add(["y"], "young", 200.0)
    assert old.last == 100.0 and young.last == 200.0
    assert g.idle(before=150.0) == [old]
    assert g.idle(before=100.0) == []
    joined = g.add(["o", "z"], "touch", 120.0)
    assert joined is old and joined.last == 120.0
    g.remove(old)
    assert g.get("o") is None and g.get("z") is None and g.groups() == [young]
    merged = g.add(["y", "w"], "w", None)  # no time: last unchanged
    assert merged.last == 200.0


def test_union_keeps_the_group_with_more_keys():
    """Merging relabels the smaller group's keys; members still follow the order of the keys."""
    g: Grouper[str] = Grouper()
    small = g.add(["s"], "small")
    big = g.add(["b1", "b2", "b3"], "big")
    one = g.add(["s", "b1"], "join")
    assert one is big and small is not big
    assert one.members == ["small", "big", "join"]
    assert one.keys == {"s", "b1", "b2", "b3"}
