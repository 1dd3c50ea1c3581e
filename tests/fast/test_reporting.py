"""The document writer every summary uses: tables, notes and figures as md/html/tex, escaped."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pybrms.reporting import Document, Figure, Section, fmt, md_table, tex_table


def test_cells_are_formatted_and_escaped_per_format(tmp_path):
    df = pd.DataFrame({"formula": ["y ~ x + (1 | g)"], "n_obs": [0.123456], "ok": [True],
                       "miss": [np.nan], "big": [123456.0], "note": ["<b> & 50%_x"]})
    assert [fmt(v) for v in df.iloc[0]] == ["y ~ x + (1 | g)", "0.123", "yes", "", "1.235e+05",
                                            "<b> & 50%_x"]
    assert "(1 \\| g)" in md_table(df)
    tex = tex_table(df)
    assert r"n\_obs" in tex and r"\&" in tex and r"50\%\_x" in tex
    doc = Document("Study: a_b", ["one line"], [Section("Results", df, "a note"),
                                               Section("Figures", None, "", [Figure("f.png", "cap")])],
                   [Figure("top.png", "top", tex=False)])
    paths = doc.write(tmp_path)
    html = paths["summary_html"].read_text()
    assert "&lt;b&gt; &amp; 50%_x" in html and "<img src='top.png'" in html
    md = paths["summary_md"].read_text()
    assert md.startswith("# Study: a_b\n\n- one line\n\n![top](top.png)")
    tex = paths["summary_tex"].read_text()
    assert r"\section*{Study: a\_b}" in tex and "top.png" not in tex
    assert r"\includegraphics[width=\linewidth]{f.png}" in tex
    assert md_table(pd.DataFrame()) == "(none)\n"
