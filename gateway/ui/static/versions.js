/* Versions: one row per version (state, labels, pushed-when, data span, metrics, a chart per language) and the
   lineage of the version asked for. */
"use strict";

N2P.pages.versions = function (who) {
  const { t, el, api, say, formatNumber, formatTime, charts } = N2P;
  const status = document.getElementById("page-status");
  if (!N2P.hasScope(who, "read")) return;

  function messageOr(key, fallback) {
    const text = t(key);
    return text === key ? fallback : text;
  }

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
      el("td", { "data-state": version.state }, el("span", { class: "state-" + version.state },
        messageOr("state." + version.state, version.state)), " ", el("code", { class: "state-code" }, version.state)),
      el("td", {}, (version.labels || []).length ?
        el("ul", { class: "label-list" },
          version.labels.map((label) => el("li", {}, el("span", { class: "badge" }, label)))) :
        "—"),
      el("td", {}, formatTime(version.pushed_at)),
      el("td", {}, version.data_span ?? t("common.unknown")),
      el("td", {}, metricList((version.metrics || {}).overall)),
      el("td", {}, chart(version)),
      el("td", {}, lineageButton));
  }

  function fact(term, value) {
    return value === null || value === undefined || value === "" ? null : [el("dt", {}, term), el("dd", {}, value)];
  }

  function baselineText(lineage) {
    const baseline = lineage.baseline && typeof lineage.baseline === "object" ? lineage.baseline :
      { version: lineage.baseline_version, source: t("lineage.from_metadata") };
    if (baseline.version === null || baseline.version === undefined) return t("lineage.first_model");
    return t("lineage.baseline_version", { version: baseline.version, source: baseline.source || "" });
  }

  function verdictText(evaluation) {
    if (!evaluation) return null;
    return t({ true: "lineage.blessed", false: "lineage.not_blessed" }[String(evaluation.blessed)] ||
      "lineage.blessing_unknown");
  }

  /* The CLI's lineage has labels {current, events}; the version metadata has the class labels as a list. */
  function labelFacts(labels) {
    if (Array.isArray(labels)) return [fact(t("lineage.classes"), labels.join(", "))];
    if (!labels || typeof labels !== "object") return [];
    const events = (labels.events || []).map((event) => el("li", {}, [formatTime(event.time), event.action,
      event.user || "", N2P.describeMove({ label: event.label, from: event.from_version, to: event.to_version })]
      .join(" · ")));
    return [fact(t("lineage.labels_now"), (labels.current || []).join(", ") || t("common.none")),
            events.length ? fact(t("lineage.events"), el("ul", {}, events)) : null];
  }

  function lineageFacts(lineage) {
    const steps = (lineage.components || []).map((step) => step.node + ": " + String(step.state).toLowerCase());
    return el("dl", { class: "facts" },
      fact(t("lineage.run"), lineage.run_id || t("common.unknown")),
      fact(t("lineage.pushed"), formatTime(lineage.pushed_at)),
      fact(t("lineage.spans"), (lineage.data_spans || []).join(", ") || t("common.unknown")),
      fact(t("lineage.baseline"), baselineText(lineage)),
      fact(t("lineage.evaluation"), verdictText(lineage.evaluation)),
      fact(t("lineage.steps"), steps.join(", ")),
      labelFacts(lineage.labels),
      fact(t("lineage.size"), typeof lineage.saved_model_bytes === "number" ?
        formatNumber(lineage.saved_model_bytes / 1e6, 1) + " MB" : null),
      fact(t("lineage.sparsity"), typeof lineage.sparsity === "number" ? formatNumber(lineage.sparsity, 2) : null),
      fact(t("lineage.path"), lineage.path ? el("code", {}, lineage.path) : null));
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
