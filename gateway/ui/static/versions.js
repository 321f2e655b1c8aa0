/* Versions: one row per version (state, labels, pushed-when, data span, metrics, a chart per language) and the
   lineage of the version asked for. */
"use strict";

N2P.pages.versions = function (who) {
  const { t, el, api, say, formatNumber, formatTime, charts } = N2P;
  const status = document.getElementById("page-status");
  if (!N2P.hasScope(who, "read")) return;

  function metricList(overall) {
    const names = Object.keys(overall || {}).sort();
    if (!names.length) return t("common.unknown");
    return el("ul", { class: "metric-list" }, names.map((name) =>
      el("li", {}, name + " " + formatNumber(overall[name]))));
  }

  function chart(version) {
    const metrics = version.metrics || {};
    const metric = charts.primaryMetric(metrics.overall);
    const slices = metric ? charts.metricSlices(metrics, metric) : [];
    if (!slices.length) return t("common.unknown");
    const description = t("versions.chart_label", { metric, version: version.version, values: charts.describe(slices) });
    return el("figure", { class: "chart-cell" }, charts.bars(slices, description, { width: 200 }));
  }

  function row(version) {
    const lineageButton = el("button", {
      type: "button", class: "secondary small", "aria-label": t("versions.show_lineage_of", { version: version.version }),
      onclick: () => showLineage(version.version),
    }, t("versions.show_lineage"));
    return el("tr", { "data-version": version.version },
      el("th", { scope: "row", class: "number" }, version.version),
      el("td", {}, el("span", { class: "state-" + version.state }, version.state)),
      el("td", {}, (version.labels || []).length ?
        el("ul", { class: "label-list" }, version.labels.map((label) => el("li", {}, el("span", { class: "badge" }, label)))) :
        "—"),
      el("td", {}, formatTime(version.pushed_at)),
      el("td", {}, version.data_span ?? t("common.unknown")),
      el("td", {}, metricList((version.metrics || {}).overall)),
      el("td", {}, chart(version)),
      el("td", {}, lineageButton));
  }

  function fact(term, value) {
    return [el("dt", {}, term), el("dd", {}, value)];
  }

  function lineageFacts(lineage) {
    const baseline = lineage.baseline || {};
    const evaluation = lineage.evaluation || {};
    const verdict = { true: "lineage.blessed", false: "lineage.not_blessed" }[String(evaluation.blessed)] ||
      "lineage.blessing_unknown";
    const steps = (lineage.components || []).map((step) => step.node + ": " + String(step.state).toLowerCase());
    const labels = lineage.labels || {};
    const events = (labels.events || []).map((event) => formatTime(event.time) + " · " + event.action + " · " +
      (event.user || "") + " · " + N2P.describeMove({ label: event.label, from: event.from_version, to: event.to_version }));
    return el("dl", { class: "facts" },
      fact(t("lineage.run"), lineage.run_id || t("common.unknown")),
      fact(t("lineage.pushed"), formatTime(lineage.pushed_at)),
      fact(t("lineage.spans"), (lineage.data_spans || []).join(", ") || t("common.unknown")),
      fact(t("lineage.baseline"), baseline.version === null || baseline.version === undefined ? t("lineage.first_model") :
        t("lineage.baseline_version", { version: baseline.version, source: baseline.source })),
      fact(t("lineage.evaluation"), t(verdict)),
      fact(t("lineage.steps"), steps.join(", ") || t("common.unknown")),
      fact(t("lineage.labels_now"), (labels.current || []).join(", ") || t("common.none")),
      events.length ? fact(t("lineage.events"), el("ul", {}, events.map((line) => el("li", {}, line)))) : null);
  }

  async function showLineage(version) {
    const panel = document.getElementById("lineage-panel");
    const title = document.getElementById("lineage-title");
    const target = document.getElementById("lineage-body");
    title.textContent = t("lineage.title", { version });
    target.replaceChildren(el("p", {}, t("common.loading")));
    panel.hidden = false;
    try {
      const lineage = await api("GET", "/v1/versions/" + version + "/lineage");
      target.replaceChildren(lineageFacts(lineage), el("details", {},
        el("summary", {}, t("lineage.raw")), el("pre", {}, JSON.stringify(lineage, null, 2))));
    } catch (error) {
      target.replaceChildren(el("p", { class: "notice" }, t("lineage.unavailable", { version, reason: error.message })));
    }
    title.focus();
  }

  async function load() {
    say(status, "info", t("common.loading"));
    try {
      const answer = await api("GET", "/v1/versions");
      const versions = (answer.versions || []).slice().sort((a, b) => b.version - a.version);
      document.getElementById("versions-caption").textContent = t("versions.caption", { model: answer.model });
      document.getElementById("versions-body").replaceChildren(...(versions.length ? versions.map(row) :
        [el("tr", {}, el("td", { colspan: 8 }, t("versions.empty")))]));
      say(status, "info", "");
    } catch (error) {
      say(status, "error", error.message);
    }
  }

  load();
};
