"""Logging in: a wrong password is refused, repeated failures are slowed (refused for a while even
with the right password), nothing but the login page is served before a login, and the session
cookie is HttpOnly and SameSite."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from selenium.webdriver.common.by import By

from tests.dashboard.browse import login, wait_for
from tests.dashboard.conftest import PASSWORD, Dashboard


@pytest.fixture
def strict(sample_db, config_file):
    """A dashboard that allows 3 failed logins a minute (its own process: its own counters)."""
    d = Dashboard(sample_db, config_file, login_limit="3 per minute")
    yield d
    d.stop()


def _try(browser, base: str, user: str, password: str) -> str:
    browser.get(base + "/logout")
    browser.get(base + "/login")
    browser.find_element(By.NAME, "username").send_keys(user)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.ID, "login-button").click()
    return wait_for(browser, lambda: browser.find_element(By.ID, "login-error").text, what="the login error")


def test_a_wrong_password_is_refused_and_repeated_failures_are_slowed(browser, strict, shoot):
    for _ in range(3):
        assert _try(browser, strict.url, "super1", "not the password") == "사용자 이름 또는 비밀번호가 맞지 않습니다."
        assert "/login" in browser.current_url
    shoot("login-refused")
    # the fourth attempt within the minute is refused before the password is even checked
    assert "너무 많습니다" in _try(browser, strict.url, "super1", PASSWORD)
    shoot("login-slowed")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(strict.url + "/login", data=b"username=super1&password=x"))
    assert refused.value.code == 429


def test_pages_need_a_login_and_the_session_cookie_is_httponly_and_samesite(browser, dashboard):
    browser.get(dashboard.url + "/logout")
    browser.get(dashboard.url + "/calls")
    assert "/login" in browser.current_url and "next=/calls" in browser.current_url
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(urllib.request.Request(dashboard.url + "/_dash-layout"))
    assert denied.value.code == 401
    login(browser, dashboard.url, "viewer1", PASSWORD)
    cookie = browser.get_cookie("callmon_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
