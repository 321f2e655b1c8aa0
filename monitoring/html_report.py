"""The monitoring report as one self-contained HTML page: inline SVG charts, no scripts, no CDN.

Sections per version: alerts, language mix now vs training, language shares over time (with the untrained
share), text length now vs training per language, predicted vs training labels, and a per-language table
(every figure with its count beside it).
"""

from __future__ import annotations

import datetime
import html
from typing import Dict, List, Sequence, Tuple

from monitoring.distributions import length_bin_labels

NOW, TRAINING, ALERT = "#2b6cb0", "#a0aec0", "#c53030"
PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#b7791f", "#4a5568", "#e53e3e",
           "#3182ce", "#2f855a", "#6b46c1")
_STYLE = """body{font-family:system-ui,sans-serif;margin:24px;color:#1a202c;max-width:1100px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px}h3{font-size:15px;margin:18px 0 4px}
table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #e2e8f0;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}.alert{color:#c53030;font-weight:600}.ok{color:#2f855a}
.muted{color:#718096;font-size:13px}.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
svg text{font-size:11px;fill:#2d3748}"""


def _e(value) -> str:
    return html.escape(str(value))


def _bars(items: Sequence[Tuple[str, float, float]], width: int = 520, row: int = 22) -> str:
    """Horizontal paired bars: (name, now, training) shares in [0, 1]."""
    height = row * len(items) + 24
    scale = max([1e-9] + [max(a, b) for _, a, b in items])
    parts = [f'<svg width="{width}" height="{height}" role="img">']
    for i, (name, now, training) in enumerate(items):
        y, bar_width = 6 + i * row, width - 200
        parts.append(f'<text x="0" y="{y + 12}">{_e(name)}</text>')
        parts.append(f'<rect x="110" y="{y}" width="{bar_width * now / scale:.1f}" height="8" fill="{NOW}"/>')
        parts.append(f'<rect x="110" y="{y + 9}" width="{bar_width * training / scale:.1f}" height="8" '
                     f'fill="{TRAINING}"/>')
        parts.append(f'<text x="{width - 84}" y="{y + 12}">{now:.1%} / {training:.1%}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _lines(series: Sequence[dict], names: Sequence[str], width: int = 700, height: int = 220) -> str:
    """Per-language share over the window's time buckets, plus the untrained share (dashed, red)."""
    if not series:
        return ""
    left, bottom, top = 40, height - 28, 10
    step = (width - left - 10) / max(1, len(series) - 1)

    def point(i: int, value: float) -> str:
        return f"{left + i * step:.1f},{bottom - (bottom - top) * value:.1f}"

    parts = [f'<svg width="{width}" height="{height}" role="img">',
             f'<line x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}" stroke="#cbd5e0"/>']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = bottom - (bottom - top) * tick
        parts.append(f'<text x="0" y="{y + 4:.1f}">{tick:.0%}</text>'
                     f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#edf2f7"/>')
    for index, name in enumerate(names):
        points = " ".join(point(i, s["language_share"].get(name, 0.0)) for i, s in enumerate(series))
        parts.append(f'<polyline fill="none" stroke="{PALETTE[index % len(PALETTE)]}" stroke-width="2" '
                     f'points="{points}"/>')
    untrained = " ".join(point(i, s["untrained_share"]) for i, s in enumerate(series))
    parts.append(f'<polyline fill="none" stroke="{ALERT}" stroke-width="2" stroke-dasharray="5,3" '
                 f'points="{untrained}"/>')
    for i in (0, len(series) - 1):
        label = datetime.datetime.fromtimestamp(series[i]["start"], datetime.timezone.utc).strftime("%H:%M")
        parts.append(f'<text x="{left + i * step - (30 if i else 0):.1f}" y="{height - 8}">{label}</text>')
    parts.append("</svg>")
    legend = "".join(f'<span style="background:{PALETTE[i % len(PALETTE)]}"></span>{_e(n)}' for i, n in enumerate(names))
    return "".join(parts) + f'<div class="legend">{legend}<span style="background:{ALERT}"></span>untrained (dashed)</div>'


def _legend() -> str:
    return (f'<div class="legend"><span style="background:{NOW}"></span>now'
            f'<span style="background:{TRAINING}"></span>training</div>')


def _table(section: dict) -> str:
    head = ("language", "texts", "share", "trained", "mean length (train)", "length JS", "pred. drift",
            "low conf.", "live acc. (n)", "live macro-F1")
    rows = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for lang, s in sorted(section["languages"].items(), key=lambda item: -item[1]["texts"]):
        live = section["live"].get(lang)
        js = s["length"]["js_divergence"]
        training_mean = s["length"]["training_mean"]
        cells = [lang, s["texts"], f"{section['language_share'].get(lang, 0):.1%}",
                 "yes" if s["trained"] else '<span class="alert">no</span>',
                 f"{s['length']['mean']:.0f} ({training_mean:.0f})" if training_mean is not None
                 else f"{s['length']['mean']:.0f} (-)",
                 "-" if js is None else f"{js:.3f}", f"{s['prediction_drift']:.2f}" if "prediction_drift" in s else "-",
                 f"{s['low_confidence_share']:.1%}",
                 f"{live['accuracy']:.1%} ({live['labels']})" if live else "- (0)",
                 f"{live['macro_f1']:.3f}" if live else "-"]
        rows.append("<tr>" + "".join(f"<td>{c if isinstance(c, str) and c.startswith('<') else _e(c)}</td>"
                                     for c in cells) + "</tr>")
    return "".join(rows) + "</table>"


def _version(version: str, section: dict, alerts: List[dict]) -> str:
    reference = section["reference"]
    shares, training = section["language_share"], reference["detected_language_share"]
    names = sorted(set(shares) | set(training), key=lambda n: -max(shares.get(n, 0), training.get(n, 0)))[:14]
    parts = [f"<h2>Version {_e(version)}: {section['texts']} texts in {section['requests']} requests</h2>",
             f'<p class="muted">trained on {_e(", ".join(reference["trained_languages"]))} '
             f'({reference["examples"]} examples; statistics {_e(reference["source"].get("statistics", ""))})</p>']
    parts += [f'<p class="alert">&#9888; {_e(a["feature"])} [{_e(a["language"])}]: {_e(a["message"])}</p>'
              for a in alerts] or ['<p class="ok">no alert</p>']
    parts += ["<h3>Language mix: now vs training</h3>", _legend(),
              _bars([(n, shares.get(n, 0.0), training.get(n, 0.0)) for n in names])]
    top = [n for n in sorted(shares, key=lambda n: -shares[n])][:8]
    parts += ["<h3>Language shares over the window</h3>", _lines(section["series"], top)]
    parts += ["<h3>Per language</h3>", _table(section)]
    for lang, summary in sorted(section["languages"].items(), key=lambda item: -item[1]["texts"])[:8]:
        if summary["length"]["training_histogram"] is None:
            continue
        bins = list(zip(length_bin_labels(), summary["length"]["histogram"], summary["length"]["training_histogram"]))
        parts += [f"<h3>Text length in {_e(lang)} ({summary['texts']} texts): now vs training</h3>",
                  _bars([b for b in bins if b[1] or b[2]], row=18)]
        labels = summary["training_labels"] or {}
        predicted = summary["predicted_labels"]
        names = sorted(set(labels) | set(predicted))
        parts += [f"<h3>Predicted labels in {_e(lang)} vs training labels</h3>",
                  _bars([(n, predicted.get(n, 0.0), labels.get(n, 0.0)) for n in names], row=18)]
    return "".join(parts)


def render(report: dict) -> str:
    """The whole report page."""
    by_version: Dict[str, List[dict]] = {}
    for alert in report["alerts"]:
        by_version.setdefault(str(alert["version"]), []).append(alert)
    verdict = (f'<p class="alert">{len(report["alerts"])} alert(s)</p>' if report["breach"]
               else '<p class="ok">no alert</p>')
    body = [f"<h1>Monitoring: {_e(report['model'])}</h1>",
            f'<p class="muted">window {_e(report["window"]["start"])} .. {_e(report["window"]["end"])}, '
            f'{report["texts"]} logged texts in {report["files"]} file(s); generated {_e(report["generated_at"])}</p>',
            verdict]
    body += [f'<p class="muted">problem: {_e(p)}</p>' for p in report["problems"]]
    body += [_version(v, s, by_version.get(v, [])) for v, s in report["versions"].items()]
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>nlp2prod monitoring</title>'
            f'<style>{_STYLE}</style></head><body>{"".join(body)}</body></html>')
