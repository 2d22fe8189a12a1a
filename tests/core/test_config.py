"""The configuration file: every section and key is declared, anything else is an error that names
the file, the key and the closest known one; values are checked where they are read."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import time

import pytest

import callmon.core.config as config_module
from callmon.core.cadence import cadence_from
from callmon.core.config import SECTIONS, TABLES, Config, Employee, config_from_dict, load_config
from callmon.core.errors import ConfigError
from tests.conftest import ROOT, SAMPLES


@pytest.fixture
def toml(tmp_path):
    """toml(text) -> path of a config file holding ``text``."""

    def _write(text: str):
        path = tmp_path / "callmon.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


def error_of(path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value


def test_a_typo_in_a_key_names_the_file_the_key_and_the_closest_known_key(toml):
    """`ring_limt` under [rules] is not silently ignored (scoring with the default 3 rings)."""
    path = toml("""
        [rules]
        ring_limt = 2
    """)
    err = error_of(path)
    assert err.file == str(path) and err.key == "rules.ring_limt"
    assert str(path) in str(err) and "did you mean 'ring_limit'?" in str(err)


def test_a_typo_in_a_section_names_the_closest_known_section(toml):
    path = toml("""
        [callbacks]
        hours = 24
    """)
    err = error_of(path)
    assert err.file == str(path) and err.key == "callbacks"
    assert "unknown section [callbacks]; did you mean [callback]?" in str(err)


@pytest.mark.parametrize("section", ["dashboard", "monitoring"])
def test_sections_that_do_nothing_yet_are_not_accepted(toml, section):
    """A setting that would do nothing is an error, not a silent no-op."""
    err = error_of(toml(f"""
        [{section}]
        enabled = true
    """))
    assert err.key == section and f"unknown section [{section}]" in str(err)


def test_privacy_mask_is_read_and_checked(toml):
    """[privacy] mask chooses the masking rule; a rule callmon does not know is an error naming the key."""
    assert load_config(toml("""
        [privacy]
        mask = "last4"
    """)).mask_style == "last4"
    err = error_of(toml("""
        [privacy]
        mask = "stars"
    """))
    assert err.key == "privacy.mask" and "middle, last4, none" in str(err)


def test_an_unknown_key_with_nothing_close_lists_the_known_keys(toml):
    err = error_of(toml("""
        [warnings]
        colour = "red"
    """))
    assert "did you mean" not in str(err)
    assert "known: period, training_threshold" in str(err)


def test_a_key_written_before_any_section_header_names_its_section(toml):
    err = error_of(toml("""
        ring_limit = 2
        [pbx]
        name = "hq"
    """))
    assert err.key == "ring_limit" and "belongs in [rules]" in str(err)


def test_a_section_that_is_not_a_table_is_an_error():
    with pytest.raises(ConfigError, match=r"\[rules\] must be a table"):
        config_from_dict({"rules": 3})


def test_an_unknown_key_in_a_directory_entry_names_the_entry_and_the_closest_key(toml):
    err = error_of(toml("""
        [directory]
        "2001" = { name = "Kim Agent", tem = "민원팀" }
    """))
    assert err.key == "directory.2001.tem" and "did you mean 'team'?" in str(err)


@pytest.mark.parametrize(("section", "key", "value", "message"), [
    ("pbx", "timezone", '"Mars/Base"', "unknown time zone"),
    ("pbx", "cdr_timezone", '"Asia/Nowhere"', "unknown time zone"),
    ("pbx", "staff_endpoint_pattern", '"^(2"', "bad regular expression"),
    ("rules", "cadence", '"xx"', "unknown cadence"),
    ("rules", "ring_limit", "0", "whole number >= 1"),
    ("rules", "ring_limit", "2.5", "whole number >= 1"),
    ("callback", "rule", '"calendar_days"', "must be one of working_hours, clock_hours"),
    ("callback", "hours", '"8"', "number > 0"),
    ("callback", "office_hours", '[["09:00", "25:00"]]', "not a time of day"),
    ("callback", "office_hours", '["09:00", "18:00"]', "pairs"),
    ("callback", "extra_holidays", '"2026-12-31"', "list of strings"),
    ("warnings", "period", '"week"', "must be one of"),
    ("warnings", "training_threshold", "true", "whole number >= 1"),
])
def test_a_bad_value_names_its_key(toml, section, key, value, message):
    err = error_of(toml(f"""
        [{section}]
        {key} = {value}
    """))
    assert err.key == f"{section}.{key}" and message in str(err)


def test_every_declared_key_sets_its_field(toml):
    """A file that sets every key: each lands in its Config field, converted."""
    cfg = load_config(toml("""
        [pbx]
        name = "hq"
        timezone = "Asia/Tokyo"
        cdr_timezone = "auto"
        staff_endpoint_pattern = '^agent\\d+$'

        [rules]
        cadence = "us"
        ring_limit = 2

        [callback]
        rule = "clock_hours"
        hours = 12
        office_hours = [["08:30", "17:30"]]
        extra_holidays = ["2026-12-31"]
        extra_working_days = ["2026-05-02"]
        region = "JP"

        [warnings]
        period = "quarter"
        training_threshold = 5

        [directory]
        "2001" = { name = "Kim Agent", team = "민원팀" }
        "2002" = "Lee Agent"
    """))
    assert (cfg.pbx, cfg.timezone, cfg.cdr_timezone, cfg.staff_endpoint_pattern) == ("hq", "Asia/Tokyo", "auto", r"^agent\d+$")
    assert (cfg.cadence, cfg.ring_limit) == (cadence_from("us"), 2)
    assert (cfg.callback_rule, cfg.callback_hours, cfg.office_hours) == ("clock_hours", 12.0, ((time(8, 30), time(17, 30)),))
    assert (cfg.extra_holidays, cfg.extra_working_days, cfg.region) == (("2026-12-31",), ("2026-05-02",), "JP")
    assert (cfg.warning_period, cfg.training_threshold) == ("quarter", 5)
    assert cfg.directory == {"2001": Employee("2001", "Kim Agent", "민원팀"), "2002": Employee("2002", "Lee Agent")}
    assert cfg.is_staff_endpoint("agent7") and not cfg.is_staff_endpoint("2003")


def test_every_declared_setting_names_a_config_field():
    """A declaration that points at no field would fail at load time; this catches it at once."""
    fields = set(Config.__dataclass_fields__)
    assert {s.field for keys in SECTIONS.values() for s in keys.values()} <= fields
    assert not set(SECTIONS) & set(TABLES)


def test_clock_hours_without_hours_means_24_clock_hours():
    assert config_from_dict({"callback": {"rule": "clock_hours"}}).callback_hours == 24.0
    assert config_from_dict({"callback": {"rule": "working_hours"}}).callback_hours == 8.0


def test_the_pbx_option_overrides_the_files_name(toml):
    path = toml("""
        [pbx]
        name = "hq"
    """)
    assert load_config(path).pbx == "hq" and load_config(path, pbx="branch").pbx == "branch"


def test_the_documented_example_and_the_samples_config_load():
    """The example file in the module's docstring and sample_cdr/callmon.toml are valid as written."""
    import tomllib

    doc = config_module.__doc__
    example = textwrap.dedent(doc.split("Example file::")[1].split("``callmon directory import")[0])
    cfg = config_from_dict(tomllib.loads(example))
    assert cfg.cdr_timezone == "UTC" and cfg.directory["2001"].team == "민원팀"
    assert load_config(SAMPLES / "callmon.toml").cdr_timezone == "UTC"


def test_the_command_line_reports_an_unknown_key_in_one_line_and_exit_2(toml, sqlite_url):
    """What the user sees: `callmon calls --config FILE` with a typo exits 2 with one clear line."""
    path = toml("""
        [rules]
        ring_limt = 2
    """)
    result = subprocess.run([sys.executable, "-m", "callmon", "calls", "--db", sqlite_url, "--config", str(path)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"callmon: error: {path}, key 'rules.ring_limt': unknown key 'ring_limt' in "
                                     "[rules]; did you mean 'ring_limit'? (known: cadence, ring_limit)")
