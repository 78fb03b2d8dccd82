"""
`make e2e-ui`: the Airflow UI of a real deployment, in Debian's headless chromium driven by
Playwright, as a person sees it: the connection form of "PayQuicker Payment Jobs" (labels, hidden
fields, defaults), the "PayQuicker job" link of a payout (while deferred and once paid), and the
Providers page's documentation link. Screenshots go to ``.e2e/``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from airflow_provider_payjobs import DOCUMENTATION_URL
from e2e.airflow_api import wait_for
from e2e.cases import PAYOUT, Cases
from e2e.deployment import USERNAME, Deployment

CHROMIUM = "/usr/bin/chromium"
# Headless, as root, and never reaching for the network beyond the deployment on loopback.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 60_000


@contextmanager
def browser_page() -> Iterator[Any]:
    """A signed-in page in a fresh chromium profile; the browser is closed whatever happens."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="payjobs-e2e-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                args=CHROMIUM_FLAGS,
                headless=True,
                viewport={"width": 1400, "height": 1000},
            )
            try:
                page = context.pages[0] if context.pages else context.new_page()
                page.set_default_timeout(TIMEOUT_MS)
                yield page
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def browser_checks(deployment: Deployment, output: Path, page: Any) -> list[tuple[str, Callable[[], str]]]:
    """The checks, in order, for the runner: each returns what it saw."""
    output.mkdir(parents=True, exist_ok=True)
    checks = UiChecks(deployment, output, page)
    return [
        ("UI: sign in", checks.sign_in),
        ("UI: connection form", checks.connection_form),
        ("UI: job link while deferred", checks.link_while_deferred),
        ("UI: job link once paid", checks.link_once_paid),
        ("UI: providers page", checks.providers_page),
    ]


class UiChecks:
    """
    One browser session across the checks.

    :param deployment: the running deployment (its connection has a ``portal_url``).
    :param output: where screenshots go.
    :param page: a Playwright page.
    """

    def __init__(self, deployment: Deployment, output: Path, page: Any) -> None:
        self.deployment = deployment
        self.output = output
        self.page = page
        self.cases = Cases(deployment)
        self.payout: Any = None

    def screenshot(self, name: str, **options: Any) -> str:
        path = self.output / f"{name}.png"
        self.page.screenshot(path=str(path), **options)
        return str(path.relative_to(self.output.parent))

    def sign_in(self) -> str:
        self.page.goto(f"{self.deployment.base_url}/")
        self.page.fill("input[name=username]", USERNAME)
        self.page.fill("input[name=password]", self.deployment.password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(lambda url: "/auth/login" not in url)
        return f"signed in as {USERNAME}"

    def connection_form(self) -> str:
        page = self.page
        page.goto(f"{self.deployment.base_url}/connections")
        page.get_by_role("button", name="Add Connection").click()
        page.get_by_text("Select Connection Type").click(force=True)  # react-select's own overlay
        page.keyboard.type("PayQuicker Payment Jobs")
        page.get_by_role("option", name="PayQuicker Payment Jobs").click()
        page.get_by_text("Standard Fields").wait_for()
        page.locator("label", has_text="Client Secret").first.wait_for()  # all_inner_texts() does not wait
        labels = _labels(page)
        assert {"Base URL (optional)", "Client ID", "Client Secret"} <= labels, labels
        hidden = labels & {"Schema", "Port", "Host", "Login", "Password"}
        assert not hidden, f"fields that should be hidden or relabelled: {hidden}"
        shown = [self.screenshot("connection-form-standard")]
        page.get_by_text("Extra Fields", exact=True).click()
        environment = page.locator("input[name=element_environment]")
        assert environment.input_value() == "sandbox", environment.input_value()
        options = self._open_menu(page.locator("#element_environment")).all_inner_texts()
        assert options == ["production", "sandbox", "uat", "development"], options
        page.get_by_role("option", name="sandbox").click()  # closes the menu, keeps the value
        verify = page.locator("label#switch\\:element_verify")
        assert verify.get_attribute("data-state") == "checked", "Verify TLS is shown off"
        insecure = page.locator("label#switch\\:element_allow_insecure_http")
        assert insecure.get_attribute("data-state") == "unchecked", "Allow plain http is shown on"
        numbers = {name: page.locator(f"input[name=element_{name}]").input_value() for name in _NUMBERS}
        assert numbers == _NUMBERS, numbers
        page.get_by_text("Environment", exact=True).scroll_into_view_if_needed()
        shown.append(self.screenshot("connection-form-extra-top"))
        page.get_by_text("Verify TLS", exact=True).scroll_into_view_if_needed()
        shown.append(self.screenshot("connection-form-extra-defaults"))
        page.keyboard.press("Escape")
        defaults = "environment sandbox, Verify TLS on, plain http off"
        return f"labels, hidden fields and defaults right ({defaults}); {shown[-1]}"

    def _open_menu(self, trigger: Any, attempts: int = 5) -> Any:
        """
        Open a select's menu and return its options, once they are shown.

        The Extra Fields section is still unfolding when the trigger is first clickable, and a
        click in that moment can land while nothing opens (one run in three on a quiet machine).
        A menu that has not opened 3 s after a click did not get it: click again, a few times.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        options = self.page.get_by_role("option")
        trigger.scroll_into_view_if_needed()  # waits until the trigger stands still
        for _ in range(attempts):
            trigger.click(force=True)  # react-select's overlay would fail the actionability check
            try:
                options.last.wait_for(timeout=3_000)
                return options
            except PlaywrightTimeout:
                continue
        raise AssertionError(f"the menu did not open after {attempts} clicks")

    def link_while_deferred(self) -> str:
        self.payout = self.cases.deferred_payout()
        link = self._job_link()
        return f"{link} shown; {self.screenshot('task-pay-deferred')}"

    def link_once_paid(self) -> str:
        self.cases.sandbox.complete_jobs()
        self.cases.expect_success(self.payout)
        link = self._job_link()
        return f"{link} shown; {self.screenshot('task-pay-success')}"

    def providers_page(self) -> str:
        self.page.goto(f"{self.deployment.base_url}/providers")
        link = self.page.locator(f"a[href='{DOCUMENTATION_URL}']")
        link.first.wait_for()
        return f"airflow-provider-payjobs links to its docs; {self.screenshot('providers')}"

    def _job_link(self) -> str:
        """Open the pay task's Details and return the "PayQuicker job" link, checking its target."""
        run_id, token = self.payout.run_id, self.payout.job_token
        expected = f"https://portal.sandbox.payquicker.example/jobs/{token}"
        self.page.goto(f"{self.deployment.base_url}/dags/{PAYOUT}/runs/{run_id}/tasks/pay/details")
        link = self.page.get_by_role("link", name="PayQuicker job")
        wait_for("the PayQuicker job link", lambda: link.count() == 1, 60)
        assert link.get_attribute("href") == expected, link.get_attribute("href")
        return f"'PayQuicker job' -> {expected}"


_NUMBERS = {"timeout": "30", "retry_limit": "5", "retry_min_wait": "1", "retry_max_wait": "30"}


def _labels(page: Any) -> set[str]:
    return {text.strip().rstrip("*").strip() for text in page.locator("label").all_inner_texts()} - {""}
