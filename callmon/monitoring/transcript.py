"""Transcript check: suggest the greeting, apology, closing and transfer items from a call's
transcript. A suggestion only: the evaluator confirms or overrides it.

Matching is tolerant of what speech-to-text and people vary: spaces and punctuation are ignored,
and the patterns accept the usual endings and honorific variants (안녕하십니까/안녕하세요,
없으십니까/없으신가요/없으세요, 도움드릴/도와드릴, 죄송합니다/죄송해요/미안합니다, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DROP = re.compile(r"[\s\W_]+", re.UNICODE)

_HELLO = re.compile(r"안녕(하십니까|하세요|하신가요|하십니깡)")
_INTRO = re.compile(r"(입니다|이에요|예요|이예요|이옵니다|인데요)")
_TEAM = re.compile(r"[가-힣A-Za-z0-9]+(팀|과|센터|부|실|국)")
_APOLOGY = re.compile(r"(늦게|기다리[시게]|오래|지체)[가-힣]{0,12}?(죄송|미안|송구)|(죄송|미안|송구)(합니다|해요|하다|스럽)")
_CLOSING = re.compile(r"더(도움|도와|궁금|문의)[가-힣]{0,8}?(없으|있으|없습|있습)(십니까|신가요|세요|니까|신지|실까요)")
_TRANSFER = re.compile(r"(연결|돌려|바꿔)(해)?(드리|드릴|드려)")
_CONSENT = re.compile(r"(괜찮으|괜찮겠|괜찮을|될까요|되겠습니까|드려도|해드려도|원하시)")
_NUMBER = re.compile(r"\d{3,4}")

ITEMS = ("greeting", "apology", "closing", "transfer")


@dataclass(frozen=True, slots=True)
class Suggestion:
    """What the transcript suggests for one item: ``found`` and the words that showed it."""

    item: str
    found: bool
    evidence: str = ""


def normalise(text: str) -> str:
    """Lower-case, without spaces and punctuation (what the patterns are matched on).

    >>> normalise("더 도움드릴 사항, 없으십니까?")
    '더도움드릴사항없으십니까'
    """
    return _DROP.sub("", text).lower()


def suggest(transcript: str) -> tuple[Suggestion, ...]:
    """Suggestions for the greeting, apology, closing and transfer items.

    >>> [s.found for s in suggest("네 안녕하세요 OO시청 민원팀 김철수예요. ... 더 도와 드릴 일 없으신가요?")]
    [True, False, True, False]
    """
    flat = normalise(transcript)
    head = flat[:120]  # the greeting and an apology come first
    out = []
    hello = _HELLO.search(head)
    intro = _INTRO.search(head, hello.end()) if hello else None
    team = _TEAM.search(head, hello.end()) if hello else None
    out.append(Suggestion("greeting", bool(hello and intro and team),
                          head[hello.start():intro.end()] if hello and intro else ""))
    ap = _APOLOGY.search(head)
    out.append(Suggestion("apology", bool(ap), ap.group(0) if ap else ""))
    cl = _CLOSING.search(flat)
    out.append(Suggestion("closing", bool(cl), cl.group(0) if cl else ""))
    tr = _TRANSFER.search(flat)
    if tr:
        around = flat[max(0, tr.start() - 80):tr.end() + 80]
        consent, number, dept = _CONSENT.search(around), _NUMBER.search(around), _TEAM.search(around)
        missing = [w for w, m in (("동의 consent", consent), ("번호 number", number), ("부서 department", dept)) if not m]
        out.append(Suggestion("transfer", not missing,
                              tr.group(0) + (f" (없음 missing: {', '.join(missing)})" if missing else "")))
    else:
        out.append(Suggestion("transfer", False, ""))
    return tuple(out)
