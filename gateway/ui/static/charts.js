/* Small inline SVG charts (no library): horizontal bars, one per slice (overall first, then languages). */
"use strict";

N2P.charts = (function () {
  const { el, formatNumber } = N2P;
  const ROW = 18;
  const LABEL = 64;
  const VALUE = 40;

  /* The metric to chart from a metrics dict: macro F1 when there is one, else the first numeric field. */
  function primaryMetric(metrics) {
    const names = Object.keys(metrics || {}).filter((name) => typeof metrics[name] === "number");
    return names.find((name) => /macro.?f1/i.test(name)) || names.sort()[0] || null;
  }

  /* slices: [{name, value}] with values in [0, max]; description: the chart's text alternative. */
  function bars(slices, description, options) {
    const width = (options && options.width) || 200;
    const max = (options && options.max) || 1;
    const track = width - LABEL - VALUE;
    const height = Math.max(1, slices.length) * ROW + 2;
    const svg = el("svg", { svg: true, class: "chart", role: "img", "aria-label": description,
                            width, height, viewBox: `0 0 ${width} ${height}` });
    svg.append(el("title", { svg: true }, description));
    slices.forEach((slice, index) => {
      const y = index * ROW + 1;
      const share = Math.max(0, Math.min(1, slice.value / max));
      const overall = slice.name === "overall";
      svg.append(
        el("text", { svg: true, x: 0, y: y + ROW - 4, "font-weight": overall ? 700 : 400 }, slice.name),
        el("rect", { svg: true, class: "track", x: LABEL, y: y + 2, width: track, height: ROW - 5, rx: 2 }),
        el("rect", { svg: true, class: overall ? "bar overall" : "bar", x: LABEL, y: y + 2,
                     width: (share * track).toFixed(1), height: ROW - 5, rx: 2 }),
        el("text", { svg: true, x: width, y: y + ROW - 4, "text-anchor": "end" }, formatNumber(slice.value, 2)));
    });
    return svg;
  }

  /* The slices of one metric from {"overall": {...}, "per_language": {lang: {...}}}, overall first. */
  function metricSlices(metrics, metric) {
    const slices = [];
    if (metrics.overall && typeof metrics.overall[metric] === "number") {
      slices.push({ name: "overall", value: metrics.overall[metric] });
    }
    const perLanguage = metrics.per_language || {};
    for (const language of Object.keys(perLanguage).sort()) {
      const value = perLanguage[language] && perLanguage[language][metric];
      if (typeof value === "number") slices.push({ name: language, value });
    }
    return slices;
  }

  function describe(slices) {
    return slices.map((slice) => slice.name + " " + formatNumber(slice.value, 3)).join(", ");
  }

  return { primaryMetric, bars, metricSlices, describe };
})();
