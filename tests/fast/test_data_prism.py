"""PRISM loader: schema validation with file/line/field, joins, filters and their counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pybrms.errors import DataError, SpecError
from pybrms.papers.kyrychenko2025.frames import build_frames
from pybrms.papers.kyrychenko2025.prism import first_turn_responses, load_prism
from pybrms.papers.kyrychenko2025.simulate import simulate_prism


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    simulate_prism(out, seed=7, scale=0.02)
    return out


def copy_of(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def edit_line(path: Path, lineno: int, fn) -> None:
    lines = path.read_text().splitlines()
    lines[lineno - 1] = fn(lines[lineno - 1])
    path.write_text("\n".join(lines) + "\n")


def set_field(field, value):
    def fn(line):
        rec = json.loads(line)
        rec[field] = value
        return json.dumps(rec)
    return fn


def test_bad_json_line_names_file_and_line(small, tmp_path):
    d = copy_of(small, tmp_path / "d")
    edit_line(d / "utterances.jsonl", 5, lambda s: s[:-3])
    with pytest.raises(DataError, match=r"^utterances\.jsonl line 5: not valid JSON"):
        load_prism(d)


@pytest.mark.parametrize("score", [0, 101])
def test_score_out_of_range_names_file_line_field(small, tmp_path, score):
    d = copy_of(small, tmp_path / "d")
    edit_line(d / "utterances.jsonl", 7, set_field("score", score))
    with pytest.raises(DataError) as e:
        load_prism(d)
    assert str(e.value).startswith(f"utterances.jsonl line 7: field 'score' must be an integer "
                                   f"in 1..100, got {score}")


def test_non_integer_score_and_missing_field(small, tmp_path):
    d = copy_of(small, tmp_path / "d")
    edit_line(d / "utterances.jsonl", 3, set_field("score", 55.5))
    with pytest.raises(DataError, match=r"utterances\.jsonl line 3: field 'score' must be int"):
        load_prism(d)
    d2 = copy_of(small, tmp_path / "d2")

    def drop_model(line):
        rec = json.loads(line)
        del rec["model_name"]
        return json.dumps(rec)
    edit_line(d2 / "utterances.jsonl", 11, drop_model)
    with pytest.raises(DataError, match=r"utterances\.jsonl line 11: missing field 'model_name'"):
        load_prism(d2)


def test_unknown_conversation_type(small, tmp_path):
    d = copy_of(small, tmp_path / "d")
    edit_line(d / "conversations.jsonl", 2, set_field("conversation_type", "chit chat"))
    with pytest.raises(DataError, match=r"conversations\.jsonl line 2: field 'conversation_type' "
                                        r"must be one of .*got 'chit chat'"):
        load_prism(d)


def test_bad_survey_values(small, tmp_path):
    d = copy_of(small, tmp_path / "d")

    def bad_values(line):
        rec = json.loads(line)
        rec["stated_prefs"]["values"] = 140
        return json.dumps(rec)
    edit_line(d / "survey.jsonl", 4, bad_values)
    with pytest.raises(DataError, match=r"survey\.jsonl line 4: field 'stated_prefs\.values'"):
        load_prism(d)


def test_missing_survey_row_is_an_error_or_a_counted_drop(small, tmp_path):
    d = copy_of(small, tmp_path / "d")
    utt = pd.read_json(d / "utterances.jsonl", lines=True)
    victim = utt["user_id"].iloc[0]
    lines = (d / "survey.jsonl").read_text().splitlines()
    kept = [ln for ln in lines if json.loads(ln)["user_id"] != victim]
    assert len(kept) == len(lines) - 1
    (d / "survey.jsonl").write_text("\n".join(kept) + "\n")
    data = load_prism(d)
    n_rows = int((utt["user_id"] == victim).sum())
    with pytest.raises(DataError) as e:
        first_turn_responses(data)
    msg = str(e.value)
    assert msg.startswith("utterances.jsonl line 1: field 'user_id'")
    assert f"{victim!r} has no row in survey.jsonl ({n_rows} utterance rows affected" in msg
    _, steps = first_turn_responses(data, missing="drop")
    assert steps[1].name == "joined survey" and steps[1].dropped == n_rows
    assert steps[1].rows == len(utt) - n_rows
    with pytest.raises(SpecError, match="missing"):
        first_turn_responses(data, missing="ignore")


def test_scores_out_of_range_are_rejected(small, tmp_path):
    scores = pd.read_parquet(small / "scores.parquet")
    scores.loc[5, "RESPECT"] = 1.2
    with pytest.raises(DataError, match=r"scores row 6: column 'RESPECT' must be a probability"):
        build_frames(small, scores, reasoning_nuance="mean", ties="all")


def test_missing_scores_and_400_errors_are_counted_not_silent(small):
    scores = pd.read_parquet(small / "scores.parquet")
    base = build_frames(small, scores, reasoning_nuance="mean", ties="all")
    n = base.report.frames["1b"]
    frame = base["1b"]
    from pybrms.papers.kyrychenko2025.scoring.base import text_sha256
    utt = pd.read_json(small / "utterances.jsonl", lines=True).set_index("utterance_id")
    victims = frame["utterance_id"].iloc[:3]
    shas = [text_sha256(t) for t in utt.loc[victims, "model_response"]]
    s2 = scores[~scores["text_sha256"].isin(shas[:2])].copy()
    s2.loc[s2["text_sha256"] == shas[2], "error"] = "COMMENT_TOO_LONG"
    f2 = build_frames(small, s2, reasoning_nuance="mean", ties="all")
    step = f2.report.step("scored prompt and response")
    assert step.dropped == 3 and f2.report.frames["1b"] == n - 3
    assert "unscored response 2, response error 1" in step.note
    assert any("3 rows dropped" in note for note in f2.report.notes)


def test_parquet_and_gzip_inputs_load_identically(tmp_path):
    a = simulate_prism(tmp_path / "a", seed=3, scale=0.01, fmt="parquet")
    b = simulate_prism(tmp_path / "b", seed=3, scale=0.01, fmt="jsonl.gz")
    fa = build_frames(a.out, a.files["scores"], reasoning_nuance="product", ties="first")
    fb = build_frames(b.out, b.files["scores"], reasoning_nuance="product", ties="first")
    pd.testing.assert_frame_equal(fa["1b"], fb["1b"])
    assert [s.rows for s in fa.report.steps] == [s.rows for s in fb.report.steps]


def test_english_filter_uses_metadata_en_flag(small, tmp_path):
    d = copy_of(small, tmp_path / "d")
    meta = pd.read_json(d / "metadata.jsonl", lines=True)
    utt = pd.read_json(d / "utterances.jsonl", lines=True)
    english = meta.groupby("conversation_id")["en_flag"].all()
    conv = english[english].index[0]
    lines = (d / "metadata.jsonl").read_text().splitlines()
    idx = next(i for i, ln in enumerate(lines) if json.loads(ln)["conversation_id"] == conv)
    edit_line(d / "metadata.jsonl", idx + 1, set_field("en_flag", False))
    _, before = first_turn_responses(load_prism(small))
    _, after = first_turn_responses(load_prism(d))
    n_conv_rows = int((utt["conversation_id"] == conv).sum())
    assert after[3].name == "English (en_flag)"
    assert after[3].conversations == before[3].conversations - 1
    assert after[3].dropped == before[3].dropped + n_conv_rows
    assert np.isclose(after[3].rows, before[3].rows - n_conv_rows)


def test_metadata_rows_without_conversation_are_allowed(small, tmp_path):
    d = copy_of(small, tmp_path / "d")
    row = {"column_id": "survey:self_description", "user_id": "user0", "conversation_id": None,
           "interaction_id": None, "utterance_id": None, "pii_flag": False,
           "pii_manual_flag": False, "language_flag": "xx", "en_flag": False,
           "moderation_flag": False}
    with open(d / "metadata.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")
    _, before = first_turn_responses(load_prism(small))
    _, after = first_turn_responses(load_prism(d))
    assert [s.rows for s in after] == [s.rows for s in before]
    edit_line(d / "metadata.jsonl", 2, set_field("en_flag", None))
    with pytest.raises(DataError, match=r"metadata\.jsonl line 2: missing field 'en_flag'"):
        load_prism(d)
