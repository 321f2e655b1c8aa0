/* Quality over time: the monitoring report's per-language charts, or a placeholder until monitoring has run. */
"use strict";

N2P.pages.quality = function (who) {
  const { t, el, api, formatTime, charts } = N2P;
  const target = document.getElementById("quality-body");
  if (!N2P.hasScope(who, "read")) return;

  function numericFields(perLanguage) {
    const names = new Set();
    for (const values of Object.values(perLanguage)) {
      for (const [name, value] of Object.entries(values || {})) if (typeof value === "number") names.add(name);
    }
    return [...names].sort();
  }

  function chartsOf(report) {
    const perLanguage = report.per_language && typeof report.per_language === "object" ? report.per_language : {};
    return numericFields(perLanguage).map((metric) => {
      const slices = Object.keys(perLanguage).sort()
        .filter((language) => typeof (perLanguage[language] || {})[metric] === "number")
        .map((language) => ({ name: language, value: perLanguage[language][metric] }));
      const max = Math.max(1, ...slices.map((slice) => slice.value));
      const description = t("quality.chart_label", { metric, values: charts.describe(slices) });
      return el("figure", { class: "chart-card" }, el("h3", {}, metric),
        charts.bars(slices, description, { width: 260, max }));
    });
  }

  async function load() {
    target.replaceChildren(el("p", {}, t("common.loading")));
    let report;
    try {
      report = await api("GET", "/v1/monitoring/report");
    } catch (error) {
      target.replaceChildren(el("p", { class: error.status === 404 ? "notice" : "status error", id: "quality-placeholder" },
        error.status === 404 ? t("quality.placeholder") : error.message));
      return;
    }
    const generated = report.generated_at || report.time;
    target.replaceChildren(
      generated ? el("p", {}, t("quality.generated", { time: formatTime(generated) })) : null,
      el("div", { class: "charts" }, chartsOf(report)),
      el("details", {}, el("summary", {}, t("quality.raw")), el("pre", {}, JSON.stringify(report, null, 2))));
  }

  load();
};
