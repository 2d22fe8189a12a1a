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

    [directory]                   # extension -> employee, team
    "2001" = { name = "Kim Agent", team = "민원팀" }

``callmon directory import FILE.csv`` keeps a directory in the database as well: an imported
extension wins over ``[directory]``, extensions only this file names stay in force.
"""

from __future__ import annotations

import re
import tomllib
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


def _time(value: str, file: str | None, key: str) -> time:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"not a time of day: {value!r}", file=file, key=key) from exc


def _check_zone(name: Any, file: str | None, key: str) -> None:
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {name!r}", file=file, key=key) from exc


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


def config_from_dict(data: dict[str, Any], *, file: str | None = None, pbx: str | None = None) -> Config:
    known = {"pbx", "rules", "callback", "warnings", "directory", "privacy", "dashboard", "monitoring"}
    for section in data:
        if section not in known:
            raise ConfigError(f"unknown section [{section}]; known: {', '.join(sorted(known))}", file=file)
    p, r, c, w = (data.get(k, {}) for k in ("pbx", "rules", "callback", "warnings"))
    kw: dict[str, Any] = {"source": file}
    if "name" in p:
        kw["pbx"] = str(p["name"])
    if pbx:
        kw["pbx"] = pbx
    if "timezone" in p:
        _check_zone(p["timezone"], file, "pbx.timezone")
        kw["timezone"] = p["timezone"]
    if "cdr_timezone" in p:
        if p["cdr_timezone"] != "auto":
            _check_zone(p["cdr_timezone"], file, "pbx.cdr_timezone")
        kw["cdr_timezone"] = p["cdr_timezone"]
    if "staff_endpoint_pattern" in p:
        try:
            re.compile(p["staff_endpoint_pattern"])
        except re.error as exc:
            raise ConfigError(f"bad regular expression: {exc}", file=file, key="pbx.staff_endpoint_pattern") from exc
        kw["staff_endpoint_pattern"] = p["staff_endpoint_pattern"]
    if "cadence" in r:
        try:
            kw["cadence"] = cadence_from(r["cadence"])
        except ConfigError as exc:
            raise ConfigError(str(exc), file=file, key="rules.cadence") from exc
    if "ring_limit" in r:
        if not isinstance(r["ring_limit"], int) or r["ring_limit"] < 1:
            raise ConfigError("ring_limit must be a whole number >= 1", file=file, key="rules.ring_limit")
        kw["ring_limit"] = r["ring_limit"]
    if "rule" in c:
        if c["rule"] not in ("working_hours", "clock_hours"):
            raise ConfigError("callback rule must be working_hours or clock_hours", file=file, key="callback.rule")
        kw["callback_rule"] = c["rule"]
        if c["rule"] == "clock_hours" and "hours" not in c:
            kw["callback_hours"] = 24.0
    if "hours" in c:
        kw["callback_hours"] = float(c["hours"])
    if "office_hours" in c:
        kw["office_hours"] = tuple(
            (_time(a, file, "callback.office_hours"), _time(b, file, "callback.office_hours")) for a, b in c["office_hours"]
        )
    for key in ("extra_holidays", "extra_working_days"):
        if key in c:
            kw[key] = tuple(str(d) for d in c[key])
    if "region" in c:
        kw["region"] = str(c["region"])
    if "period" in w:
        if w["period"] not in ("half-year", "quarter", "year", "month"):
            raise ConfigError("warnings.period must be half-year, quarter, month or year", file=file, key="warnings.period")
        kw["warning_period"] = w["period"]
    if "training_threshold" in w:
        kw["training_threshold"] = int(w["training_threshold"])
    directory = {}
    for ext, emp in data.get("directory", {}).items():
        if isinstance(emp, str):
            emp = {"name": emp}
        if not isinstance(emp, dict) or "name" not in emp:
            raise ConfigError("a directory entry needs a name", file=file, key=f"directory.{ext}")
        directory[str(ext)] = Employee(str(ext), str(emp["name"]), emp.get("team"))
    kw["directory"] = directory
    return Config(**kw)
