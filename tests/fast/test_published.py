"""The transcribed Tables 2-4 (comparisons/published) against the paper. No R."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
import pytest

from pybrms.papers.kyrychenko2025.published import (
    TABLES,
    columns,
    load_published,
    parse_bf,
    parse_paper_tables,
    published_dir,
    write_published,
)

REPO = Path(__file__).resolve().parents[2]
PAPER = Path(
    os.environ.get(
        "PYBRMS_PAPER", REPO.parent / "shared" / "paper" / "constructive-preferences-paper.txt"
    )
)
#: posterior draws behind each table's Evid.Ratio (captions: Inf = 4,000 / 12,000)
DRAWS = {"table2": 4000, "table3": 12000, "table4": 12000}
#: the one row whose star breaks the caption's rule (BF 9.545 printed with *)
STAR_EXCEPTIONS = {("table4", "TOXICITY", "RESPECT_human")}


def paper_text() -> str:
    if not PAPER.is_file():
        pytest.skip(f"the paper's text is not at {PAPER} (set PYBRMS_PAPER)")
    return PAPER.read_text(encoding="utf-8")


def paper_rows(table_number: int) -> list[list[str]]:
    """Tab-split data lines of one paper table, parsed independently of pybrms."""
    lines = paper_text().splitlines()
    start = max(i for i, ln in enumerate(lines) if ln.startswith(f"Table {table_number}:"))
    header = next(i for i in range(start, len(lines)) if lines[i].startswith("Hypothesis\t"))
    rows = []
    for ln in lines[header + 1 :]:
        if not ln.strip():
            if rows:
                break
            continue
        cells = ln.split("\t")
        if cells[0].startswith("("):
            if not cells[0].startswith(("(a) ", "(b) ")):
                rows.append(cells)
    return rows


def test_row_counts_match_the_paper_layout():
    t2, t3, t4 = (load_published(t) for t in TABLES)
    assert len(t2) == 57
    assert t2.groupby("analysis").size().to_dict() == {"1a": 28, "1b": 28, "interaction_toxicity": 1}
    assert len(t3) == 28
    assert len(t4) == 49
    assert t4.groupby("dv").size().eq(7).all() and t4["dv"].nunique() == 7
    for analysis in ("1a", "1b"):
        sub = t2[t2["analysis"] == analysis]
        assert sub.groupby("convo_type").size().eq(7).all()
        assert set(sub["convo_type"]) == {"all", "unguided", "value guided", "controversy guided"}


@pytest.mark.parametrize("number", [2, 3, 4])
def test_row_counts_equal_the_paper_lines(number):
    assert len(load_published(number)) == len(paper_rows(number))


def test_columns_and_types():
    for table in TABLES:
        df = load_published(table)
        assert list(df.columns) == list(columns(table))
        for col in ("estimate", "est_error", "ci_lower", "ci_upper", "bf", "post_prob"):
            assert df[col].dtype == "float64", (table, col)
        for col in ("analysis", "hypothesis", "term", "direction", "bf_reported", "star"):
            assert all(isinstance(v, str) for v in df[col]), (table, col)
        assert set(df["direction"]) <= {"<", ">"}
        assert set(df["star"]) <= {"*", "†", ""}
    assert "convo_type" in load_published(2).columns
    assert "dv" in load_published(4).columns and "convo_type" not in load_published(4).columns
    assert list(load_published(3).columns)[-1] == "star"


def test_sample_rows_have_the_papers_values():
    t2 = load_published("table2")
    row = t2[(t2.analysis == "1a") & (t2.term == "REASONING_NUANCE") & (t2.convo_type == "all")]
    assert len(row) == 1
    r = row.iloc[0]
    assert (r.estimate, r.est_error, r.ci_lower, r.ci_upper) == (1.036, 0.090, 0.888, 1.185)
    assert math.isinf(r.bf) and r.bf_reported == "Inf" and r.post_prob == 1.0 and r.star == "*"

    r = t2[(t2.analysis == "1b") & (t2.term == "TOXICITY") & (t2.convo_type == "controversy guided")]
    r = r.iloc[0]
    assert r.bf == pytest.approx(1332.333) and r.bf_reported == "1,332.333"
    assert (r.estimate, r.direction, r.post_prob) == (-0.655, "<", 0.999)

    r = t2[(t2.analysis == "1a") & (t2.term == "CURIOSITY") & (t2.convo_type == "unguided")]
    assert r.iloc[0].bf == 3999 and r.iloc[0].bf_reported == "3,999"

    r = t2[(t2.analysis == "1a") & (t2.term == "AFFINITY") & (t2.convo_type == "controversy guided")]
    assert r.iloc[0].star == "†" and r.iloc[0].bf == pytest.approx(11.121)

    t3 = load_published("table3").set_index("term")
    r = t3.loc["whiteTRUE:REASONING_NUANCE"]
    assert (r.estimate, r.est_error, r.ci_lower, r.ci_upper) == (0.305, 0.079, 0.175, 0.435)
    assert r.bf == 11999 and r.bf_reported == "11,999" and r.star == "*"
    assert t3.loc["maleTRUE:TOXICITY"].star == ""

    t4 = load_published("table4")
    r = t4[(t4.dv == "TOXICITY") & (t4.term == "COMPASSION_human")].iloc[0]
    assert (r.direction, r.estimate, r.ci_lower, r.ci_upper) == ("<", -0.012, -0.018, -0.006)
    assert r.bf == pytest.approx(922.077) and r.post_prob == 0.999 and r.star == "*"


def test_interaction_row_keeps_the_typo_but_corrects_the_term():
    t2 = load_published("table2")
    r = t2[t2.analysis == "interaction_toxicity"].iloc[0]
    assert r.hypothesis == "(TOXICITY x TOXICIT_HUMAN) >0"
    assert r.term == "TOXICITY:TOXICITY_human"
    assert (r.estimate, r.bf, r.convo_type) == (0.244, pytest.approx(141.857), "all")


def test_hypothesis_text_matches_term_and_direction():
    for table in TABLES:
        df = load_published(table)
        for r in df.itertuples():
            if r.analysis == "interaction_toxicity":
                continue
            assert r.hypothesis == f"({r.term}) {r.direction}0"


@pytest.mark.parametrize("table", list(TABLES))
def test_bf_and_post_prob_agree_with_a_whole_number_of_draws(table):
    """BF = k / (N - k) and Post.Prob = k / N for one integer k, both as rounded in print."""
    n = DRAWS[table]
    for r in load_published(table).itertuples():
        if math.isinf(r.bf):
            assert r.post_prob == 1.0, r.term
            continue
        lo = n * (r.bf - 5e-4) / (1 + r.bf - 5e-4)
        hi = n * (r.bf + 5e-4) / (1 + r.bf + 5e-4)
        ks = [k for k in range(math.ceil(lo), math.floor(hi) + 1)
              if abs(k / n - r.post_prob) <= 5e-4 + 1e-9]
        assert ks, (table, r.term, r.bf, r.post_prob)


@pytest.mark.parametrize("table", list(TABLES))
def test_stars_follow_the_caption_rule_with_one_printed_exception(table):
    df = load_published(table)
    key = "dv" if "dv" in df.columns else None
    for r in df.itertuples():
        want = "*" if r.bf > 100 else "†" if r.bf > 10 else ""
        if (table, getattr(r, key) if key else None, r.term) in STAR_EXCEPTIONS:
            assert (r.star, r.bf) == ("*", 9.545)
        else:
            assert r.star == want, (table, r.term, r.bf, r.star)


@pytest.mark.parametrize("table", list(TABLES))
def test_intervals_contain_the_estimate(table):
    df = load_published(table)
    assert (df.ci_lower <= df.estimate).all() and (df.estimate <= df.ci_upper).all()
    assert (df.est_error > 0).all()


@pytest.mark.parametrize("number", [2, 3, 4])
def test_every_csv_row_equals_a_line_of_the_paper(number):
    """Re-assemble each CSV row as the paper prints it and find it among the paper's lines."""
    printed = paper_rows(number)
    df = load_published(number)
    raw = pd.read_csv(published_dir() / f"table{number}.csv", dtype=str, keep_default_na=False)
    rebuilt = []
    for r in raw.itertuples(index=False):
        bf = "<i>Inf</i>" if r.bf_reported == "Inf" else r.bf_reported
        cells = [r.hypothesis, r.estimate, r.est_error, r.ci_lower, r.ci_upper, bf, r.post_prob,
                 r.star]
        if number == 2:
            cells.append(r.convo_type)
        if number == 4:
            cells.append(r.dv)
        rebuilt.append(cells)
    assert rebuilt == printed
    assert len(df) == len(printed)


def test_parser_and_writer_reproduce_the_committed_files(tmp_path):
    text = paper_text()
    written = write_published(text, tmp_path)
    for tid, path in written.items():
        assert path.read_bytes() == (published_dir() / f"{tid}.csv").read_bytes(), tid
    parsed = parse_paper_tables(text)
    pd.testing.assert_frame_equal(parsed["table3"], load_published("table3"))


def test_parse_bf_and_table_aliases():
    assert parse_bf("3,999") == 3999.0
    assert parse_bf("1,332.333") == pytest.approx(1332.333)
    assert math.isinf(parse_bf("<i>Inf</i>")) and math.isinf(parse_bf("Inf"))
    with pytest.raises(ValueError):
        parse_bf("n/a")
    assert len(load_published(3)) == len(load_published("Table 3")) == 28
    with pytest.raises(ValueError, match="table5"):
        load_published("table5")


def test_wrong_columns_are_rejected(tmp_path):
    df = pd.read_csv(published_dir() / "table3.csv", dtype=str, keep_default_na=False)
    df.drop(columns=["star"]).to_csv(tmp_path / "table3.csv", index=False)
    with pytest.raises(ValueError, match="columns"):
        load_published("table3", tmp_path)
