"""The monitoring domain: templates, the sample plan, matching, automatic items, scores, grades,
calibration and the transcript check (pure; no database)."""

from __future__ import annotations

import doctest

import pytest

from callmon.core.errors import ConfigError
from callmon.monitoring import matching, sampling, scoring, template, transcript
from callmon.monitoring.matching import CallbackFacts, CallFacts, TestCall, match_all, match_one
from callmon.monitoring.sampling import Person, plan
from callmon.monitoring.scoring import calibration, compare, group_scores, parse_mark, score_call
from callmon.monitoring.template import DEFAULT, template_from_toml

NUM = "+821010000001"


def test_doctests_of_the_monitoring_modules_pass():
    """The examples in the docstrings are true."""
    for mod in (matching, sampling, scoring, template, transcript):
        assert doctest.testmod(mod).failed == 0


def test_default_template_weighs_100_and_round_trips_through_toml():
    """The charter's form sums to 100 points; its TOML reads back as the same template."""
    assert DEFAULT.total_weight == 100
    assert template_from_toml(DEFAULT.to_toml()) == DEFAULT
    assert [i.key for i in DEFAULT.items if i.automatic] == ["answer_speed", "hangup", "callback"]


def test_edited_template_changes_weights_grades_and_version():
    """Items, weights, cut-offs and the version come from the TOML."""
    text = DEFAULT.to_toml().replace("version = 1", "version = 2").replace('min = 90', 'min = 95')
    t = template_from_toml(text)
    assert t.version == 2 and t.grade(94) == "우수" and t.grade(95) == "매우우수"


@pytest.mark.parametrize("bad, key", [
    ('name = "x"\n[[items]]\nkey = "Bad Key"\nweight = 1\n[[grades]]\nlabel="a"\nmin=0', "items[1].key"),
    ('name = "x"\n[[items]]\nkey = "a"\nweight = -1\n[[grades]]\nlabel="a"\nmin=0', "items[1].weight"),
    ('name = "x"\n[[items]]\nkey = "a"\nweight = 1\napplies = "sometimes"\n[[grades]]\nlabel="a"\nmin=0', "items[1].applies"),
    ('name = "x"\n[[items]]\nkey = "a"\nweight = 1', "grades"),
])
def test_bad_template_names_file_and_key(bad, key):
    """A wrong template value is refused with the file and the key."""
    with pytest.raises(ConfigError, match=rf"form\.toml, key '{key}'".replace("[", r"\[").replace("]", r"\]")):
        template_from_toml(bad, file="form.toml")


PEOPLE = [Person("2001", "Kim", "민원팀"), Person("2002", "Lee", "민원팀"), Person("2003", "Park", "요금팀")]


def test_plan_is_reproducible_with_its_seed_and_differs_with_another():
    """The same seed gives the same plan; another seed another order."""
    a = plan(PEOPLE, ["E1", "E2"], seed=1, per_person=3)
    assert a == plan(PEOPLE, ["E1", "E2"], seed=1, per_person=3)
    assert a != plan(PEOPLE, ["E1", "E2"], seed=2, per_person=3)
    assert [c.seq for c in a] == list(range(1, 10))


def test_plan_is_stratified_per_person_and_spreads_evaluators_within_a_team():
    """Each person gets their number of calls; within a team the evaluators take turns."""
    p = plan(PEOPLE, ["E1", "E2"], seed=3, per_person=2)
    for person in PEOPLE:
        assert sum(c.extension == person.extension for c in p) == 2
    civil = [c.evaluator for c in p if c.team == "민원팀"]
    assert sorted(civil) == ["E1", "E1", "E2", "E2"]


def test_plan_per_team_spreads_calls_over_the_team():
    """per_team: 3 calls over 2 people is 2 + 1; the single-person team takes all 3."""
    p = plan(PEOPLE, ["E1"], seed=5, per_team=3)
    counts = sorted(sum(c.extension == x for c in p) for x in ("2001", "2002"))
    assert counts == [1, 2] and sum(c.extension == "2003" for c in p) == 3


