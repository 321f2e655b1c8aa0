"""Developer docs: the OpenAPI description with examples, and /docs rendered offline by headless Chromium."""

from __future__ import annotations

import os
import shutil
import unicodedata

import pytest

from gateway.middleware import CONTENT_SECURITY_POLICY


def test_docs_page_and_assets_come_from_the_gateway_with_a_strict_csp(client):
    page = client.get("/docs")
    assert page.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")
    policy = page.headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY and "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    bundle = client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 500_000
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200
    assert client.get("/redoc").status_code == 404


def _scripts(text: str) -> set:
    return {unicodedata.name(ch).split()[0] for ch in text if ch.isalpha()}


def test_openapi_covers_every_endpoint_with_examples_in_several_scripts(client):
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    for path in ("/v1/classify", "/v1/whoami", "/v1/versions", "/v1/labels/plan", "/v1/labels/apply", "/v1/keys",
                 "/v1/keys/{key_id}", "/v1/audit", "/v1/usage", "/v1/models/{model}/labels/{label}:predict",
                 "/v1/models/{model}/versions/{version}/metadata", "/v1/models/{model}:classify"):
        assert path in paths, path
    examples = paths["/v1/classify"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    texts = " ".join(examples["several_languages"]["value"]["texts"])
    assert {"LATIN", "CJK", "HIRAGANA", "CYRILLIC", "ARABIC", "DEVANAGARI"} <= _scripts(texts)
    description = document["info"]["description"]
    for snippet in ("curl -s", "requests.post(", "prediction_service_pb2_grpc", "await fetch(",
                    'metadata=[("authorization"'):
        assert snippet in description


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_docs_render_offline_in_headless_chromium(gateway):
    if _chromium() is None or shutil.which("chromedriver") is None:
        pytest.fail("Chromium and chromedriver are needed: scripts/bootstrap.sh installs chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = _chromium()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 # any name but the gateway's address fails to resolve: the page must need nothing outside
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver"), log_output=os.devnull), options=options)
    try:
        driver.get(gateway.url + "/docs")
        wait = WebDriverWait(driver, 60)
        title = wait.until(expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, ".info .title")))
        assert "nlp2prod API" in title.text
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= 20)
        loaded = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert loaded and all(url.startswith(gateway.url) for url in loaded), loaded
        problems = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert not problems, problems
    finally:
        driver.quit()
