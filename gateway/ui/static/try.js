/* Try it: classify texts (one per line) and show, for each, the label, a bar per class, the detected language
   and a warning when the served version was not trained or evaluated on that language. */
"use strict";

N2P.pages.try = function (who) {
  const { t, el, api, say, formatNumber, languageName } = N2P;
  const form = document.getElementById("try-form");
  const texts = document.getElementById("texts");
  const textsError = document.getElementById("texts-error");
  const target = document.getElementById("target");
  const button = document.getElementById("classify");
  const status = document.getElementById("page-status");
  let versions = [];
  let answeredVersion = null;

  async function loadTargets() {
    if (!N2P.hasScope(who, "read")) return;
    try {
      versions = (await api("GET", "/v1/versions")).versions || [];
    } catch (error) {
      say(status, "error", error.message);
      return;
    }
    const labelled = [];
    for (const version of versions) {
      for (const label of version.labels || []) labelled.push({ label, version: version.version });
    }
    labelled.sort((a, b) => a.label.localeCompare(b.label));
    if (labelled.length) {
      target.append(el("optgroup", { label: t("try.target_labels") }, labelled.map((item) =>
        el("option", { value: "label:" + item.label }, t("try.target_label", item)))));
    }
    const numbers = versions.map((v) => v.version).sort((a, b) => b - a);
    if (numbers.length) {
      target.append(el("optgroup", { label: t("try.target_versions") }, numbers.map((version) =>
        el("option", { value: "version:" + version }, t("try.target_version", { version })))));
    }
  }

  function request(lines) {
    const body = { texts: lines };
    const [kind, value] = target.value.split(":");
    if (kind === "label") body.label = value;
    if (kind === "version") body.version = Number(value);
    return body;
  }

  function probabilityRows(probabilities, label) {
    const entries = Object.entries(probabilities).sort((a, b) => b[1] - a[1]);
    return entries.map(([name, value]) => {
      const fill = el("span", { class: "bar-fill" });
      fill.style.width = Math.max(0, Math.min(100, value * 100)).toFixed(1) + "%";
      return el("tr", { class: name === label ? "top-class" : null },
        el("th", { scope: "row", dir: "auto" }, name),
        el("td", { "aria-hidden": "true" }, el("span", { class: "bar-track" }, fill)),
        el("td", { class: "value" }, formatNumber(value * 100, 1) + " %"));
    });
  }

  function warning(prediction, known) {
    if (prediction.language_supported !== false) return null;
    const text = known(prediction.language) ? t("try.unsupported", { language: languageName(prediction.language) }) :
      t("try.unsupported_unknown", { languages: trainedLanguages() || t("common.unknown") });
    return el("p", { class: "language-warning" }, text);
  }

  function resultItem(text, prediction) {
    const known = (code) => Boolean(code) && code !== "und";
    const language = known(prediction.language) ? languageName(prediction.language) : t("try.language_unknown");
    return el("li", { class: "result" },
      el("p", { class: "result-text", dir: "auto", lang: known(prediction.language) ? prediction.language : null }, text),
      el("p", { class: "result-meta" },
        el("span", {}, t("try.label") + ": ", el("span", { class: "badge", dir: "auto" }, prediction.label)),
        el("span", {}, t("try.language", { language }))),
      warning(prediction, known),
      el("table", { class: "probabilities" },
        el("caption", { class: "visually-hidden" }, t("try.probabilities")),
        el("colgroup", {}, el("col", { class: "class-column" }), el("col", {}), el("col", { class: "value-column" })),
        el("thead", { class: "visually-hidden" }, el("tr", {},
          el("th", { scope: "col" }, t("try.class")), el("td", {}), el("th", { scope: "col" }, t("try.probability")))),
        el("tbody", {}, probabilityRows(prediction.probabilities || {}, prediction.label))));
  }

  function trainedLanguages() {
    const served = versions.find((v) => v.version === answeredVersion);
    return served && served.languages && served.languages.length ? served.languages.map(languageName).join(", ") : "";
  }

  function showResults(lines, answer) {
    document.getElementById("answered-by").textContent =
      t("try.answered_by", { model: answer.model, version: answer.version });
    answeredVersion = answer.version;
    const trained = trainedLanguages();
    document.getElementById("trained-on").textContent = trained ? t("try.trained_on", { languages: trained }) : "";
    document.getElementById("results").replaceChildren(
      ...answer.predictions.map((prediction, index) => resultItem(lines[index], prediction)));
    document.getElementById("results-panel").hidden = false;
    document.getElementById("results-title").focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const lines = texts.value.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
    textsError.textContent = "";
    texts.removeAttribute("aria-invalid");
    if (!lines.length) {
      textsError.textContent = t("try.empty");
      texts.setAttribute("aria-invalid", "true");
      texts.focus();
      return;
    }
    button.disabled = true;
    say(status, "info", t("try.working", { count: lines.length }));
    try {
      const answer = await api("POST", "/v1/classify", request(lines));
      say(status, "info", "");
      showResults(lines, answer);
    } catch (error) {
      say(status, "error", error.message);
    } finally {
      button.disabled = false;
    }
  });

  loadTargets();
};
