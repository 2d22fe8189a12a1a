"""Configuration: a TOML file (``--config``) over built-in defaults.

Everything a rule needs is read here, validated once, and handed to the rules as plain values;
no rule ever sees this object. Example file::

    [pbx]
    name = "default"              # the --pbx default
    timezone = "Asia/Seoul"       # the PBX's zone: how times are shown, the working-day calendar
    cdr_timezone = "UTC"          # zone Master.csv / CEL / queue_log local times were written in
                                  # (default: timezone; "auto": judged from the uniqueids)
    staff_endpoint_pattern = '^\\d{2,6}$'   # endpoints that are staff phones (default: numbered
                                  # ones; a named endpoint is classed from what the PBX shows,
                                  # see `callmon endpoints`; setting it decides every endpoint)

    [rules]
    cadence = "kr"                # kr | us | uk | [on, off, ...] seconds
    ring_limit = 3                # answer before this ring starts

    [callback]
    rule = "working_hours"        # working_hours | clock_hours
    hours = 8                     # 8 working hours (or 24 clock hours)
    office_hours = [["09:00", "12:00"], ["13:00", "18:00"]]
    extra_holidays = ["2026-12-31"]
    extra_working_days = []
    region = "KR"                 # default region for phone numbers

    [warnings]
    period = "half-year"          # half-year | quarter | year
    training_threshold = 3

    [privacy]
    mask = "middle"               # middle | last4 | none: how numbers are shown to those not allowed

    [directory]                   # extension -> employee, team
    "2001" = { name = "Kim Agent", team = "민원팀" }

``callmon directory import FILE.csv`` keeps a directory in the database as well: an imported
extension wins over ``[directory]``, extensions only this file names stay in force.

Every section and key is declared once, in :data:`SECTIONS` (or :data:`TABLES` for a section whose
keys are data, like ``[directory]``): a section or key that is not declared there is an error that
names the file, the key and the closest known one, never silently ignored. To add a setting,
add its field to :class:`Config` and one :class:`Setting` line to its section.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callmon.core.errors import ConfigError
from callmon.core.cadence import Cadence, cadence_from


# numbered endpoints are phones; named ones are classed from what the PBX shows (calls/parties.py)
DEFAULT_STAFF_PATTERN = r"^\d{2,6}$"


@dataclass(frozen=True)
class Employee:
    extension: str
    name: str
    team: str | None = None


@dataclass(frozen=True)
class Config:
    pbx: str = "default"
    timezone: str = "Asia/Seoul"
    cdr_timezone: str | None = None  # None: as ``timezone``; "auto": from the files' uniqueids
    staff_endpoint_pattern: str = DEFAULT_STAFF_PATTERN
    cadence: Cadence = field(default_factory=lambda: cadence_from("kr"))
    ring_limit: int = 3
    callback_rule: str = "working_hours"
    callback_hours: float = 8.0
    office_hours: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(13), time(18)))
    extra_holidays: tuple[str, ...] = ()
    extra_working_days: tuple[str, ...] = ()
    region: str = "KR"
    warning_period: str = "half-year"
    training_threshold: int = 3
    directory: dict[str, Employee] = field(default_factory=dict)
    mask_style: str = "middle"
    source: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def file_timezone(self) -> str:
        """The zone of the local times in Asterisk's files: ``cdr_timezone``, else ``timezone``
        (``auto`` is resolved per file by the importer)."""
        return self.cdr_timezone or self.timezone

    def is_staff_endpoint(self, endpoint: str) -> bool:
        """Is this channel endpoint (``2001`` of ``PJSIP/2001-0000001``) one of our phones?"""
        return endpoint in self.directory or bool(self._staff_re.match(endpoint))

    @property
    def _staff_re(self) -> re.Pattern[str]:
        return _compiled(self.staff_endpoint_pattern)

    def employee(self, extension: str | None) -> Employee | None:
        return self.directory.get(extension) if extension else None


_RE_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    if pattern not in _RE_CACHE:
        _RE_CACHE[pattern] = re.compile(pattern)
    return _RE_CACHE[pattern]


@dataclass(frozen=True)
class Setting:
    """One key of a config section: the :class:`Config` field it sets and how its value is read.

    ``parse`` takes the TOML value and returns the field's value; it raises ``ValueError`` or
    ``TypeError`` (or :class:`ConfigError`) with a message for the user when the value is wrong.
    """

    field: str
    parse: Callable[[Any], Any]


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"must be a string, got {value!r}")
    return value


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError(f"must be a list of strings, got {value!r}")
    return tuple(str(v) for v in value)


def _whole(minimum: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"must be a whole number >= {minimum}, got {value!r}")
        return value
    return parse


def _positive(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"must be a number > 0, got {value!r}")
    return float(value)


def _one_of(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {value!r}")
        return value
    return parse


def _zone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return str(value)


def _zone_or_auto(value: Any) -> str:
    return "auto" if value == "auto" else _zone(value)


def _regex(value: Any) -> str:
    try:
        re.compile(_text(value))
    except re.error as exc:
        raise ValueError(f"bad regular expression: {exc}") from exc
    return value


def _time(value: Any) -> time:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a time of day: {value!r}") from exc


def _office_hours(value: Any) -> tuple[tuple[time, time], ...]:
    if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2 for p in value):
        raise TypeError(f'must be a list of ["HH:MM", "HH:MM"] pairs, got {value!r}')
    return tuple((_time(a), _time(b)) for a, b in value)


SECTIONS: dict[str, dict[str, Setting]] = {
    "pbx": {
        "name": Setting("pbx", _text),
        "timezone": Setting("timezone", _zone),
        "cdr_timezone": Setting("cdr_timezone", _zone_or_auto),
        "staff_endpoint_pattern": Setting("staff_endpoint_pattern", _regex),
    },
    "rules": {
        "cadence": Setting("cadence", cadence_from),
        "ring_limit": Setting("ring_limit", _whole(1)),
    },
    "callback": {
        "rule": Setting("callback_rule", _one_of("working_hours", "clock_hours")),
        "hours": Setting("callback_hours", _positive),
        "office_hours": Setting("office_hours", _office_hours),
        "extra_holidays": Setting("extra_holidays", _texts),
        "extra_working_days": Setting("extra_working_days", _texts),
        "region": Setting("region", _text),
    },
    "warnings": {
        "period": Setting("warning_period", _one_of("half-year", "quarter", "month", "year")),
        "training_threshold": Setting("training_threshold", _whole(1)),
    },
    "privacy": {
        # how screens and exports mask a phone number for those who may not see it (DESIGN.md)
        "mask": Setting("mask_style", _one_of("middle", "last4", "none")),
    },
}
"""The sections of a config file with settings, and their keys."""

EMPLOYEE_KEYS = ("name", "team")


def _directory(table: Mapping[str, Any], file: str | None) -> dict[str, Any]:
    directory = {}
    for ext, emp in table.items():
        if isinstance(emp, str):
            emp = {"name": emp}
        if not isinstance(emp, dict) or "name" not in emp:
            raise ConfigError("a directory entry needs a name", file=file, key=f"directory.{ext}")
        for key in emp:
            _known(key, EMPLOYEE_KEYS, file, f"directory.{ext}.{key}", f"directory entry {ext!r}")
        directory[str(ext)] = Employee(str(ext), str(emp["name"]), emp.get("team"))
    return {"directory": directory}


TABLES: dict[str, Callable[[Mapping[str, Any], str | None], dict[str, Any]]] = {
    "directory": _directory,
}
"""Sections whose keys are data (extensions), each read by its own function into Config fields."""


def _known(name: str, known, file: str | None, key: str, where: str) -> None:
    """ConfigError unless ``name`` is in ``known``; the message names the closest known name."""
    if name in known:
        return
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"unknown key {name!r} in {where}{hint} (known: {', '.join(known)})", file=file, key=key)


def _section_of(key: str) -> str | None:
    return next((name for name, keys in SECTIONS.items() if key in keys), None)


def load_config(path: str | Path | None = None, *, pbx: str | None = None) -> Config:
    """Read a TOML config (or the defaults when ``path`` is None); ``pbx`` overrides ``[pbx] name``."""
    data: dict[str, Any] = {}
    file = str(path) if path else None
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError("config file not found", file=file) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config: {exc}", file=file) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", file=file) from exc
    return config_from_dict(data, file=file, pbx=pbx)


def config_from_dict(data: Mapping[str, Any], *, file: str | None = None, pbx: str | None = None) -> Config:
    """The :class:`Config` of parsed TOML ``data``; ConfigError on an unknown section or key or a bad value.

    >>> config_from_dict({"rules": {"ring_limit": 2}}).ring_limit
    2
    >>> config_from_dict({"rules": {"ring_limt": 2}}, file="callmon.toml")
    Traceback (most recent call last):
    ...
    callmon.core.errors.ConfigError: callmon.toml, key 'rules.ring_limt': unknown key 'ring_limt' in [rules]; did you mean 'ring_limit'? (known: cadence, ring_limit)
    """
    sections = [*SECTIONS, *TABLES]
    kw: dict[str, Any] = {"source": file}
    for section, table in data.items():
        if section not in SECTIONS and section not in TABLES:
            home = _section_of(section) if not isinstance(table, dict) else None
            if home:
                raise ConfigError(f"{section!r} is outside any section; it belongs in [{home}]", file=file, key=section)
            close = difflib.get_close_matches(section, sections, n=1, cutoff=0.6)
            hint = f"; did you mean [{close[0]}]?" if close else ""
            raise ConfigError(f"unknown section [{section}]{hint} (known: {', '.join(sections)})", file=file, key=section)
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}] must be a table of settings, got {table!r}", file=file, key=section)
        if section in TABLES:
            kw.update(TABLES[section](table, file))
            continue
        settings = SECTIONS[section]
        for name, value in table.items():
            _known(name, settings, file, f"{section}.{name}", f"[{section}]")
            setting = settings[name]
            try:
                kw[setting.field] = setting.parse(value)
            except (ConfigError, TypeError, ValueError) as exc:
                raise ConfigError(str(exc), file=file, key=f"{section}.{name}") from exc
    if kw.get("callback_rule") == "clock_hours" and "hours" not in data.get("callback", {}):
        kw["callback_hours"] = 24.0  # the charter's "(24 hours)" read as clock hours
    if pbx:
        kw["pbx"] = pbx
    return Config(**kw)
