"""Checklist templates: the items of a monitoring form, their weights and the grade bands.

A template is versioned: a session keeps the (name, version) it was scored with, and an edited
template is stored as a new version. Templates are read from TOML by :func:`template_from_toml`
(the file's own format, not a section of callmon's config)::

    name = "기본 전화 모니터링"
    version = 1
    [[items]]
    key = "greeting"          # letters, digits, _ ; the sheet's column
    stage = "맞이"
    label = "첫인사: 기관·팀·이름"
    weight = 10
    source = "evaluator"      # or auto:ring | auto:hangup | auto:callback
    applies = "answered"      # always | answered | late | transferred | absent
    [[grades]]
    label = "매우우수"
    min = 90                  # a call/person/team with at least this score has this grade

``applies`` says when an item counts: ``answered`` (someone answered the test call), ``late``
(answered after the ring limit), ``transferred`` (the call was transferred), ``absent`` (the
person was absent: a callback obligation was opened by the test call), ``always``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from callmon.core.errors import ConfigError

SOURCES = ("evaluator", "auto:ring", "auto:hangup", "auto:callback")
APPLIES = ("always", "answered", "late", "transferred", "absent")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True, slots=True)
class Item:
    """One line of the form."""

    key: str
    stage: str
    label: str
    weight: float
    source: str = "evaluator"
    applies: str = "answered"

    @property
    def automatic(self) -> bool:
        return self.source.startswith("auto:")


@dataclass(frozen=True, slots=True)
class Grade:
    """A grade band: the score from which it is given."""

    label: str
    min: float


@dataclass(frozen=True, slots=True)
class Template:
    """A versioned checklist: items (in form order) and grade bands (highest first)."""

    name: str
    version: int
    items: tuple[Item, ...]
    grades: tuple[Grade, ...]

    @property
    def total_weight(self) -> float:
        return sum(i.weight for i in self.items)

    def item(self, key: str) -> Item:
        for i in self.items:
            if i.key == key:
                return i
        raise KeyError(key)

    def grade(self, score: float | None) -> str | None:
        """The band of a score (None for no score).

        >>> DEFAULT.grade(90.0), DEFAULT.grade(89.99), DEFAULT.grade(10)
        ('매우우수', '우수', '매우미흡')
        """
        if score is None:
            return None
        for g in self.grades:
            if score >= g.min:
                return g.label
        return self.grades[-1].label

    def to_toml(self) -> str:
        """The template as TOML that :func:`template_from_toml` reads back unchanged."""
        def q(s: str) -> str:
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

        out = [f"name = {q(self.name)}", f"version = {self.version}", ""]
        for i in self.items:
            out += ["[[items]]", f"key = {q(i.key)}", f"stage = {q(i.stage)}", f"label = {q(i.label)}",
                    f"weight = {i.weight:g}", f"source = {q(i.source)}", f"applies = {q(i.applies)}", ""]
        for g in self.grades:
            out += ["[[grades]]", f"label = {q(g.label)}", f"min = {g.min:g}", ""]
        return "\n".join(out)


def template_from_toml(text: str, *, file: str | None = None) -> Template:
    """Read and check a template; a wrong value raises :class:`ConfigError` naming file and key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=file) from exc
    return template_from_dict(data, file=file)


def template_from_dict(data: dict, *, file: str | None = None) -> Template:
    """A template from parsed TOML (see the module's docstring for the keys)."""
    unknown = set(data) - {"name", "version", "items", "grades"}
    if unknown:
        raise ConfigError(f"unknown key(s): {', '.join(sorted(unknown))}", file=file)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("a template needs a name", file=file, key="name")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError("must be a whole number from 1", file=file, key="version")
    items: list[Item] = []
    for n, raw in enumerate(data.get("items") or [], 1):
        where = f"items[{n}]"
        if not isinstance(raw, dict):
            raise ConfigError("must be a table", file=file, key=where)
        extra = set(raw) - {"key", "stage", "label", "weight", "source", "applies"}
        if extra:
            raise ConfigError(f"unknown key(s): {', '.join(sorted(extra))}", file=file, key=where)
        key = raw.get("key")
        if not isinstance(key, str) or not _KEY.match(key):
            raise ConfigError("key must be lower-case letters, digits or _ (a sheet column)", file=file, key=f"{where}.key")
        if any(i.key == key for i in items):
            raise ConfigError(f"item {key!r} appears twice", file=file, key=f"{where}.key")
        weight = raw.get("weight")
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight <= 0:
            raise ConfigError("weight must be a positive number", file=file, key=f"{where}.weight")
        source = raw.get("source", "evaluator")
        if source not in SOURCES:
            raise ConfigError(f"source must be one of {', '.join(SOURCES)}", file=file, key=f"{where}.source")
        applies = raw.get("applies", "answered")
        if applies not in APPLIES:
            raise ConfigError(f"applies must be one of {', '.join(APPLIES)}", file=file, key=f"{where}.applies")
        items.append(Item(key, str(raw.get("stage", "")), str(raw.get("label", key)), float(weight), source, applies))
    if not items:
        raise ConfigError("a template needs at least one [[items]]", file=file, key="items")
    grades: list[Grade] = []
    for n, raw in enumerate(data.get("grades") or [], 1):
        if not isinstance(raw, dict) or not isinstance(raw.get("label"), str) \
                or not isinstance(raw.get("min"), (int, float)) or isinstance(raw.get("min"), bool):
            raise ConfigError("a grade needs a label and a numeric min", file=file, key=f"grades[{n}]")
        grades.append(Grade(raw["label"], float(raw["min"])))
    if not grades:
        raise ConfigError("a template needs at least one [[grades]]", file=file, key="grades")
    grades.sort(key=lambda g: -g.min)
    return Template(name.strip(), version, tuple(items), tuple(grades))


# The charters' form (맞이 / 응대 / 마무리 + the callback promise); weights after DESIGN.md's example
# set (Seoul waterworks 2018: 접속신속 10, 맞이인사 10, 연결태도 10, 경청 10, 적극안내 10, 응대태도 10,
# 종료인사 15, 통화종료 5), with the apology, the second self-introduction and the callback added:
# 100 points when every item applies.
DEFAULT = Template(
    name="기본 전화 모니터링 (헌장)",
    version=1,
    items=(
        Item("answer_speed", "맞이", "벨 3회 이전 응답 (자동)", 10, "auto:ring", "always"),
        Item("greeting", "맞이", "첫인사: 기관·팀·이름", 10),
        Item("apology", "맞이", "늦게 받은 경우 사과", 5, "evaluator", "late"),
        Item("listening", "응대", "경청", 10),
        Item("explanation", "응대", "정확한 안내", 10),
        Item("attitude", "응대", "응대 태도", 10),
        Item("transfer", "응대", "연결: 동의, 새 담당자의 부서·이름·번호 안내", 10, "evaluator", "transferred"),
        Item("closing", "마무리", '"더 도움드릴 사항 없으십니까?"', 15),
        Item("name_again", "마무리", "팀·이름 다시 안내", 5),
        Item("hangup", "마무리", "고객이 먼저 끊은 뒤 끊기 (자동)", 5, "auto:hangup", "answered"),
        Item("callback", "콜백", "부재 시 1업무일 내 콜백 (자동)", 10, "auto:callback", "absent"),
    ),
    grades=(Grade("매우우수", 90), Grade("우수", 80), Grade("보통", 70), Grade("미흡", 60), Grade("매우미흡", 0)),
)
