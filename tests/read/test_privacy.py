"""The one masking rule, per role and per [privacy] mask, and who may read the access log."""

from __future__ import annotations

import pytest

from callmon.core.config import config_from_dict
from callmon.core.errors import ConfigError
from callmon.read import NotAllowed, Reader, Viewer
from callmon.service.users import Users
from callmon.storage.readonly import open_readonly


def test_roles_decide_who_sees_full_numbers():
    """A viewer always sees masked numbers; a supervisor or admin only when they ask."""
    number = "010-1234-5678"
    assert Viewer("v", "viewer").number(number) == "010-****-5678"
    assert Viewer("s", "supervisor").number(number) == "010-****-5678"
    assert Viewer("s", "supervisor", reveal=True).number(number) == number
    assert Viewer("a", "admin").revealed().number(number) == number
    with pytest.raises(NotAllowed):
        Viewer("v", "viewer").revealed()
    with pytest.raises(ValueError, match="role must be one of"):
        Viewer("x", "root")


def test_a_row_is_masked_in_every_number_field_and_in_channel_names():
    row = {"caller": "01012345678", "called": "2001", "number": "+821012345678", "key": "+821012345678/c1",
           "legs": [{"channel": "Local/01012345678@from-internal-0000002a;1", "endpoint": "01012345678"}]}
    shown = Viewer("v", "viewer").row(row)
    assert "5678" in shown["caller"] and "1234" not in repr(shown)
    assert shown["called"] == "2001" and shown["key"].endswith("/c1")
    assert shown["legs"][0]["channel"].endswith("@from-internal-0000002a;1")


def test_privacy_mask_in_the_config_sets_the_rule():
    assert config_from_dict({"privacy": {"mask": "last4"}}).mask_style == "last4"
    assert config_from_dict({}).mask_style == "middle"
    with pytest.raises(ConfigError, match="privacy.mask"):
        config_from_dict({"privacy": {"mask": "everything"}}, file="c.toml")
    assert Viewer("v", "viewer", style="last4").number("010-1234-5678") == "010-1234-****"


def test_only_an_admin_reads_the_access_log(db_url):
    users = Users.open(db_url)
    users.add("boss", "admin", "long-password")
    users.log_access("boss", "unmask", "call c1", "민원 확인", at=1_800_000_000.0)
    users.close()
    reader = Reader(open_readonly(db_url), config_from_dict({}))
    (row,) = reader.access_log(reader.viewer("boss", "admin"))
    assert (row["user"], row["role"], row["action"], row["what"], row["why"], row["at"]) == \
        ("boss", "admin", "unmask", "call c1", "민원 확인", 1_800_000_000.0)
    for role in ("viewer", "supervisor"):
        with pytest.raises(NotAllowed):
            reader.access_log(reader.viewer("x", role))
    reader.close()
