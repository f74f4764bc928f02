"""The evidence of a claim as one link per grid point: a small page per compared grid point
(`runs/point-<experiment>-<digest>.html`, beside the executed notebooks it links to) that lists its
runs, one per seed (and fold), with the values of the metrics the claim reads and a link to each
executed notebook. The Claims page links each page once, instead of listing every run key."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

from labjournal.claims.words import number, point_words
from labjournal.files import sha256_bytes
from labjournal.records import KEY_SHOWN, IndexRow, short_key


@dataclass
class GridPoint:
    """One compared grid point of a claim: its experiment, its parameters, its runs and the
    metrics the claim reads there."""

    ref: str
    point: dict[str, Any]
    rows: list[IndexRow] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)

    @property
    def target(self) -> str:
        digest = sha256_bytes(json.dumps([self.ref, self.point], sort_keys=True, default=str).encode())[:10]
        return f"runs/point-{re.sub(r'[^A-Za-z0-9]+', '-', self.ref)}-{digest}.html"

    def words(self, labels: dict[str, str], keys: list[str] | None = None) -> str:
        """`lr 0.005, batch size 64` (the `keys` given, else every parameter of the point)."""
        return point_words(self.point, list(self.point) if keys is None else keys, labels) or self.ref

    @property
    def seeds(self) -> int:
        return len({row.seed for row in self.rows})


def _at(row: IndexRow, point: dict[str, Any]) -> bool:
    return all(row.params.get(k) == v for k, v in point.items())


def _shared(rows: list[IndexRow], point: dict[str, Any]) -> dict[str, Any]:
    """A grid point as its runs have it: every parameter they share (a trend's points and a
    comparison's `at:` name the same point with more or fewer parameters)."""
    if not rows:
        return dict(point)
    first = rows[0].params
    return {k: v for k, v in sorted(first.items()) if all(r.params.get(k) == v for r in rows)}


def grid_points(evidence: list[Any]) -> list[GridPoint]:
    """The grid points a claim's parts compare, in the order the parts name them, each once."""
    found: dict[str, GridPoint] = {}
    for part in evidence:
        for point in part.points:
            rows = [row for row in part.runs if _at(row, point)]
            here = GridPoint(part.ref, _shared(rows, point))
            known = found.setdefault(here.target, here)
            known.rows += [row for row in rows if all(row.key != r.key for r in known.rows)]
            if part.metric and part.metric not in known.metrics:
                known.metrics.append(part.metric)
    for point in found.values():
        point.rows.sort(
            key=lambda r: (r.seed is None, r.seed, json.dumps(r.params, sort_keys=True, default=str))
        )
    return list(found.values())


def varying(points: list[GridPoint]) -> dict[str, list[str]]:
    """For each experiment, the parameters its compared points differ in (what a link names)."""
    keys: dict[str, list[str]] = {}
    for ref in dict.fromkeys(point.ref for point in points):
        mine = [point.point for point in points if point.ref == ref]
        names = list(dict.fromkeys(k for point in mine for k in point))
        keys[ref] = [k for k in names if len({json.dumps(p.get(k), default=str) for p in mine}) > 1]
    return keys


def _cell(value: Any) -> str:
    if value is None:
        return "never reached"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(float(value), None) if isinstance(value, float) else number(float(value), 0)
    return html.escape(str(value))


STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;"
    "color:#222;line-height:1.5}table{border-collapse:collapse;margin:1rem 0}"
    "th,td{padding:.25rem .75rem;border-bottom:1px solid #ddd;text-align:left}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}a{color:#1f5fa8}"
)


def page_html(point: GridPoint, labels: dict[str, str], back: str, claims: list[str]) -> str:
    """The page of one grid point: its runs, the values the claims read, links to the notebooks."""
    title = html.escape(f"{point.ref}: {point.words(labels)}")
    varying = sorted({k for row in point.rows for k in row.params if k not in point.point})
    varying = [k for k in varying if len({json.dumps(r.params.get(k), default=str) for r in point.rows}) > 1]
    head = ["seed", *varying, *point.metrics, "executed notebook"]
    rows = []
    for row in point.rows:
        cells = [_cell(row.seed), *(_cell(row.params.get(k)) for k in varying)]
        cells += [_cell(row.metrics.get(m)) for m in point.metrics]
        link = f'<a href="{short_key(row.key)}.html">{short_key(row.key, KEY_SHOWN)}</a>'
        status = "" if row.status == "ok" else f" ({html.escape(str(row.status))})"
        cells.append(link + status)
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    header = "".join(f"<th>{html.escape(h.replace('_', ' '))}</th>" for h in head)
    named = ", ".join(html.escape(c) for c in claims)
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{STYLE}</style></head><body>\n"
        f'<p><a href="../{html.escape(back)}">← The journal\'s claims</a></p>\n'
        f"<h1>{title}</h1>\n<p>The {len(point.rows)} runs of this grid point, {point.seeds} seeds, "
        f"that the claims {named} compare. Each links to its executed notebook.</p>\n"
        f"<table><thead><tr>{header}</tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n"
        "</body></html>\n"
    )
