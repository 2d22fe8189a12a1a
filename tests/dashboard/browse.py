"""What the browser tests do in a page: log in, wait for Dash to draw, read what it shows."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

T = TypeVar("T")


def wait_for(browser, condition: Callable[[], T], timeout: float = 15.0, what: str = "") -> T:
    """Poll ``condition`` until it returns something true; fail with ``what`` after ``timeout``."""
    last: Exception | None = None
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # an element not drawn yet, a stale one
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or condition}" + (f" (last: {last!r})" if last else ""))


def login(browser, base: str, user: str, password: str) -> None:
    """Log out whoever is logged in, then log in as ``user`` through the form."""
    browser.get(base + "/logout")
    browser.get(base + "/login")
    browser.find_element(By.NAME, "username").send_keys(user)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.ID, "login-button").click()
    wait_for(browser, lambda: "/login" not in browser.current_url, what=f"{user} to be logged in")


def open_page(browser, url: str, ready_id: str, *, timeout: float = 20.0) -> None:
    """Open ``url`` and wait until the element ``ready_id`` has content (Dash has drawn it)."""
    browser.get(url)
    wait_for(browser, lambda: browser.find_element(By.ID, ready_id).text.strip(), timeout, f"#{ready_id} on {url}")


def text(browser, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def choose(browser, dropdown_id: str, label: str) -> None:
    """Pick ``label`` in a dcc.Dropdown by typing it and pressing Enter."""
    box = browser.find_element(By.ID, dropdown_id)
    box.click()
    field = wait_for(browser, lambda: _search_input(browser, box), what=f"the search field of #{dropdown_id}")
    field.send_keys(label)
    time.sleep(0.3)
    field.send_keys(Keys.ENTER)


def _search_input(browser, box):
    inputs = box.find_elements(By.CSS_SELECTOR, "input") or browser.find_elements(
        By.CSS_SELECTOR, ".dash-dropdown-search input, input.dash-dropdown-search")
    return next((i for i in inputs if i.is_displayed()), None)


def table_rows(browser, table_id: str) -> list[list[str]]:
    """The body cells of an HTML table, row by row."""
    rows = browser.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")
    return [[td.text for td in r.find_elements(By.TAG_NAME, "td")] for r in rows]


def tile(browser, name: str) -> str:
    """The value of a live-page tile (``calls``, ``ring-rate``, ...)."""
    return browser.find_element(By.CSS_SELECTOR, f"#tile-{name} .cm-value").text
