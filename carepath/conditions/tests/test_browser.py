"""A reader's path through the flagship guide in headless Chromium (Debian's /usr/bin/chromium via Playwright),
against a real server process with the demo library and a real SMTP server, checked with axe-core."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

from carepath.testing import Inbox, free_port, wait_for

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def browser_smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture(scope="module")
def server(browser_smtp, tmp_path_factory):
    """`carepath runserver` on a fresh SQLite database holding the demo library, e-mail going to the SMTP server."""
    controller, _ = browser_smtp
    var = tmp_path_factory.mktemp("browser-site")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        DEBUG="true",
        CAREPATH_VAR_DIR=str(var),
        EMAIL_URL=f"smtp://127.0.0.1:{controller.port}",
        DJANGO_SETTINGS_MODULE="carepath.settings",
    )
    manage = [sys.executable, "-m", "carepath.manage"]
    for command in (["migrate", "--noinput", "-v0"], ["load_demo", "-v0"]):
        subprocess.run(manage + command, env=env, check=True, timeout=300)
    port = free_port()
    log = (Path(var) / "server.log").open("w")
    process = subprocess.Popen(
        manage + ["runserver", f"127.0.0.1:{port}", "--noreload"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"the server did not start; see {var}/server.log") from None
            time.sleep(0.3)
    yield base
    process.terminate()
    process.wait(timeout=10)
    log.close()


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    yield page
    context.close()


def serious_violations(page):
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]


def tab_to(page, selector, limit=200):
    """Press Tab until the focused element matches selector, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(sel) => document.activeElement && document.activeElement.matches(sel)", selector):
            return page.locator(":focus")
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def test_reader_path_through_the_muscle_atrophy_guide(server, browser_smtp, page):
    _, inbox = browser_smtp
    page.goto(f"{server}/conditions/muscle-atrophy/")
    expect(page.locator("h1")).to_have_text("Muscle atrophy")

    # Sources are behind a disclosure; opening it shows the numbered list.
    references = page.locator(".reference-list")
    expect(references).to_be_hidden()
    page.locator(".sources summary").click()
    expect(references).to_be_visible()
    assert references.locator("li").count() >= 2

    # A glossary definition, read with the keyboard alone.
    button = tab_to(page, ".gloss-term")
    definition = page.locator(f"#{button.get_attribute('aria-controls')}")
    expect(definition).to_be_hidden()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(definition).to_be_visible()
    assert len(definition.inner_text()) > 10
    page.keyboard.press("Escape")
    expect(definition).to_be_hidden()

    # The emergency callout offers tap-to-call.
    expect(page.locator(".callout-emergency a[href='tel:911']").first).to_be_visible()

    assert serious_violations(page) == []

    # Share by email: the real form, a real CSRF cookie, a real SMTP server.
    page.fill("#id_recipient", "reader.family@example.org")
    page.fill("#id_note", "This explains what the doctor said.")
    page.click(".share button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Sent. We emailed a link to this page.")
    [(rcpt, message)] = wait_for(inbox, 1)
    assert rcpt == ["reader.family@example.org"]
    assert "/conditions/muscle-atrophy/" in message.get_payload(decode=True).decode()


def test_share_refusal_is_announced_and_accessible(server, page):
    page.goto(f"{server}/conditions/stroke/")
    page.fill("#id_recipient", "one@example.org, two@example.org")
    page.click(".share button[type=submit]")
    expect(page.locator("#recipient-error")).to_contain_text("one email address")
    expect(page.locator("#id_recipient")).to_have_attribute("aria-invalid", "true")
    assert serious_violations(page) == []


def test_slideshow_moves_with_the_arrow_keys(server, page):
    page.goto(f"{server}/slideshows/rheumatoid-arthritis-myths/")
    expect(page.locator(".slide-count")).to_have_text("Slide 1 of 10")
    page.keyboard.press("ArrowRight")
    page.wait_for_url("**/rheumatoid-arthritis-myths/2/#slide")
    expect(page.locator(".slide-count")).to_have_text("Slide 2 of 10")
    page.keyboard.press("ArrowLeft")
    page.wait_for_url("**/rheumatoid-arthritis-myths/#slide")
    assert serious_violations(page) == []


