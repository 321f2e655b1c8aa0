"""The web interface without a browser: catalogs, language choice, page shells, static files, no CDN."""

from __future__ import annotations

import os
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway import ui
from gateway.ui import i18n

UI_DIR = os.path.dirname(ui.__file__)
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@pytest.fixture(scope="module")
def client():
    app = FastAPI()
    app.include_router(ui.router)
    return TestClient(app)


def _shipped_files():
    for folder in ("templates", "static"):
        for name in sorted(os.listdir(os.path.join(UI_DIR, folder))):
            yield os.path.join(UI_DIR, folder, name)


@pytest.mark.parametrize("language", [code for code in i18n.LANGUAGES if code != "en"])
def test_every_catalog_has_the_english_keys_and_placeholders(language):
    english, other = i18n.catalog("en"), i18n.catalog(language)
    assert sorted(other) == sorted(english)
    for key, text in english.items():
        assert set(PLACEHOLDER.findall(other[key])) == set(PLACEHOLDER.findall(text)), key
        assert other[key].strip(), key


def test_every_message_key_the_scripts_use_is_in_the_catalog():
    used = set()
    for path in _shipped_files():
        if path.endswith(".js"):
            with open(path, encoding="utf-8") as stream:
                used |= set(re.findall(r"\bt\(\"([a-z_]+(?:\.[a-z_]+)+)\"", stream.read()))
    assert used and used <= set(i18n.catalog("en")), sorted(used - set(i18n.catalog("en")))


@pytest.mark.parametrize("query, cookie, header, expected", [
    ("es", None, "en-US,en;q=0.9", "es"),
    (None, "es", "en", "es"),
    ("xx", None, "es-MX,es;q=0.8,en;q=0.5", "es"),
    (None, None, "fr-FR, en;q=0.4, es;q=0.6", "es"),
    (None, None, "es;q=0, en", "en"),
    (None, None, "de-DE", "en"),
    (None, None, None, "en"),
])
def test_language_choice_query_then_cookie_then_accept_language(query, cookie, header, expected):
    assert i18n.choose_language(query, cookie, header) == expected


@pytest.mark.parametrize("path", ["/ui", "/ui/", "/ui/try", "/ui/versions", "/ui/changes", "/ui/quality", "/ui/keys"])
def test_each_page_renders_in_each_language_with_a_strict_policy(client, path):
    for language in i18n.LANGUAGES:
        answer = client.get(path, params={"lang": language})
        assert answer.status_code == 200
        assert f'<html lang="{language}">' in answer.text
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert "<script>" not in answer.text  # no inline script: the policy would refuse it
        assert answer.cookies.get(i18n.COOKIE) == language
    assert client.head(path).status_code == 200


def test_admin_controls_are_hidden_until_the_key_is_known(client):
    for path in ("/ui/changes", "/ui/keys"):
        html = client.get(path).text
        assert re.search(r'<div data-scope="admin" hidden id="admin-controls">', html)
    navigation = client.get("/ui/try").text
    assert len(re.findall(r'<li data-scope="\w+" hidden>', navigation)) == len(ui.PAGES)


def test_static_files_are_served_from_the_package_only(client):
    assert client.get("/ui/static/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/ui/static/ui.css").headers["content-type"].startswith("text/css")
    for bad in ("/ui/static/pages.py", "/ui/static/..%2Fpages.py", "/ui/static/nothing.js", "/ui/nothing"):
        assert client.get(bad).status_code == 404, bad


def test_nothing_is_loaded_from_another_origin():
    for path in _shipped_files():
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
        external = [url for url in re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", text)
                    if url != "http://www.w3.org/2000/svg"]
        assert external == [], (path, external)


def test_the_interface_imports_no_tensorflow():
    for name in sorted(os.listdir(UI_DIR)):
        if name.endswith(".py"):
            with open(os.path.join(UI_DIR, name), encoding="utf-8") as stream:
                source = stream.read()
            assert not re.search(r"^\s*(import|from)\s+(tensorflow|serving|pipeline|components|models)\b",
                                 source, re.M), name
