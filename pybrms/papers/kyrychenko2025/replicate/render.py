"""Render the report's blocks: to Markdown, and to one self-contained HTML page.

A block is a tuple whose first item says what it is: ``("h1".."h4", text)``, ``("p", text)``
(``**bold**`` allowed), ``("ul", items)``, ``("table", DataFrame, name or None)``,
``("img", path, caption)``. Both renderings read the same blocks, so they always say the same
thing; the HTML embeds the figures.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import numpy as np

from ....compare.table import markdown_table

Block = tuple[Any, ...]


def to_markdown(blocks: list[Block]) -> str:
    """``report.md``: figures are linked as ``figures/<file name>``."""
    out = []
    for b in blocks:
        kind = b[0]
        if kind in ("h1", "h2", "h3", "h4"):
            out += ["#" * int(kind[1]) + " " + b[1], ""]
        elif kind == "p":
            out += [b[1], ""]
        elif kind == "ul":
            out += [f"- {x}" for x in b[1]] + [""]
        elif kind == "table":
            out += [markdown_table(b[1], digits=3), ""]
        elif kind == "img":
            out += [f"![{b[2]}](figures/{Path(b[1]).name})", ""]
    return "\n".join(out)


def _fmt_cell(v: Any) -> str:
    """An HTML table cell: floats to 3 decimals (3 significant digits from 1e5), NaN empty."""
    if isinstance(v, float):
        if np.isnan(v):
            return ""
        return f"{v:.3f}" if abs(v) < 1e5 else f"{v:.3g}"
    return html.escape(str(v))


def to_html(blocks: list[Block]) -> str:
    """``report.html``: one page, styles inline, figures embedded as base64 PNG."""
    body = []
    for b in blocks:
        kind = b[0]
        if kind in ("h1", "h2", "h3", "h4"):
            body.append(f"<{kind}>{html.escape(b[1])}</{kind}>")
        elif kind == "p":
            text = html.escape(b[1])
            while "**" in text:
                text = text.replace("**", "<strong>", 1).replace("**", "</strong>", 1)
            body.append(f"<p>{text}</p>")
        elif kind == "ul":
            body.append("<ul>" + "".join(f"<li>{html.escape(str(x))}</li>" for x in b[1]) + "</ul>")
        elif kind == "table":
            df = b[1]
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
            rows = "".join("<tr>" + "".join(f"<td>{_fmt_cell(v)}</td>" for v in row) + "</tr>"
                           for row in df.itertuples(index=False, name=None))
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif kind == "img":
            data = base64.b64encode(Path(b[1]).read_bytes()).decode()
            body.append(f'<figure><img alt="{html.escape(b[2])}" src="data:image/png;base64,{data}">'
                        f"<figcaption>{html.escape(b[2])}</figcaption></figure>")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0 1.5em}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
             "th{background:#f2f2f2}img{max-width:100%}")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>pybrms replication "
            f"report</title><style>{style}</style></head><body>\n" + "\n".join(body)
            + "\n</body></html>\n")