def test_match_is_missing_ambiguous_or_matched_never_guessed():
    """One call in the window matches; two are ambiguous; none is missing; a named call settles it."""
    a = CallFacts("a", NUM, 1000.0, True)
    b = CallFacts("b", NUM, 1200.0, True)
    other = CallFacts("c", "+821099999999", 1000.0, True)
    assert match_one(TestCall("1", NUM, 1010.0), [a, other], window=60).call_id == "a"
    amb = match_one(TestCall("1", NUM, 1100.0), [a, b, other], window=300)
    assert amb.status == "ambiguous" and amb.call_id is None and set(amb.candidates) == {"a", "b"}
    assert match_one(TestCall("1", NUM, 5000.0), [a, b], window=300).status == "missing"
    assert match_one(TestCall("1", NUM, 1100.0, call_id="b"), [a, b]).call_id == "b"


def test_one_record_claimed_by_two_test_calls_is_ambiguous_for_both():
    """Two test calls cannot both be the same call record."""
    a = CallFacts("a", NUM, 1000.0, True)
    out = match_all([TestCall("1", NUM, 990.0), TestCall("2", NUM, 1010.0)], [a], window=60)
    assert {m.status for m in out.values()} == {"ambiguous"}


def _weights(*keys):
    return {k: DEFAULT.item(k).weight for k in keys}


ALL_MANUAL = {"greeting": 1, "apology": 1, "listening": 1, "explanation": 1, "attitude": 1, "transfer": 1,
              "closing": 1, "name_again": 1}


def test_fast_call_without_transfer_redistributes_the_weight_of_items_that_do_not_apply():
    """Answered in time, not transferred, no callback: apology, transfer and callback leave the sum."""
    facts = CallFacts("a", NUM, 0.0, True, "2001", "Kim", "민원팀", rings=1, ring_seconds=2.5, ring_rule="pass",
                      hangup_by="customer", hangup_rule="pass")
    marks = {**ALL_MANUAL, "closing": 0.0, "explanation": 0.5}
    cs = score_call(DEFAULT, "1", marks, facts, now=0)
    applies = [k for k in (i.key for i in DEFAULT.items) if k not in ("apology", "transfer", "callback")]
    w = _weights(*applies)
    got = sum(w[k] for k in applies) - w["closing"] - 0.5 * w["explanation"]
    assert cs.status == "scored" and cs.score == round(100 * got / sum(w.values()), 2)
    assert {r.key for r in cs.items if not r.applies} == {"apology", "transfer", "callback"}


def test_late_answer_makes_the_apology_count_and_fails_the_ring_item_with_evidence():
    """A late answer: the ring item fails (rings and seconds as evidence), the apology applies."""
    facts = CallFacts("b", NUM, 0.0, True, ring_seconds=7.5, rings=3, ring_rule="fail", hangup_by="agent",
                      hangup_rule="fail")
    cs = score_call(DEFAULT, "1", {**ALL_MANUAL, "apology": 0}, facts, now=0)
    ring = next(r for r in cs.items if r.key == "answer_speed")
    assert ring.mark == 0 and "rings=3" in ring.evidence and "7.5s" in ring.evidence
    applies = [i.key for i in DEFAULT.items if i.key not in ("transfer", "callback")]
    w = _weights(*applies)
    earned = sum(w.values()) - w["answer_speed"] - w["apology"] - w["hangup"]
    assert cs.score == round(100 * earned / sum(w.values()), 2)


def test_missed_call_is_scored_on_the_ring_item_and_the_callback_record():
    """Nobody answered: only the ring item and the callback (met late: fail) apply."""
    cb = CallbackFacts(7, "late", due_at=100.0, fulfilled_at=150.0)
    facts = CallFacts("c", NUM, 0.0, False, ring_rule="fail", callback=cb)
    cs = score_call(DEFAULT, "1", {}, facts, now=200, iso=lambda t: f"t{t:g}")
    cbr = next(r for r in cs.items if r.key == "callback")
    assert cs.score == 0.0 and cbr.applies and "due=t100" in cbr.evidence and "met=t150" in cbr.evidence
    met = score_call(DEFAULT, "1", {}, CallFacts("c", NUM, 0.0, False, ring_rule="fail",
                                                  callback=CallbackFacts(7, "met", 100.0, 50.0)), now=200)
    w = _weights("answer_speed", "callback")
    assert met.score == round(100 * w["callback"] / sum(w.values()), 2)


