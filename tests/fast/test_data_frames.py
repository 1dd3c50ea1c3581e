"""Loader -> frames on simulated data with documented counts; options; CLI round trips."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pybrms.errors import SpecError
from pybrms.papers.kyrychenko2025 import data_cli
from pybrms.papers.kyrychenko2025.frames import HUMAN_PREDICTORS, PREDICTORS, build_frames
from pybrms.papers.kyrychenko2025.prism import bundled_path, load_prism
from pybrms.papers.kyrychenko2025.scoring.base import ATTRIBUTES, text_sha256
from pybrms.papers.kyrychenko2025.simulate import simulate_prism

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from perspective_server import API_NAMES_FOR_TESTS, PerspectiveServer, expected_score  # noqa: E402,I001


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pybrms")
    data_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    res = simulate_prism(out, seed=1, scale=1.0)
    frames = build_frames(out, res.files["scores"], reasoning_nuance="mean", ties="all")
    return res, frames


def test_full_scale_simulation_has_the_papers_counts_at_every_step(full):
    res, frames = full
    c, rep = res.counts, frames.report
    assert res.seconds < 30  # the simulator is vectorised (about 2 s here)
    names = [s.name for s in rep.steps]
    assert names == ["utterances (all rows)", "joined survey", "joined metadata",
                     "English (en_flag)", "first turn (turn == 0)",
                     "drop EMPTY STRING responses", "highest score (ties=all)",
                     "scored prompt and response", 'moderators: drop "Prefer not to say"']
    s = {x.name: x for x in rep.steps}
    # PRISM raw counts (DATA.md): 1,396 users with conversations, 8,011 conversations
    assert (s["utterances (all rows)"].conversations, s["utterances (all rows)"].users) == (
        8011, 1396)
    assert s["utterances (all rows)"].rows == c["utterances"] == 68345
    assert s["joined metadata"].dropped == s["joined survey"].dropped == 0
    # the paper's English subset: 1,394 users, 7,960 conversations
    eng = s["English (en_flag)"]
    assert (eng.conversations, eng.users) == (7960, 1394)
    assert eng.dropped == 459
    first = s["first turn (turn == 0)"]
    assert first.rows == c["english_first_turn_responses"] == 29850
    assert (first.conversations, first.users) == (7960, 1394)
    empty = s["drop EMPTY STRING responses"]
    assert empty.dropped == c["english_empty_first_turn_responses"] == 120
    assert empty.rows == 29730
    assert s["scored prompt and response"].dropped == 0
    f = frames["1b"]
    assert len(f) == 29730 == rep.frames["1a"] == rep.frames["3"]
    per_type = f.groupby("conversation_type")["conversation_id"].nunique().to_dict()
    assert per_type == {"unguided": 3093, "controversy guided": 2427, "values guided": 2440}
    assert rep.conversation_types == per_type
    # the simulator's if_chosen is the max score over all responses, EMPTY STRING included;
    # highest is over the non-empty ones, so they differ exactly where an empty one was chosen
    utt = pd.read_json(res.files["utterances"], lines=True)
    first_en = utt[(utt["turn"] == 0) & utt["conversation_id"].isin(f["conversation_id"])]
    chosen_empty = first_en[(first_en["model_response"] == "EMPTY STRING") & first_en["if_chosen"]]
    rest = first_en[first_en["interaction_id"].isin(chosen_empty["interaction_id"])
                    & (first_en["model_response"] != "EMPTY STRING")]
    n_new = int((rest["score"] == rest.groupby("interaction_id")["score"].transform("max")).sum())
    # (with this seed no EMPTY STRING response is PRISM's choice, so n_new is 0 here; the
    # note must still count exactly the rows where highest and if_chosen differ)
    assert f"highest differs from PRISM's if_chosen in {n_new} rows" in s[
        "highest score (ties=all)"].note
    assert f["model_name"].nunique() == 21
    k = f.groupby("interaction_id").size()
    assert k.min() >= 1 and k.max() == 4 and len(k) == 7960
    # moderators: independent count from the survey file
    survey = pd.read_json(res.files["survey"], lines=True)
    pnts = survey[(survey["age"] == "Prefer not to say") | (survey["gender"] == "Prefer not to say")
                  | survey["ethnicity"].map(lambda e: e["simplified"] == "Prefer not to say")]
    expected = int((~f["user_id"].isin(pnts["user_id"])).sum())
    assert rep.frames["2"] == s['moderators: drop "Prefer not to say"'].rows == expected == 28021


def test_frame_columns_and_definitions(full):
    res, frames = full
    f = frames["1b"]
    assert np.allclose(f["log_score"], np.log(f["score"]))
    assert f["highest"].isin([0, 1]).all()
    mx = f.groupby("interaction_id")["score"].transform("max")
    assert (f["highest"] == (f["score"] == mx)).all()
    scores = pd.read_parquet(res.files["scores"]).set_index("text_sha256")
    utt = pd.read_json(res.files["utterances"], lines=True).set_index("utterance_id")
    row = f.iloc[1234]
    sc = scores.loc[text_sha256(utt.loc[row["utterance_id"], "model_response"])]
    hs = scores.loc[text_sha256(utt.loc[row["utterance_id"], "user_prompt"])]
    assert row["REASONING_NUANCE"] == pytest.approx((sc["REASONING"] + sc["NUANCE"]) / 2)
    assert row["TOXICITY"] == pytest.approx(sc["TOXICITY"])
    assert row["COMPASSION_human"] == pytest.approx(hs["COMPASSION"])
    assert row["REASONING_NUANCE_human"] == pytest.approx((hs["REASONING"] + hs["NUANCE"]) / 2)
    for col in (*PREDICTORS, *HUMAN_PREDICTORS):
        assert f[col].between(0, 1).all(), col
    r = np.corrcoef(scores["REASONING"], scores["NUANCE"])[0, 1]
    assert 0.85 < r < 0.95  # reasoning-nuance correlation ~0.9
    f2 = frames["2"]
    survey = pd.read_json(res.files["survey"], lines=True).set_index("user_id")
    u = survey.loc[f2["user_id"]]
    assert (f2["younger"].to_numpy() == u["age"].isin(
        ["18-24 years old", "25-34 years old", "35-44 years old"]).to_numpy()).all()
    assert (f2["male"].to_numpy() == (u["gender"] == "Male").to_numpy()).all()
    assert (f2["high_values"].to_numpy() == (u["stated_prefs"].map(
        lambda p: p["values"]) > 50).to_numpy()).all()
    assert not (u["age"] == "Prefer not to say").any()
    assert 0.3 < f2["younger"].mean() < 0.9 and 0.2 < f2["white"].mean() < 0.9
    opts = json.loads(json.dumps(frames.report.to_dict()))["options"]
    assert opts["reasoning_nuance"] == "mean" and opts["ties"] == "all"
    assert opts["scorers"] == ["simulated"]
    assert opts["scored_at"] == ["2024-06-01T00:00:00+00:00"] * 2
    assert "deviation from the paper: attribute scores from ['simulated']" in " ".join(
        frames.report.notes)


def test_options_are_explicit_and_change_the_frames():
    d = bundled_path()
    data = load_prism(d)
    scores = pd.read_parquet(d / "scores.parquet")
    with pytest.raises(TypeError):
        build_frames(data, scores)  # no silent default for the paper's ambiguities
    with pytest.raises(SpecError, match="reasoning_nuance must be one of"):
        build_frames(data, scores, reasoning_nuance="sum", ties="all")
    with pytest.raises(SpecError, match="ties must be one of"):
        build_frames(data, scores, reasoning_nuance="mean", ties="random")
    mean = build_frames(data, scores, reasoning_nuance="mean", ties="all")
    prod = build_frames(data, scores, reasoning_nuance="product", ties="all")
    sc = scores.set_index("text_sha256")
    utt = data.utterances.set_index("utterance_id")
    uid = prod["1b"]["utterance_id"].iloc[10]
    s = sc.loc[text_sha256(utt.loc[uid, "model_response"])]
    assert prod["1b"]["REASONING_NUANCE"].iloc[10] == pytest.approx(s["REASONING"] * s["NUANCE"])
    assert mean["1b"]["REASONING_NUANCE"].iloc[10] == pytest.approx(
        (s["REASONING"] + s["NUANCE"]) / 2)
    assert prod.report.options["reasoning_nuance"] == "product"
    # ties: "all" marks every tied maximum, "first" one per interaction, "drop" removes them
    f_all = mean["1a"]
    tied = f_all.groupby("interaction_id")["highest"].sum()
    n_tied = int((tied > 1).sum())
    assert n_tied == 24
    first = build_frames(data, scores, reasoning_nuance="mean", ties="first")["1a"]
    assert (first.groupby("interaction_id")["highest"].sum() == 1).all()
    assert first["highest"].sum() == f_all["highest"].sum() - int((tied[tied > 1] - 1).sum())
    dropped = build_frames(data, scores, reasoning_nuance="mean", ties="drop")
    assert dropped.report.step("highest score (ties=drop)").dropped == int(
        f_all["interaction_id"].isin(tied[tied > 1].index).sum()) == 92
    assert len(dropped["1a"]) == 1402


def test_bundled_dataset_matches_its_readme():
    d = bundled_path()
    readme = (d / "README.md").read_text()
    table = {}
    for line in readme.splitlines():
        m = re.match(r"\|\s*(.+?)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|", line)
        if m:
            table[m.group(1)] = tuple(int(m.group(i)) for i in range(2, 6))
    assert len(table) == 9
    frames = build_frames(d, d / "scores.parquet", reasoning_nuance="mean", ties="all")
    got = {s.name: (s.rows, s.conversations, s.users, s.dropped) for s in frames.report.steps}
    assert got == table
    size = sum(p.stat().st_size for p in d.iterdir())
    assert size < 3_000_000


def test_bundled_dataset_is_reproducible(tmp_path):
    d = bundled_path()
    readme = (d / "README.md").read_text()
    cmd = re.search(r"pybrms (simulate prism .*)", readme).group(1).split()
    out_i = cmd.index("--out")
    cmd[out_i + 1] = str(tmp_path)
    assert run_cli(cmd) == 0
    for name in ("survey", "conversations", "utterances", "metadata"):
        assert (tmp_path / f"{name}.jsonl.gz").read_bytes() == (d / f"{name}.jsonl.gz"
                                                                ).read_bytes(), name
    assert json.loads((tmp_path / "truth.json").read_text()) == json.loads(
        (d / "truth.json").read_text())
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "scores.parquet"),
                                  pd.read_parquet(d / "scores.parquet"))


def test_truth_json_holds_the_published_coefficients():
    truth = json.loads((bundled_path() / "truth.json").read_text())
    a1b = truth["analysis_1b"]
    assert a1b["REASONING_NUANCE"] == 1.217 and a1b["TOXICITY"] == -0.659
    assert truth["toxicity_interaction"]["TOXICITY:TOXICITY_human"] == 0.244
    assert truth["analysis_2_moderation"]["younger"]["TOXICITY"] == -0.864
    assert truth["analysis_3"]["COMPASSION"]["COMPASSION_human"] == 1.084
    assert truth["published_not_imposed"]["analysis_1a"]["TOXICITY"] == 0.729
    per_type = truth["analysis_1b_per_type_implied"]
    shares = truth["type_shares"]
    avg = sum(shares[t] * per_type[t]["REASONING_NUANCE"] for t in shares)
    assert avg == pytest.approx(1.217)  # type deviations are centred on the type shares


def test_cli_score_against_loopback_server_then_frames(tmp_path, monkeypatch, capsys):
    res = simulate_prism(tmp_path / "d", seed=11, scale=0.01)
    key = "PBRMS-FAKE-KEY-cli-0042"
    monkeypatch.setenv("PERSPECTIVE_API_KEY", key)
    out = tmp_path / "scores.parquet"
    with PerspectiveServer(key, faults=lambda t, a: "500" if a == 0 and len(t) % 9 == 0
                           else None) as srv:
        argv = ["score", "--data", str(res.out), "--out", str(out), "--endpoint", srv.url,
                "--qps", "1000"]
        assert run_cli(argv) == 0
        n_texts = len(srv.scored)
        assert max(srv.scored.values()) == 1
        assert srv.injected["500"] > 0
        total = srv.total
        assert run_cli(argv) == 0  # second run: everything from the cache
        assert srv.total == total
    scores = pd.read_parquet(out)
    assert len(scores) == n_texts and scores["error"].isna().all()
    assert set(scores["scorer"]) == {"perspective"}
    frames = build_frames(res.out, out, reasoning_nuance="product", ties="all")
    assert frames.report.options["scorers"] == ["perspective"]
    assert not any("deviation" in n for n in frames.report.notes)
    sim_frames = build_frames(res.out, res.files["scores"], reasoning_nuance="product",
                              ties="all")
    assert len(frames["1b"]) == len(sim_frames["1b"])  # every text the frames need was scored
    row = frames["1b"].iloc[0]
    utt = load_prism(res.out).utterances.set_index("utterance_id")
    text = utt.loc[row["utterance_id"], "model_response"]
    assert row["CURIOSITY"] == pytest.approx(expected_score(text, API_NAMES_FOR_TESTS["CURIOSITY"]))
    err = capsys.readouterr().err
    assert "remaining" in err and key not in err
    cache_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("scores.parquet*"))
    assert key.encode() not in cache_bytes and len(cache_bytes) > 1000


def test_cli_score_import(tmp_path):
    d = bundled_path()
    sc = pd.read_parquet(d / "scores.parquet")
    renamed = sc.rename(columns={a: f"{a}_EXPERIMENTAL" for a in ATTRIBUTES if a != "TOXICITY"})
    renamed = renamed.drop(columns=["scorer", "scored_at", "error"])
    renamed.to_csv(tmp_path / "published.csv", index=False)
    out = tmp_path / "imported.parquet"
    assert run_cli(["score", "--import", str(tmp_path / "published.csv"), "--out", str(out),
                    "--scorer-name", "authors-osf"]) == 0
    frames = build_frames(d, out, reasoning_nuance="mean", ties="all")
    assert frames.report.options["scorers"] == ["authors-osf"]
    assert frames.report.frames["1b"] == 1494


def test_cli_score_ctrl_c_keeps_results_and_resumes(tmp_path, monkeypatch, capsys):
    res = simulate_prism(tmp_path / "d", seed=12, scale=0.01)
    key = "PBRMS-FAKE-KEY-ctrlc-77"
    monkeypatch.setenv("PERSPECTIVE_API_KEY", key)
    out = tmp_path / "scores.parquet"
    import pybrms.papers.kyrychenko2025.scoring.run as run_mod

    real = run_mod.score_texts

    def interrupted(texts, scorer, cache, **kw):
        def hook(n, sha):
            if n == 25:
                raise KeyboardInterrupt
        return real(texts, scorer, cache, on_result=hook, **kw)

    with PerspectiveServer(key) as srv:
        argv = ["score", "--data", str(res.out), "--out", str(out), "--endpoint", srv.url,
                "--qps", "1000"]
        monkeypatch.setattr(run_mod, "score_texts", interrupted)
        assert run_cli(argv) == 130
        assert not out.exists()
        assert "interrupted: 25 results are saved" in capsys.readouterr().err
        monkeypatch.setattr(run_mod, "score_texts", real)
        assert run_cli(argv) == 0
        assert max(srv.scored.values()) == 1  # the 25 were not asked again
    assert len(pd.read_parquet(out)) == len(srv.scored)


def test_simulator_attribute_distributions_and_product_construction(tmp_path):
    res = simulate_prism(tmp_path, seed=5, scale=0.1, reasoning_nuance="product")
    truth = json.loads(res.files["truth"].read_text())
    assert truth["reasoning_nuance"] == "product"
    scores = pd.read_parquet(res.files["scores"])
    r = np.corrcoef(scores["REASONING"], scores["NUANCE"])[0, 1]
    assert 0.8 < r < 0.97
    for a in ATTRIBUTES:
        assert scores[a].between(0, 1).all(), a
        assert scores[a].std() > 0.02, a  # real spread, not constants
    assert scores["TOXICITY"].median() < 0.1 < scores["TOXICITY"].quantile(0.99)  # skewed
    frames = build_frames(tmp_path, res.files["scores"], reasoning_nuance="product", ties="all")
    f = frames["1b"]
    assert f["REASONING_NUANCE"].between(0, 1).all()
    clipped = ((f[list(PREDICTORS)] <= 0.001) | (f[list(PREDICTORS)] >= 0.999)).mean()
    assert (clipped < 0.02).all(), clipped.to_dict()
    assert 25 < f["score"].mean() < 50 and (f["score"] == 100).mean() < 0.02


def test_product_split_keeps_reasoning_and_nuance_probabilities(tmp_path):
    """Seed 2025 at full scale once gave NUANCE = 1.0000000000000002, which the scores check
    rightly refused; the split now clips both factors into [0, 1]."""
    from pybrms.papers.kyrychenko2025.frames import read_scores

    res = simulate_prism(tmp_path, seed=2025, scale=1.0, reasoning_nuance="product")
    scores = read_scores(res.files["scores"])
    assert scores["NUANCE"].max() <= 1.0 and scores["REASONING"].max() <= 1.0
    assert (scores["REASONING"] * scores["NUANCE"]).max() <= 1.0


def test_homogeneous_slopes_share_the_draws_and_zero_the_heterogeneity(tmp_path):
    paper = simulate_prism(tmp_path / "paper", seed=11, scale=0.05)
    homog = simulate_prism(tmp_path / "homog", seed=11, scale=0.05, slopes="homogeneous")
    tp = json.loads(paper.files["truth"].read_text())
    th = json.loads(homog.files["truth"].read_text())
    assert "slopes" not in tp and th["slopes"] == "homogeneous"
    assert th["analysis_1b"] == tp["analysis_1b"]
    assert all(v == 0.0 for d in th["type_deviation"].values() for v in d.values())
    assert all(v == 0.0 for d in th["analysis_2_moderation"].values() for v in d.values())
    assert th["toxicity_interaction"]["TOXICITY:TOXICITY_human"] == 0.0
    assert th["analysis_1b_per_type_implied"]["unguided"] == {
        k: v for k, v in tp["analysis_1b"].items() if k != "Intercept"}
    # same random draws: identical attributes, different scores
    sp = pd.read_parquet(paper.files["scores"])
    sh = pd.read_parquet(homog.files["scores"])
    assert sp.equals(sh)
    up = pd.read_json(paper.files["utterances"], lines=True)
    uh = pd.read_json(homog.files["utterances"], lines=True)
    assert (up["score"] != uh["score"]).any()
    with pytest.raises(SpecError, match="slopes must be"):
        simulate_prism(tmp_path / "bad", seed=1, scale=0.05, slopes="random")
