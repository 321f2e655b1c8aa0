/* Quality over time: the monitoring report's per-language charts for each version, its alerts and problems,
   or a placeholder until the monitoring job has written a report. */
"use strict";

N2P.pages.quality = function (who) {
  const { t, el, fill, api, formatTime, formatNumber, charts } = N2P;
  const target = document.getElementById("quality-body");
  if (!N2P.hasScope(who, "read")) return;
  const PER_LANGUAGE = ["mean_max_probability", "low_confidence_share"];

  function chartCard(metric, slices) {
    if (!slices.length) return null;
    const name = t("quality.metric." + metric);
    const description = t("quality.chart_label", { metric: name, values: charts.describe(slices) });
    return el("figure", { class: "chart-card" }, el("h4", {}, name), charts.bars(slices, description, { width: 260 }));
  }

  function slicesOf(values) {
    return Object.keys(values || {}).sort()
      .filter((name) => typeof values[name] === "number")
      .map((name) => ({ name, value: values[name] }));
  }

  function languageMetric(languages, metric) {
    const values = {};
    for (const [language, summary] of Object.entries(languages || {})) values[language] = (summary || {})[metric];
    return values;
  }

  function liveAccuracy(live) {
    const values = {};
    for (const [language, figures] of Object.entries(live || {})) {
      if (language !== "all") values[language] = figures.accuracy;
    }
    return values;
  }

  function versionSection(version, section) {
    const cards = [chartCard("language_share", slicesOf(section.language_share))]
      .concat(PER_LANGUAGE.map((metric) => chartCard(metric, slicesOf(languageMetric(section.languages, metric)))))
      .concat([chartCard("live_accuracy", slicesOf(liveAccuracy(section.live)))]);
    const alerts = section.alerts || [];
    return el("section", { class: "panel", "data-version": version },
      el("h3", {}, t("quality.version", { version, texts: formatNumber(section.texts || 0) })),
      el("div", { class: "charts" }, cards),
      el("h4", {}, t("quality.alerts")),
      alerts.length ? el("ul", { class: "alerts" }, alerts.map((alert) => el("li", {}, alert.message || alert.kind))) :
        el("p", {}, t("quality.no_alerts")));
  }

  function render(report) {
    const versions = report.versions && typeof report.versions === "object" ? Object.entries(report.versions) : [];
    const span = report.window || {};
    const problems = report.problems || [];
    fill(target,
      report.generated_at ? el("p", {}, t("quality.generated", { time: formatTime(report.generated_at) })) : null,
      span.start ? el("p", {}, t("quality.window", { start: formatTime(span.start), end: formatTime(span.end) })) : null,
      versions.sort((a, b) => Number(b[0]) - Number(a[0])).map(([number, section]) => versionSection(number, section)),
      problems.length ? [el("h3", {}, t("quality.problems")),
                         el("ul", {}, problems.map((problem) => el("li", {}, problem)))] : null,
      el("details", {}, el("summary", {}, t("quality.raw")), el("pre", {}, JSON.stringify(report, null, 2))));
  }

  async function load() {
    target.replaceChildren(el("p", {}, t("common.loading")));
    try {
      render(await api("GET", "/v1/monitoring/report"));
    } catch (error) {
      const missing = error.status === 404;
      target.replaceChildren(el("p", { class: missing ? "notice" : "status error", id: "quality-placeholder" },
        missing ? t("quality.placeholder") : error.message));
    }
  }

  load();
};