def test_open_callback_not_yet_due_is_provisional_and_left_out():
    """A callback still within its time neither passes nor fails; the score says it is provisional."""
    facts = CallFacts("c", NUM, 0.0, False, ring_rule="pass", callback=CallbackFacts(7, "open", due_at=1000.0))
    cs = score_call(DEFAULT, "1", {}, facts, now=10)
    assert cs.provisional and cs.score == 100.0


def test_unmatched_or_unmarked_test_call_gets_no_score():
    """No record: unmatched; an applicable evaluator item without a mark: incomplete (never a zero)."""
    assert score_call(DEFAULT, "1", ALL_MANUAL, None, now=0).status == "unmatched"
    facts = CallFacts("a", NUM, 0.0, True, ring_rule="pass", hangup_rule="pass")
    cs = score_call(DEFAULT, "1", {"greeting": 1}, facts, now=0)
    assert cs.status == "incomplete" and cs.score is None and "closing" in cs.missing


def test_group_scores_are_means_of_calls_with_grades():
    """Person, team and institution scores are means of their calls; grades from the bands."""
    def cs(s):
        return scoring.CallScore("k", s, DEFAULT.grade(s), "scored")
    rows = group_scores(DEFAULT, [(cs(100), "Kim", "A"), (cs(80), "Kim", "A"), (cs(60), "Lee", "B"),
                                  (scoring.CallScore("x", None, None, "unmatched"), "Lee", "B")])
    by = {(r.group, r.name): r for r in rows}
    assert by[("person", "Kim")].score == 90 and by[("person", "Kim")].grade == "매우우수"
    assert by[("team", "B")].calls == 1 and by[("institution", "기관 전체")].score == 80 and by[("institution", "기관 전체")].grade == "우수"
    diff = compare(rows, group_scores(DEFAULT, [(cs(90), "Kim", "A")]))
    assert {"group": "team", "name": "A", "first": 90, "second": 90, "change": 0} in diff


def test_calibration_lists_item_by_item_differences():
    """Two evaluators on one call: the items where they differ are flagged."""
    rows = calibration(DEFAULT, {**ALL_MANUAL}, {**ALL_MANUAL, "closing": 0.0})
    assert [r["item"] for r in rows if r["differs"]] == ["closing"]


@pytest.mark.parametrize("text, value", [("Y", 1.0), ("o", 1.0), ("N", 0.0), ("NA", None), ("해당없음", None), ("0.5", 0.5)])
def test_marks_accept_yes_no_na_and_fractions(text, value):
    assert parse_mark(text) == value


def test_marks_refuse_anything_else():
    with pytest.raises(ValueError):
        parse_mark("maybe")
    with pytest.raises(ValueError):
        parse_mark("2")


@pytest.mark.parametrize("text", [
    "안녕하십니까 OO구청 민원팀 김철수입니다",
    "안녕 하세요. OO구청 민원 팀, 김철수 이에요",
    "네~ 안녕하세요! 민원과 김철수예요",
])
def test_transcript_greeting_tolerates_spacing_endings_and_honorifics(text):
    s = {x.item: x for x in transcript.suggest(text)}
    assert s["greeting"].found


@pytest.mark.parametrize("text", ["더 도움드릴 사항 없으십니까?", "더 도와 드릴 일은 없으신가요", "더 궁금하신 점 없으세요?"])
def test_transcript_closing_question_variants(text):
    assert {x.item: x.found for x in transcript.suggest("여보세요 " + text)}["closing"]


def test_transcript_apology_and_transfer_need_their_words():
    """An apology is found near the start; a transfer needs consent, a department and a number."""
    ok = "늦게 받아 죄송합니다. 담당인 요금팀 이영희 주무관께 연결해 드려도 괜찮으실까요? 직통 번호는 123-4567입니다"
    s = {x.item: x for x in transcript.suggest(ok)}
    assert s["apology"].found and s["transfer"].found
    bare = {x.item: x for x in transcript.suggest("잠시만요 연결해 드릴게요")}
    assert not bare["transfer"].found and "consent" in bare["transfer"].evidence
    assert not bare["apology"].found
