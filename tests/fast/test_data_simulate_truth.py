"""The simulator's generating coefficients are the published Tables 2-4 (one source). No R."""

from __future__ import annotations

import json

import pytest

from pybrms.papers.kyrychenko2025.frames import MODERATORS, PREDICTORS
from pybrms.papers.kyrychenko2025.prism import CONVERSATION_TYPES
from pybrms.papers.kyrychenko2025.published import CONVO_TYPE_LABELS, load_published
from pybrms.papers.kyrychenko2025.simulate import (
    RAW_CONVERSATIONS,
    RESPONSE_MEAN,
    published_truth,
    simulate_prism,
)


def test_published_truth_is_every_csv_estimate():
    pub = published_truth()
    col = {label: i for i, label in enumerate(CONVO_TYPE_LABELS.values())}
    t2 = load_published("table2")
    for r in t2.itertuples():
        if r.analysis == "interaction_toxicity":
            assert pub.toxicity_interaction == r.estimate
        else:
            table = pub.table_2a if r.analysis == "1a" else pub.table_2b
            assert table[r.term][col[r.convo_type]] == r.estimate, r
    t3 = load_published("table3")
    for r in t3.itertuples():
        moderator, predictor = r.term.split(":")
        assert pub.table_3[moderator.removesuffix("TRUE")][predictor] == r.estimate, r
    t4 = load_published("table4")
    for r in t4.itertuples():
        assert pub.table_4[r.dv][PREDICTORS.index(r.term.removesuffix("_human"))] == r.estimate
    # every CSV row is used, and nothing else
    assert len(t2) == 2 * 7 * 4 + 1 and len(t3) == 4 * 7 and len(t4) == 7 * 7
    assert list(pub.table_3) == list(MODERATORS)
    # the literal this replaced had 0.131 here (a copy of the TOXICITY_human cell)
    assert pub.table_4["RESPECT"][PREDICTORS.index("RESPECT")] == 0.397


def test_draw_orders_cover_the_conversation_types_and_responses():
    assert sorted(RAW_CONVERSATIONS) == sorted(CONVERSATION_TYPES)
    assert sorted(RESPONSE_MEAN) == sorted(PREDICTORS)


@pytest.mark.parametrize("slopes", ["paper", "homogeneous"])
def test_truth_json_states_the_published_coefficients(tmp_path, slopes):
    res = simulate_prism(tmp_path, seed=4, scale=0.01, slopes=slopes)
    truth = json.loads(res.files["truth"].read_text())
    pub = published_truth()
    assert {k: v for k, v in truth["analysis_1b"].items() if k != "Intercept"} == {
        p: pub.table_2b[p][0] for p in PREDICTORS
    }
    assert truth["analysis_3"] == {
        dv: {f"{p}_human": c for p, c in zip(PREDICTORS, row, strict=True)}
        for dv, row in pub.table_4.items()
    }
    assert truth["published_not_imposed"]["analysis_1a_per_type"] == {
        p: list(v) for p, v in pub.table_2a.items()
    }
    if slopes == "paper":
        assert truth["analysis_2_moderation"] == pub.table_3
        assert truth["toxicity_interaction"]["TOXICITY:TOXICITY_human"] == pub.toxicity_interaction
    else:
        assert truth["toxicity_interaction"]["TOXICITY:TOXICITY_human"] == 0.0
        assert truth["analysis_1b_per_type_implied"]["unguided"] == {
            p: pub.table_2b[p][0] for p in PREDICTORS
        }
