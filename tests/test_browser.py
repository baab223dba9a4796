"""The query page in a real browser: headless Chromium (Debian's ``chromium`` and its
``chromedriver``) through Selenium, against the real ``kg serve``.

A query is typed into the page with the keyboard only (Tab to reach the editor, keys to
write, Ctrl+Enter to run), and the table the page shows must hold the rows ``kg sparql``
gives. Skipped, saying why, where Chromium or its driver is not installed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kg.namespaces import compact
from tests.conftest import ROOT, invoke
from tests.serving import serving

CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path("/usr/bin/chromedriver")
#: Seconds to wait for the page to answer: a guard against hangs, not a timing assertion.
WAIT = 30

pytestmark = pytest.mark.skipif(
    not (os.access(CHROMIUM, os.X_OK) and os.access(DRIVER, os.X_OK)),
    reason=f"needs Chromium and its driver ({CHROMIUM}, {DRIVER}): apt install chromium "
    "chromium-driver",
)

QUERY = "SELECT ?state ?name WHERE { ?state a kg:State ; rdfs:label ?name } ORDER BY ?name"


def browser(profile: Path):
    """A headless Chromium that fetches nothing but what the page asks for."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,800",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(str(DRIVER)))


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    with serving(ROOT, "--workers", "2") as url:
        driver = browser(tmp_path_factory.mktemp("chromium"))
        try:
            driver.url_base = url
            yield driver
        finally:
            driver.quit()


def cli_rows(text: str) -> list[list[str]]:
    """The rows of ``kg sparql TEXT``, each value as the page shows it (IRIs as CURIEs)."""
    from click.testing import CliRunner

    result = invoke(CliRunner(), "sparql", text, "--format", "json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    shown = []
    for binding in answer["results"]["bindings"]:
        row = []
        for var in answer["head"]["vars"]:
            term = binding.get(var)
            value = "" if term is None else term["value"]
            row.append(compact(value) if term and term["type"] == "uri" else value)
        shown.append(row)
    return shown


def type_query(driver, text: str) -> None:
    """Replace the editor's text by *text*, typed, and run it with Ctrl+Enter."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    editor = driver.find_element(By.ID, "query")
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys(Keys.DELETE)
    editor.send_keys(text)
    editor.send_keys(Keys.CONTROL, Keys.ENTER)


def test_a_query_typed_with_the_keyboard_shows_the_cli_rows(page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    page.get(page.url_base + "/")
    # The editor is reached with Tab alone, past the navigation and the search box.
    for _ in range(12):
        if page.switch_to.active_element.get_attribute("id") == "query":
            break
        ActionChains(page).send_keys(Keys.TAB).perform()
    assert page.switch_to.active_element.get_attribute("id") == "query"
    type_query(page, QUERY)
    WebDriverWait(page, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#results tbody tr"))
    table = page.find_element(By.CSS_SELECTOR, "#results table")
    heads = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    rows = [
        [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
        for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")
    ]
    assert heads == ["state", "name"]
    assert rows == cli_rows(QUERY)
    assert len(rows) >= 2
    status = page.find_element(By.ID, "status").text
    assert status.startswith(f"{len(rows)} rows")
    # an entity in the base links to its own page
    link = table.find_element(By.CSS_SELECTOR, "tbody a")
    assert link.get_attribute("href").startswith(page.url_base + "/id/")


def test_a_bad_query_shows_the_parsers_message_an_ask_yes_a_construct_turtle(page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page.get(page.url_base + "/")
    type_query(page, "SELECT ?x WHERE { ?x ?y }")
    alert = page.find_element(By.CSS_SELECTOR, "[role=alert]")
    WebDriverWait(page, WAIT).until(lambda d: alert.is_displayed() and alert.text)
    assert "line" in alert.text.lower() or "expected" in alert.text.lower()
    type_query(page, "ASK { ex:azerbaijan a kg:State }")
    WebDriverWait(page, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#results .boolean"))
    assert page.find_element(By.CSS_SELECTOR, "#results .boolean").text == "Yes"
    assert not alert.is_displayed()
    type_query(page, "CONSTRUCT WHERE { ex:azerbaijan rdfs:label ?name }")
    WebDriverWait(page, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#results pre"))
    assert '"Azerbaijan"' in page.find_element(By.CSS_SELECTOR, "#results pre").text
