"""The web interface in headless Chromium against a real gateway and a real `nlp2prod serve`.

Each test signs in with one of the gateway's test keys (conftest): `ops-admin` (admin), `support-lead`
(predict + read), `ticket-bot` (predict). The tests run in file order: the label moves leave `stable` where
they found it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from ui_test_support import MODEL, TRAINED_LANGUAGES, label_version

GERMAN = "Das Essen in diesem Restaurant war ausgezeichnet"
ARABIC = "مرحبا، كيف حالك اليوم؟ أتمنى أن تكون بخير"
JAPANESE = "今日はとても良い天気ですね、散歩に行きましょう"
SPANISH = "¿Dónde está mi pedido? Lo pagué hace una semana y todavía no ha llegado"
LABELS = ("food", "greetings", "sports")


def _server_labels(model_server, texts, label):
    """What the model server itself answers for `texts` under `label` (the gateway must show the same)."""
    request = urllib.request.Request(f"{model_server}/v1/models/{MODEL}/labels/{label}:predict",
                                     data=json.dumps({"instances": texts}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return [row["label"] for row in json.load(answer)["predictions"]]


def _whoami_status(gateway, key):
    request = urllib.request.Request(f"{gateway.url}/v1/whoami", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def _result_cards(page):
    cards = []
    for item in page.find_all("#results > li"):
        cards.append({
            "label": item.find_element("css selector", ".badge").text,
            "classes": [row.find_element("css selector", "th").text for row in
                        item.find_elements("css selector", "table.probabilities tbody tr")],
            "warning": [w.text for w in item.find_elements("css selector", ".language-warning")],
            "rtl": page.driver.execute_script("return arguments[0].matches(':dir(rtl)');",
                                              item.find_element("css selector", ".result-text")),
        })
    return cards


def test_try_it_shows_label_bars_language_and_a_warning_for_untrained_languages(page, model_server):
    page.sign_in("support-lead")
    page.wait(lambda: len(page.find_all("#target option")) > 1, "the versions and labels to ask")
    page.type_into("#texts", "\n".join([GERMAN, ARABIC, JAPANESE]))
    page.find("#target option[value='label:stable']").click()
    page.find("#classify").click()
    page.wait(lambda: len(page.find_all("#results > li")) == 3, "three results")
    cards = _result_cards(page)
    assert [card["label"] for card in cards] == _server_labels(model_server, [GERMAN, ARABIC, JAPANESE], "stable")
    assert all(sorted(card["classes"]) == sorted(LABELS) for card in cards)
    assert [bool(card["warning"]) for card in cards] == [False, True, True]
    assert all(", ".join(["German (de)", "English (en)", "Spanish (es)"]) in text for text in cards[1]["warning"])
    assert [card["rtl"] for card in cards] == [False, True, False]
    assert "version 1" in page.text("#answered-by")
    assert page.focused_id() == "results-title"
    page.snap("try")


def test_try_it_in_spanish_keeps_the_choice(page):
    page.sign_in("ticket-bot")
    page.open("/ui/try?lang=es")
    page.wait(lambda: page.text("h1") == "Probar", "the Spanish page")
    assert page.driver.find_element("css selector", "html").get_attribute("lang") == "es"
    assert page.text("label[for=texts]") == "Textos para clasificar (uno por línea)"
    page.open("/ui/try")
    page.wait(lambda: page.text("h1") == "Probar", "the language kept by its cookie")
    page.type_into("#texts", SPANISH + "\n" + GERMAN)
    page.find("#classify").click()
    page.wait(lambda: len(page.find_all("#results > li")) == 2, "two results")
    assert page.text("#results .result-meta").startswith("Categoría: ")
    assert "Idioma detectado: español (es)" in page.text("#results > li:first-child")
    page.snap("try-es")
    markup = "<img src=x onerror=document.title='broken'> <b>negrita</b>"
    page.type_into("#texts", markup)
    page.find("#classify").click()
    page.wait(lambda: len(page.find_all("#results > li")) == 1, "one result")
    assert page.text("#results .result-text") == markup  # shown as text, never as HTML
    assert not page.find_all("#results img, #results b") and page.driver.title != "broken"


def test_keys_without_admin_see_no_admin_controls_and_are_refused(page):
    page.sign_in("support-lead")
    visible = [link.text for link in page.find_all("nav a") if link.is_displayed()]
    assert visible == ["Try it", "Versions", "Quality over time"]
    for path, form in (("/ui/keys", "#key-form"), ("/ui/changes", "#change-form")):
        page.open(path)
        page.wait(lambda: page.shown("#needs-admin"), f"the admin notice on {path}")
        assert not page.shown("#admin-controls") and not page.shown(form)
        assert "predict, read" in page.text("#needs-admin")
    page.snap("changes-without-admin")
    refused = {f"{method} {path}": page.api(method, path, body)["status"] for method, path, body in [
        ("POST", "/v1/labels/plan", {"action": "promote", "version": 2}),
        ("POST", "/v1/labels/apply", {"action": "promote", "version": 2, "confirm_version": 2}),
        ("GET", "/v1/audit", None), ("GET", "/v1/keys", None), ("POST", "/v1/keys", {"name": "x", "scopes": ["admin"]}),
        ("DELETE", "/v1/keys/000000000000", None)]}
    assert set(refused.values()) == {403}, refused


def test_versions_show_state_labels_metrics_charts_and_lineage(page):
    page.sign_in("ops-admin")
    page.open("/ui/versions")
    page.wait(lambda: len(page.find_all("#versions-body tr[data-version]")) == 2, "two versions")
    rows = page.find_all("#versions-body tr[data-version]")
    assert [row.get_attribute("data-version") for row in rows] == ["2", "1"]
    assert "stable" in rows[1].text
    assert rows[1].find_element("css selector", "td[data-state]").get_attribute("data-state") == "AVAILABLE"
    assert "serving" in rows[1].text
    for row in rows:
        chart = row.find_element("css selector", "svg.chart")
        assert all(language in chart.get_attribute("aria-label") for language in TRAINED_LANGUAGES)
        assert len(chart.find_elements("css selector", "rect.bar")) == 1 + len(TRAINED_LANGUAGES)
    rows[0].find_element("css selector", "button").click()
    page.wait(lambda: "test-2" in page.text("#lineage-body"), "the lineage of version 2")
    assert page.text("#lineage-title") == "Lineage of version 2"
    assert "version 1" in page.text("#lineage-body")
    page.snap("versions")


def _preview(page, action, version=""):
    page.find(f"#action-{action}").click()
    page.type_into("#change-version", version)
    page.find("#preview").click()
    page.wait(lambda: page.driver.execute_script("return document.getElementById('confirm-dialog').open;"),
              "the confirmation dialog")
    return page.text("#confirm-lines")


def test_promote_and_roll_back_through_the_confirmation(page, model_server):
    from selenium.webdriver.common.keys import Keys

    page.sign_in("ops-admin")
    page.open("/ui/changes")
    page.wait(lambda: "stable" in page.text("#current-labels"), "the current labels")
    assert _preview(page, "promote", "2") == "stable: 1 → 2"
    assert page.text("#confirm-input-label") == "Type 2 to confirm"
    assert not page.find("#confirm-ok").is_enabled()
    page.type_into("#confirm-input", "1")
    assert not page.find("#confirm-ok").is_enabled()
    page.type_into("#confirm-input", "2")
    page.snap("changes-confirm")
    page.find("#confirm-ok").click()
    page.wait(lambda: "Done: stable: 1 → 2" in page.text("#change-result"), "the promotion's result")
    page.wait(lambda: label_version(model_server, MODEL, "stable") == 2, "the server to serve stable = 2")
    page.wait(lambda: "stable: 1 → 2" in page.text("#audit-body") and "→ 2" in page.text("#current-labels"),
              "the audit trail and labels after the promotion")
    assert "label.promote" in page.text("#audit-body tr:first-child")
    page.snap("changes")

    assert _preview(page, "rollback") == "stable: 2 → 1"
    page.find("#confirm-input").send_keys(Keys.ESCAPE)
    page.wait(lambda: page.text("#change-result") == "Cancelled: nothing was changed.", "the cancelled move")
    assert label_version(model_server, MODEL, "stable") == 2
    _preview(page, "rollback")
    page.find("#confirm-input").send_keys("1", Keys.ENTER)
    page.wait(lambda: "Done: stable: 2 → 1" in page.text("#change-result"), "the rollback's result")
    page.wait(lambda: label_version(model_server, MODEL, "stable") == 1, "the server to serve stable = 1")
    assert "label.rollback" in page.text("#audit-body tr:first-child")


def test_keys_created_once_listed_and_revoked(page, gateway):
    page.sign_in("ops-admin")
    page.open("/ui/keys")
    page.wait(lambda: "support-lead" in page.text("#keys-body"), "the key list")
    page.type_into("#key-name", "qa-reader")
    page.find("#scope-read").click()
    page.type_into("#key-expires", "0")
    page.find("#create-key").click()
    page.wait(lambda: page.text("#key-expires-error"), "the refusal of 0 days")
    assert page.focused_id() == "key-expires" and not page.shown("#new-key")
    page.type_into("#key-expires", "30")
    page.find("#create-key").click()
    page.wait(lambda: page.shown("#new-key"), "the new key's secret")
    secret = page.find("#new-key-secret").get_attribute("value")
    assert secret.startswith("n2p_") and _whoami_status(gateway, secret) == 200
    page.wait(lambda: "qa-reader" in page.text("#keys-body"), "the new key in the list")
    page.snap("keys")
    page.open("/ui/keys")
    page.wait(lambda: "qa-reader" in page.text("#keys-body"), "the key list again")
    assert not page.shown("#new-key") and secret not in page.driver.page_source
    row = next(r for r in page.find_all("#keys-body tr") if "qa-reader" in r.text)
    assert "predict, read" in row.text and "active" in row.text and "never" not in row.text
    assert "never" in next(r for r in page.find_all("#keys-body tr") if "ticket-bot" in r.text).text
    row.find_element("css selector", "button").click()
    page.wait(lambda: page.driver.execute_script("return document.getElementById('confirm-dialog').open;"),
              "the revocation's confirmation")
    page.find("#confirm-ok").click()
    page.wait(lambda: "Key “qa-reader” revoked." in page.text("#page-status"), "the revocation")
    row = next(r for r in page.find_all("#keys-body tr") if "qa-reader" in r.text)
    assert "revoked" in row.text and not row.find_elements("css selector", "button")  # listed before the message
    assert _whoami_status(gateway, secret) == 401


def test_quality_shows_a_placeholder_then_the_monitoring_report(page, gateway):
    page.sign_in("support-lead")
    page.open("/ui/quality")
    page.wait(lambda: page.shown("#quality-placeholder"), "the placeholder")
    assert "No monitoring report yet" in page.text("#quality-placeholder")
    report = {"model": MODEL, "generated_at": "2026-12-01T06:00:00+00:00",
              "window": {"start": "2026-11-30T06:00:00+00:00", "end": "2026-12-01T06:00:00+00:00"},
              "texts": 120, "problems": [], "alerts": [], "versions": {"1": {
                  "texts": 120, "language_share": {"de": 0.5, "en": 0.3, "ja": 0.2},
                  "languages": {lang: {"texts": 10, "mean_max_probability": p, "low_confidence_share": 1 - p}
                                for lang, p in (("de", 0.8), ("en", 0.9), ("ja", 0.4))},
                  "live": {}, "alerts": [{"kind": "untrained", "message": "20.0% of texts are in languages the "
                                                                         "model was not trained on"}]}}}
    with open(gateway.settings.monitoring_report, "w", encoding="utf-8") as stream:
        json.dump(report, stream)
    page.open("/ui/quality")
    page.wait(lambda: page.find_all("#quality-body svg.chart"), "the report's charts")
    assert len(page.find_all("#quality-body svg.chart")) == 3
    assert "20.0% of texts" in page.text("#quality-body .alerts")
    page.snap("quality")


def test_every_page_is_labelled_readable_and_self_contained(page):
    page.sign_in("ops-admin")
    for path in ("/ui/try", "/ui/versions", "/ui/changes", "/ui/quality", "/ui/keys"):
        page.open(path)
        page.wait(lambda: page.shown("#identity"), f"{path} to load")
        unlabelled = page.driver.execute_script("""
            return [...document.querySelectorAll('input, select, textarea, button')]
              .filter((c) => c.offsetParent !== null)
              .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label') && !c.textContent.trim())
              .map((c) => c.outerHTML);""")
        assert unlabelled == [], path
        low = page.driver.execute_script(_LOW_CONTRAST_SCRIPT)
        assert low == [], f"{path}: text under 4.5:1 contrast: {low}"
        assert page.loaded_from_elsewhere() == [], path


def test_keyboard_only_sign_in_and_form_order(page):
    from selenium.webdriver.common.keys import Keys

    page.open("/ui/")
    page.wait(lambda: page.focused_id() == "key", "focus in the key field")
    page.snap("signin")
    page.driver.switch_to.active_element.send_keys(page.gateway.keys["ticket-bot"], Keys.ENTER)
    page.wait(lambda: page.driver.current_url.endswith("/ui/try"), "signing in with Enter")
    page.wait(lambda: page.shown("#identity"), "the identity")
    page.find("#texts").click()
    order = []
    for _ in range(2):
        page.driver.switch_to.active_element.send_keys(Keys.TAB)
        order.append(page.focused_id())
    assert order == ["target", "classify"]


# Relative luminance contrast (WCAG 2) of each element's own text against the first opaque background behind it.
_LOW_CONTRAST_SCRIPT = """
const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
const luminance = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 :
  Math.pow((v + 0.055) / 1.055, 2.4); }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
const background = (node) => {
  for (; node; node = node.parentElement) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
  }
  return [255, 255, 255];
};
const low = [];
for (const node of document.querySelectorAll('body *')) {
  const own = [...node.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
  if (!own || node.offsetParent === null || node.closest('svg, [aria-hidden=true]')) continue;
  const style = getComputedStyle(node);
  if (style.visibility === 'hidden' || node.closest('.visually-hidden, .skip-link')) continue;
  const [a, b] = [luminance(rgb(style.color).slice(0, 3)), luminance(background(node))];
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < 4.5) low.push(node.tagName + ' ' + node.textContent.trim().slice(0, 30) + ' ' + ratio.toFixed(2));
}
return low;
"""