@pytest.mark.parametrize("path", ["/", "/conditions/", "/slideshows/", "/find-a-doctor/?near=abc", "/terms/"])
def test_key_pages_have_no_serious_accessibility_violations(server, page, path):
    page.goto(f"{server}{path}")
    assert serious_violations(page) == []


def test_from_a_guide_to_a_specialist_and_a_confirmed_review(server, browser_smtp, page):
    _, inbox = browser_smtp
    already = len(inbox.messages)
    page.goto(f"{server}/conditions/muscle-atrophy/")
    box = page.locator(".find-doctor").first
    expect(box).to_contain_text("Find a top-rated")
    box.locator("input[name=near]").fill("10001")
    box.locator("button[type=submit]").click()
    page.wait_for_url("**/find-a-doctor/?**")
    expect(page.locator("#results-heading")).to_contain_text("within 25 miles of New York, NY 10001")
    cards = page.locator(".provider-card")
    assert cards.count() >= 1
    assert serious_violations(page) == []

    cards.first.locator("h3 a").click()
    page.wait_for_url("**/find-a-doctor/1999*/")
    expect(page.locator(".notice-demo")).to_contain_text("Synthetic demo provider")
    assert serious_violations(page) == []

    page.check("input[name=stars][value='4']")
    page.fill("#id_text", "Clear advice about exercises.")
    page.fill("#id_email", "browser.reviewer@example.org")
    page.check("#id_attested_visit")
    page.click("#write-review button[type=submit]")
    expect(page.locator("h1")).to_have_text("Check your email")

    messages = wait_for(inbox, already + 1)
    rcpt, message = messages[-1]
    assert rcpt == ["browser.reviewer@example.org"]
    link = next(line for line in message.get_payload().splitlines() if "/reviews/confirm/" in line).strip()
    page.goto(link)
    page.click("main button[type=submit]")  # the header holds the search button
    expect(page.locator(".flash")).to_contain_text("Your review is confirmed")


def test_header_search_suggests_as_you_type_and_opens_the_guide(server, page):
    page.goto(f"{server}/conditions/")
    box = page.locator("#site-search-q")
    box.click()
    box.press_sequentially("lou geh", delay=40)
    option = page.locator("#site-search-suggestions [role=option]").first
    expect(option).to_contain_text("Lou Gehrig's disease")
    expect(box).to_have_attribute("aria-expanded", "true")
    assert serious_violations(page) == []
    option.click()
    page.wait_for_url("**/conditions/als/")
    expect(page.locator("h1")).to_have_text("ALS (amyotrophic lateral sclerosis)")

    # The keyboard alone: type, arrow down to the first suggestion, Enter.
    box = page.locator("#site-search-q")
    box.fill("")
    box.press_sequentially("rheumatiod", delay=40)
    expect(page.locator("#site-search-suggestions [role=option]").first).to_be_visible()
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "site-search-q-option-0")
    box.press("Enter")
    page.wait_for_url("**/conditions/rheumatoid-arthritis/")


def test_search_page_results_and_messages_are_accessible(server, page):
    page.goto(f"{server}/")
    page.fill("#site-search-q", "rheumatiod arthritis")
    page.press("#site-search-q", "Enter")  # no suggestion chosen: the form goes to /search/
    page.wait_for_url("**/search/?q=rheumatiod+arthritis")
    expect(page.locator(".did-you-mean")).to_contain_text("Did you mean rheumatoid arthritis?")
    expect(page.locator(".search-result h3 a").first).to_have_text("Rheumatoid arthritis")
    expect(page.locator(".snippet mark").first).to_be_visible()
    assert serious_violations(page) == []
    page.goto(f"{server}/search/?q=%3F%21")
    expect(page.locator("#search-error")).to_contain_text("only of punctuation")
    assert serious_violations(page) == []
