r"""A small document writer: tables, notes and figures as Markdown, HTML and LaTeX.

What every command that writes a summary uses (``pybrms sensitivity``, ``pybrms simstudy``):
a :class:`Document` holds a title, intro lines, figures and :class:`Section` s (a title, an
optional note, a table); :meth:`Document.write` renders it three ways with each format's
escaping (a formula's ``|`` in a Markdown cell, ``<`` in HTML, ``_``/``%``/``&`` in LaTeX)
and writes ``summary.md``, ``.html`` and ``.tex`` atomically. Numbers are shown with three
significant digits (:func:`fmt`); the LaTeX tables are plain ``tabular`` blocks a paper can
``\input``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .atomic import atomic_write_text

#: the HTML page's style (tables with thin borders, numbers right-aligned)
STYLE = ("<style>body{font-family:sans-serif;max-width:70em;margin:auto}table{border-collapse:"
         "collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style>")


def fmt(v: Any) -> str:
    """A cell's text: booleans as yes/no, floats with three significant digits, NaN empty."""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        if np.isnan(v):
            return ""
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.3e}"
    return str(v)


def md_table(df: pd.DataFrame) -> str:
    """A Markdown table (``|`` in a cell escaped); ``(none)`` for an empty frame."""
    if df.empty:
        return "(none)\n"

    def cell(v: Any) -> str:  # a formula's "|" would end the cell
        return fmt(v).replace("|", "\\|")

    head = "| " + " | ".join(cell(c) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body]) + "\n"


def html_table(df: pd.DataFrame) -> str:
    """An HTML table (text escaped); ``(none)`` for an empty frame."""
    if df.empty:
        return "<p>(none)</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def tex_escape(text: str) -> str:
    """Text with LaTeX's special characters escaped."""
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"),
                 ("#", r"\#"), ("_", r"\_"), ("{", r"\{"), ("}", r"\}"), ("~", r"\~{}"),
                 ("^", r"\^{}")):
        text = text.replace(a, b)
    return text


def tex_table(df: pd.DataFrame) -> str:
    """A LaTeX ``tabular`` (every cell escaped); ``(none)`` for an empty frame."""
    if df.empty:
        return "(none)\n"
    cols = "l" * len(df.columns)
    head = " & ".join(tex_escape(str(c)) for c in df.columns) + r" \\"
    body = [" & ".join(tex_escape(fmt(v)) for v in row) + r" \\"
            for row in df.itertuples(index=False)]
    return "\n".join([r"\begin{tabular}{" + cols + "}", r"\hline", head, r"\hline", *body,
                      r"\hline", r"\end{tabular}"]) + "\n"


@dataclass
class Figure:
    r"""A figure file beside the summary.

    Attributes
    ----------
    path : str
        Its path relative to the summary's folder (``bias.png``).
    caption : str
        Its caption (and alt text, unless ``alt`` is given).
    tex : bool
        Include it in the LaTeX document (``\includegraphics``) too.
    alt : str
        What the figure shows, for a reader who cannot see it (default: the caption).
    """

    path: str
    caption: str
    tex: bool = True
    alt: str = ""


@dataclass
class Section:
    """A titled section: an optional note, a table, optional figures."""

    title: str
    table: pd.DataFrame | None = None
    note: str = ""
    figures: list[Figure] = field(default_factory=list)


@dataclass
class Document:
    """A summary document: title, intro lines, figures, sections.

    Attributes
    ----------
    title : str
        The heading.
    intro : list of str
        Bullet lines under the heading.
    sections : list of Section
        In order.
    figures : list of Figure
        Shown after the intro.
    """

    title: str
    intro: Sequence[str] = ()
    sections: Sequence[Section] = ()
    figures: Sequence[Figure] = ()

    def markdown(self) -> str:
        """The document as Markdown."""
        md = [f"# {self.title}", "", *(f"- {line}" for line in self.intro), ""]
        for f in self.figures:
            md += [f"![{f.caption}]({f.path})", ""]
        for s in self.sections:
            md += [f"## {s.title}", "", *([s.note, ""] if s.note else [])]
            for f in s.figures:
                md += [f"![{f.caption}]({f.path})", ""]
            if s.table is not None:
                md.append(md_table(s.table))
        return "\n".join(md)

    def html(self) -> str:
        """The document as one HTML page."""
        title = html.escape(self.title)
        htm = [f"<!doctype html><meta charset='utf-8'><title>{title}</title>", STYLE,
               f"<h1>{title}</h1><ul>",
               *(f"<li>{html.escape(line)}</li>" for line in self.intro), "</ul>"]
        htm += [_img(f) for f in self.figures]
        for s in self.sections:
            htm += [f"<h2>{html.escape(s.title)}</h2>",
                    *([f"<p>{html.escape(s.note)}</p>"] if s.note else [])]
            htm += [_img(f) for f in s.figures]
            if s.table is not None:
                htm.append(html_table(s.table))
        return "\n".join(htm)

    def tex(self) -> str:
        r"""The document as LaTeX body text (sections, itemize, tabulars; include it with
        ``\input``; figures need ``graphicx``).
        """
        tex = [r"\section*{" + tex_escape(self.title) + "}", r"\begin{itemize}",
               *(r"\item " + tex_escape(line) for line in self.intro), r"\end{itemize}"]
        tex += [_tex_figure(f) for f in self.figures if f.tex]
        for s in self.sections:
            tex += [r"\subsection*{" + tex_escape(s.title) + "}",
                    *([tex_escape(s.note), ""] if s.note else [])]
            tex += [_tex_figure(f) for f in s.figures if f.tex]
            if s.table is not None:
                tex += [r"{\small", tex_table(s.table), "}"]
        return "\n".join(tex)

    def write(self, out: str | Path, stem: str = "summary") -> dict[str, Path]:
        """Write ``<stem>.md``, ``.html`` and ``.tex`` into ``out``; return
        ``{"summary_md": path, "summary_html": path, "summary_tex": path}``.
        """
        out = Path(out)
        paths = {}
        for ext, text in (("md", self.markdown()), ("html", self.html()), ("tex", self.tex())):
            path = out / f"{stem}.{ext}"
            atomic_write_text(path, text + "\n")
            paths[f"summary_{ext}"] = path
        return paths


def _img(f: Figure) -> str:
    alt = html.escape(f.alt or f.caption, quote=True)
    return f"<img src='{html.escape(f.path)}' alt='{alt}' style='max-width:100%'>"


def _tex_figure(f: Figure) -> str:
    return "\n".join([r"\begin{figure}[ht]", r"\centering",
                      r"\includegraphics[width=\linewidth]{" + f.path + "}",
                      r"\caption{" + tex_escape(f.caption) + "}", r"\end{figure}"])
