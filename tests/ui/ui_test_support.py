"""Helpers of the web-interface tests: polling with deadlines, the Chromium driver and a page helper.

Screenshots always go to the test's tmp dir; with NLP2PROD_UI_SCREENSHOTS=DIR (the README's command uses
docs/screenshots) they are also written there, as small palette PNGs, for the README.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
import urllib.error
import urllib.request
from typing import Callable, Dict, Optional

MODEL = "classifier"
# The tiny model's versions say they were trained and evaluated on these languages (Try it warns for others).
TRAINED_LANGUAGES = ("de", "en", "es")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# The flags every run uses: headless, no sandbox (root in CI), and nothing that reaches the network by itself.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--lang=en-US", "--window-size=1200,900",
                  # every name but 127.0.0.1 fails to resolve: a page that needed anything outside would break
                  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1")
WAIT_SECONDS = 30.0
SCREENSHOTS_ENV = "NLP2PROD_UI_SCREENSHOTS"


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.1, what: str = "it"):
    """Polls until `predicate()` is truthy and returns its value; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def version_state(rest_url: str, model: str, version: int) -> Optional[str]:
    """The state TF Serving's REST status API reports for one version, None while it cannot say."""
    try:
        with urllib.request.urlopen(f"{rest_url}/v1/models/{model}/versions/{version}", timeout=5) as answer:
            return json.load(answer)["model_version_status"][0]["state"]
    except (urllib.error.URLError, OSError, ValueError, KeyError, IndexError):
        return None


def label_version(rest_url: str, model: str, label: str) -> Optional[int]:
    """The version a label points at, asked of the model server itself (not through the gateway)."""
    try:
        with urllib.request.urlopen(f"{rest_url}/v1/models/{model}/labels/{label}/metadata", timeout=5) as answer:
            return int(json.load(answer)["model_spec"]["version"])
    except (urllib.error.URLError, OSError, ValueError, KeyError):
        return None


@dataclasses.dataclass(frozen=True)
class RunningGateway:
    """A gateway under test: its base URL, the secret of each test key by name, and its settings."""

    url: str
    keys: Dict[str, str]
    settings: object


def start_chromium(profile_dir: str):
    """Debian's Chromium through Debian's chromium-driver (Selenium never looks for or downloads a driver)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            raise AssertionError(f"{path} is missing: scripts/bootstrap.sh installs chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS + (f"--user-data-dir={profile_dir}",):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(WAIT_SECONDS)
    return driver


class Page:
    """One test's view of the browser: navigation, sign-in, waits, calls with the page's key, screenshots."""

    def __init__(self, driver, gateway: RunningGateway, tmp_dir):
        self.driver, self.gateway, self.tmp_dir = driver, gateway, tmp_dir

    def open(self, path: str) -> None:
        self.driver.get(self.gateway.url + path)

    def sign_out(self) -> None:
        self.open("/ui/")
        self.driver.execute_script("sessionStorage.clear();")
        self.driver.delete_all_cookies()

    def sign_in(self, key_name: str) -> None:
        """Signs in on /ui/ with the named test key and waits for the Try it page to know who it is."""
        self.open("/ui/")
        self.type_into("#key", self.gateway.keys[key_name])
        self.find("#signin-submit").click()
        self.wait(lambda: self.driver.current_url.endswith("/ui/try") and self.shown("#identity"), "signing in")

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def shown(self, css: str) -> bool:
        found = self.find_all(css)
        return bool(found) and found[0].is_displayed()

    def text(self, css: str) -> str:
        found = self.find_all(css)
        return found[0].text if found else ""

    def type_into(self, css: str, text: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(text)

    def wait(self, predicate: Callable[[], object], what: str):
        return wait_for(predicate, timeout=WAIT_SECONDS, interval=0.1, what=what)

    def api(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        """Calls the gateway from the page, with the signed-in key, as the page's own script does."""
        return self.driver.execute_async_script("""
            const [method, path, body, done] = arguments;
            const init = {method, headers: {Authorization: "Bearer " + sessionStorage.getItem("n2p_key")}};
            if (body !== null) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
            fetch(path, init).then(async (r) => done({status: r.status, body: await r.json()}),
                                   (e) => done({status: 0, body: {error: String(e)}}));
        """, method, path, body)

    def loaded_from_elsewhere(self) -> list:
        """Resources this page loaded from anywhere but the gateway (should be none)."""
        loaded = self.driver.execute_script("return performance.getEntriesByType('resource').map((e) => e.name);")
        return [url for url in loaded if not url.startswith(self.gateway.url + "/")]

    def focused_id(self) -> str:
        return self.driver.execute_script("return document.activeElement && document.activeElement.id;") or ""

    def snap(self, name: str) -> str:
        """A full-page PNG of the current page; also copied for the README when NLP2PROD_UI_SCREENSHOTS is set."""
        width, height = self.driver.get_window_size()["width"], self.driver.get_window_size()["height"]
        full = self.driver.execute_script("return document.documentElement.scrollHeight;")
        self.driver.set_window_size(width, max(height, min(int(full) + 140, 2400)))
        path = os.path.join(str(self.tmp_dir), f"{name}.png")
        try:
            self.driver.save_screenshot(path)
        finally:
            self.driver.set_window_size(width, height)
        target = os.environ.get(SCREENSHOTS_ENV)
        if target:
            os.makedirs(target, exist_ok=True)
            _small_png(path, os.path.join(target, f"{name}.png"))
        return path


def _small_png(source: str, target: str) -> None:
    try:
        from PIL import Image
    except ImportError:
        shutil.copyfile(source, target)
        return
    with Image.open(source) as image:
        image.convert("RGB").quantize(colors=128, method=Image.Quantize.FASTOCTREE).save(target, optimize=True)
