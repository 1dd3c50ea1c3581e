"""The declarative analysis specs in pybrms/comparisons/*.toml: loading, validation, coverage.

No R. The specs live in :mod:`pybrms.papers.kyrychenko2025.replicate.spec` and reuse the generic parsers of
:mod:`pybrms.spec` (formula terms, families, priors, hypotheses).
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from pybrms.errors import SpecError
from pybrms.papers.kyrychenko2025.prism import CONVERSATION_TYPES
from pybrms.papers.kyrychenko2025.published import load_published
from pybrms.papers.kyrychenko2025.replicate.spec import (
    CONVO_TYPE_LABELS,
    CONVO_TYPE_SLUGS,
    CONVO_TYPES,
    TABLE_ROW_KEYS,
    expand_convo_types,
    load_all,
    load_analysis,
)
from pybrms.papers.kyrychenko2025.resources import comparisons_dir
from pybrms.spec.formula import BRMS_ONLY_CALLS, brms_only_calls
from pybrms.spec.hypotheses import parse_hypothesis
from pybrms.spec.priors import Prior
from pybrms.spec.terms import coefficient_term, fixed_terms, split_formula

COMPARISONS = comparisons_dir()
ATTRIBUTES = ["REASONING_NUANCE", "RESPECT", "CURIOSITY", "COMPASSION", "PERSONAL_STORY",
              "AFFINITY", "TOXICITY"]


@pytest.fixture(scope="module")
def specs():
    return load_all(COMPARISONS)


def test_every_spec_file_loads(specs):
    assert set(specs) == {"1a", "1b", "interaction_toxicity", "2", "3", "supplement"}
    files = {p.name for p in COMPARISONS.glob("*.toml")}
    assert files == {"analysis_1a.toml", "analysis_1b.toml", "interaction_toxicity.toml",
                     "analysis_2.toml", "analysis_3.toml", "supplement.toml"}
    # loading the specs never starts R (checked in a fresh interpreter: other tests may have)
    code = ("import sys; from pybrms.papers.kyrychenko2025.replicate.spec import load_all; "
            "from pybrms.papers.kyrychenko2025.resources import comparisons_dir; load_all(comparisons_dir()); "
            "assert 'rpy2' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sampler_settings_family_and_priors_follow_the_paper(specs):
    draws = {"1a": 1000, "1b": 1000, "interaction_toxicity": 1000, "supplement": 1000,
             "2": 3000, "3": 3000}
    for aid, spec in specs.items():
        for m in spec.expanded():
            assert (m.chains, m.warmup, m.draws) == (4, 1000, draws[aid]), m.name
            assert m.iter == m.warmup + m.draws
            assert m.seed == 2025
            assert [(p.prior, p.class_) for p in m.priors] == [("normal(0, 1e6)", "b")]
            assert all(isinstance(p, Prior) for p in m.priors)
            assert m.family == ("bernoulli" if m.frame == "1a" else "gaussian"), m.name
            assert m.brms_family.link == ("logit" if m.frame == "1a" else "identity")
    assert {m.total_draws for m in specs["1a"].expanded()} == {4000}
    assert {m.total_draws for m in specs["2"].expanded()} == {12000}


def test_formulas_and_frames(specs):
    m = specs["1a"].model("1a_all")
    assert m.formula == (
        "highest ~ REASONING_NUANCE + RESPECT + CURIOSITY + COMPASSION + PERSONAL_STORY + "
        "AFFINITY + TOXICITY + (1 | user_id/conversation_id) + (1 | model_name)"
    )
    assert (m.frame, m.response, m.convo_types) == ("1a", "highest", ("all",))
    for aid in ("1b", "interaction_toxicity", "2"):
        assert {x.response for x in specs[aid].expanded()} == {"log_score"}
    assert [m.frame for m in specs["2"].expanded()] == ["2"]
    a3 = specs["3"].expanded()
    assert sorted(m.response for m in a3) == sorted(ATTRIBUTES)
    for m in a3:
        assert m.frame == "3"
        assert {t[0] for t in m.fixed_terms} == {f"{a}_human" for a in ATTRIBUTES}


def test_convo_type_expansion(specs):
    names = [m.name for m in specs["1b"].expanded()]
    assert names == ["1b_all", "1b_unguided", "1b_values", "1b_controversy"]
    types = [m.convo_types for m in specs["1b"].expanded()]
    assert types == [("all",), ("unguided",), ("values guided",), ("controversy guided",)]
    single = specs["2"].models[0]
    assert expand_convo_types(single) == [single]
    with pytest.raises(SpecError, match="expand_convo_types"):
        specs["1a"].models[0].published_keys()


def test_analysis_2_coefficients_map_to_moderator_by_attribute_terms(specs):
    m = specs["2"].model("2")
    terms = m.fixed_terms
    assert len(terms) == 4 + 7 + 28
    assert coefficient_term("youngerTRUE:TOXICITY", terms) == ("younger", "TOXICITY")
    assert coefficient_term("high_valuesTRUE:CURIOSITY", terms) == ("high_values", "CURIOSITY")
    # R orders an interaction's variables by first appearance: this name does not exist
    assert coefficient_term("TOXICITY:youngerTRUE", terms) is None
    assert coefficient_term("TOXICITY_human", ((("TOXICITY",),))) is None
    assert all(coefficient_term(h.left, terms) for h in m.hypotheses)


def test_fixed_terms_expand_like_r():
    assert fixed_terms("y ~ a * b + (1 | g)") == (("a",), ("b",), ("a", "b"))
    assert fixed_terms("y ~ (a + b):c") == (("a", "c"), ("b", "c"))
    assert fixed_terms("y ~ b + a + a:b") == (("b",), ("a",), ("b", "a"))
    assert fixed_terms("y ~ a * b - a:b") == (("a",), ("b",))
    assert fixed_terms("y ~ 1 + (1 | g)") == ()


def test_parse_hypothesis():
    h = parse_hypothesis("youngerTRUE:TOXICITY < 0")
    assert (h.left, h.op, h.right, h.one_sided, h.published) == (
        "youngerTRUE:TOXICITY", "<", "0", True, True
    )
    h = parse_hypothesis("a = b", published=False)
    assert (h.left, h.op, h.right, h.one_sided, h.published) == ("a", "=", "b", False, False)
    for bad in ("a >> 0", "a > ", "> 0", "a >= 0", "a > 0 > b"):
        with pytest.raises(SpecError):
            parse_hypothesis(bad)


def _published_keys(specs):
    keys = []
    for spec in specs.values():
        for m in spec.expanded():
            if m.published is not None:
                keys += m.published_keys()
    return keys


def _table_keys(table):
    df = load_published(table)
    extra = [c for c in ("convo_type", "dv") if c in df.columns]
    cols = ["analysis", "term", "direction", *extra]
    return [{"table": table, **dict(zip(cols, row, strict=True))}
            for row in df[cols].itertuples(index=False)]


def test_spec_hypotheses_cover_exactly_the_published_rows(specs):
    ours = Counter(tuple(sorted(k.items())) for k in _published_keys(specs))
    theirs = Counter(
        tuple(sorted(k.items()))
        for table in ("table2", "table3", "table4")
        for k in _table_keys(table)
    )
    assert sum(theirs.values()) == 57 + 28 + 49
    assert ours == theirs
    assert max(ours.values()) == 1


def test_table4_and_table2_keys_come_from_dv_and_convo_type(specs):
    keys = specs["3"].model("3_RESPECT").published_keys()
    assert {k["dv"] for k in keys} == {"RESPECT"} and len(keys) == 7
    keys = specs["1a"].model("1a_values").published_keys()
    assert {k["convo_type"] for k in keys} == {CONVO_TYPE_LABELS["values guided"]} == {"value guided"}


def test_supplement_models(specs):
    sup = specs["supplement"]
    assert [(c.models, c.published_elpd_diff, c.published_se) for c in sup.loo] == [
        (("loo_1a_with_llm", "loo_1a_without_llm"), 504.9, 30.5),
        (("loo_1b_with_llm", "loo_1b_without_llm"), 504.9, 30.5),
    ]
    assert sup.model("loo_1a_with_llm").fit_key() == specs["1a"].model("1a_all").fit_key()
    assert sup.model("loo_1b_with_llm").fit_key() == specs["1b"].model("1b_all").fit_key()
    without = sup.model("loo_1a_without_llm")
    assert "model_name" not in without.formula and "(1 | user_id/conversation_id)" in without.formula
    robust = [m for m in sup.expanded() if m.role == "robustness"]
    assert [m.convo_types for m in robust] == [("values guided",), ("controversy guided",)]
    for m in robust:
        assert m.formula.endswith("+ (1 | user_id)") and m.published is None
        assert m.compare_with.table == "table2" and m.compare_with.analysis == "1b"
        assert [h.text for h in m.hypotheses] == [
            h.text for h in specs["1b"].model("1b_all").hypotheses
        ]


def test_ambiguities_are_named_with_their_choices(specs):
    for spec in specs.values():
        amb = spec.ambiguities
        assert amb["reasoning_nuance"].choice == "product"
        assert "mean" in amb["reasoning_nuance"].alternatives
        assert amb["prior_classes"].choice == "b"
        assert "b+Intercept" in amb["prior_classes"].alternatives
        assert amb["seed"].choice == "2025"
        for a in amb.values():
            assert a.description and a.choice not in a.alternatives
    assert specs["1a"].ambiguities["highest_ties"].choice == "all"
    assert specs["supplement"].ambiguities["highest_ties"].choice == "all"
    assert specs["2"].ambiguities["moderation_formula"].choice == "one_model_all_moderators_crossed"


# ------------------------------------------------------------------ invalid specs

VALID = '''
analysis = "t"
title = "test"

[defaults]
family = "gaussian"
frame = "1b"
chains = 4
warmup = 1000
iter = 2000
seed = 1
priors = [{ prior = "normal(0, 1e6)", class = "b" }]
convo_types = ["all"]

[[models]]
name = "m1"
formula = "log_score ~ younger * TOXICITY + RESPECT + (1 | user_id/conversation_id)"
hypotheses = ["youngerTRUE:TOXICITY < 0", "RESPECT > 0"]
published = { table = "table3", analysis = "2", row_keys = ["analysis", "term", "direction"] }

[[models]]
name = "m2"
formula = "log_score ~ RESPECT + (1 | user_id)"
hypotheses = ["RESPECT > 0"]

[ambiguities.reasoning_nuance]
choice = "product"
alternatives = ["mean"]
description = "x"

[ambiguities.prior_classes]
choice = "b"
alternatives = ["b+Intercept"]
description = "x"

[ambiguities.seed]
choice = "1"
alternatives = ["unseeded"]
description = "x"
'''


def _write(tmp_path, text, name="spec.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _expect(tmp_path, text, *fragments):
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as err:
        load_analysis(path)
    msg = str(err.value)
    assert "spec.toml" in msg, msg
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


def test_valid_minimal_spec_loads(tmp_path):
    spec = load_analysis(_write(tmp_path, VALID))
    assert [m.name for m in spec.models] == ["m1", "m2"]
    assert spec.model("m1").hypotheses[0].left == "youngerTRUE:TOXICITY"


def test_missing_field(tmp_path):
    text = VALID.replace('family = "gaussian"\n', "")
    _expect(tmp_path, text, "model 'm1'", "field 'family'", "missing")
    text = VALID.replace('name = "m2"\nformula = "log_score ~ RESPECT + (1 | user_id)"\n',
                         'name = "m2"\n')
    _expect(tmp_path, text, "model 'm2'", "field 'formula'", "missing")


def test_warmup_not_below_iter(tmp_path):
    _expect(tmp_path, VALID.replace("iter = 2000", "iter = 1000"),
            "model 'm1'", "field 'warmup'", "must be < iter")
    _expect(tmp_path, VALID.replace("warmup = 1000", "warmup = 3000"), "field 'warmup'")


@pytest.mark.parametrize("value", ["0", "-4", '"4"', "4.0", "true"])
def test_chains_must_be_a_positive_integer(tmp_path, value):
    _expect(tmp_path, VALID.replace("chains = 4", f"chains = {value}"),
            "model 'm1'", "field 'chains'", "positive integer")


def test_bad_family(tmp_path):
    _expect(tmp_path, VALID.replace('family = "gaussian"', 'family = "gausian"'),
            "model 'm1'", "field 'family'", "gausian")
    # pybrms.spec.families reads aliases and links; a spec names the brms family alone
    for other in ("gamma", 'gaussian(link = "log")'):
        _expect(tmp_path, VALID.replace('family = "gaussian"', f"family = '{other}'"),
                "model 'm1'", "field 'family'", "brms family name alone")
    spec = load_analysis(_write(tmp_path, VALID.replace('"gaussian"', '"skew_normal"')))
    assert spec.models[0].brms_family.name == "skew_normal"


@pytest.mark.parametrize("bad", ["RESPECT >> 0", "RESPECT >", "RESPECT >= 0", "RESPECT",
                                 "exp(RESPECT) > 0", "RESPECT + TOXICITY > 0", "RESPECT > (0)"])
def test_malformed_hypothesis(tmp_path, bad):
    text = VALID.replace('hypotheses = ["RESPECT > 0"]', f'hypotheses = ["{bad}"]')
    _expect(tmp_path, text, "model 'm2'", "field 'hypotheses'", bad)


@pytest.mark.parametrize("bad", ["SARCASM > 0", "TOXICITY:youngerTRUE < 0", "RESPECT > SARCASM",
                                 "youngerTRUE:RESPECT > 0"])
def test_hypothesis_term_not_in_formula(tmp_path, bad):
    text = VALID.replace('["youngerTRUE:TOXICITY < 0", "RESPECT > 0"]', f'["{bad}"]')
    _expect(tmp_path, text, "model 'm1'", "field 'hypotheses'", "not a population-level")


def test_duplicate_model_name(tmp_path):
    _expect(tmp_path, VALID.replace('name = "m2"', 'name = "m1"'),
            "model 'm1'", "field 'name'", "not unique")
    # an expanded name that collides with a written one
    text = VALID.replace('name = "m2"', 'name = "m1_all"').replace(
        'name = "m1"', 'name = "m1"\nconvo_types = ["all", "unguided"]'
    ).replace('published = { table = "table3", analysis = "2", row_keys = '
              '["analysis", "term", "direction"] }', "")
    _expect(tmp_path, text, "model 'm1_all'", "field 'name'", "not unique")


def test_duplicate_names_across_files(tmp_path):
    _write(tmp_path, VALID, "a.toml")
    _write(tmp_path, VALID.replace('analysis = "t"', 'analysis = "u"'), "b.toml")
    with pytest.raises(SpecError, match=r"b\.toml: model 'm1': field 'name'.*a\.toml"):
        load_all(tmp_path)
    with pytest.raises(SpecError, match="no \\*.toml"):
        load_all(tmp_path / "empty")


def test_other_invalid_fields(tmp_path):
    _expect(tmp_path, VALID.replace('frame = "1b"', 'frame = "9"'), "field 'frame'")
    _expect(tmp_path, VALID.replace('convo_types = ["all"]', 'convo_types = ["value guided"]'),
            "field 'convo_types'")
    _expect(tmp_path, VALID.replace("chains = 4", "chains = 4\nchain = 4"), "field 'chain'",
            "unknown field")
    _expect(tmp_path, VALID.replace('"normal(0, 1e6)"', '"normal(0, big)"'), "field 'priors'")
    _expect(tmp_path, VALID.replace('class = "b" }', 'class = "Intercept" }'),
            "field 'priors'", "prior_classes")
    _expect(tmp_path, VALID.replace('table = "table3"', 'table = "table9"'), "field 'published'")
    _expect(tmp_path, VALID.replace("[ambiguities.seed]", "[ambiguities.other]"),
            "ambiguities.seed")
    _expect(tmp_path, VALID.replace('"log_score ~ RESPECT + (1 | user_id)"', '"log_score RESPECT"'),
            "model 'm2'", "field 'formula'")
    _expect(tmp_path, VALID + "\n[[loo]]\nname = 'c'\nmodels = ['m1', 'zz']\n",
            "model 'c'", "field 'models'", "'zz'")
    _expect(tmp_path, VALID.replace('title = "test"', 'title = "test'), "cannot read")


def test_robustness_hypotheses_key_into_table2_1b_rows(specs):
    rows = {tuple(sorted(k.items())) for k in _table_keys("table2")}
    for m in specs["supplement"].expanded():
        if m.role != "robustness":
            continue
        keys = m.published_keys(m.compare_with)
        assert len(keys) == 7
        assert {tuple(sorted(k.items())) for k in keys} <= rows
        with pytest.raises(SpecError, match="no published table"):
            m.published_keys()


def test_unpublished_hypotheses_are_loaded_but_not_keyed(tmp_path):
    text = VALID.replace('hypotheses = ["youngerTRUE:TOXICITY < 0", "RESPECT > 0"]',
                         'hypotheses = ["RESPECT > 0"]\nunpublished_hypotheses = ["TOXICITY > 0"]')
    m = load_analysis(_write(tmp_path, text)).model("m1")
    assert [(h.text, h.published) for h in m.hypotheses] == [
        ("RESPECT > 0", True), ("TOXICITY > 0", False)
    ]
    assert [k["term"] for k in m.published_keys()] == ["RESPECT"]


# ------------------------------------------------------------------ shared spec parsers


def test_analysis_restrictions_sit_on_the_shared_spec_modules():
    from pybrms.papers.kyrychenko2025.published import EXTRA_COLUMN
    from pybrms.papers.kyrychenko2025.replicate.spec import PRIOR_CLASSES, PRIOR_DISTRIBUTIONS
    from pybrms.spec.priors import CLASSES, DISTRIBUTIONS

    assert PRIOR_CLASSES <= CLASSES
    assert PRIOR_DISTRIBUTIONS <= set(DISTRIBUTIONS)
    assert set(TABLE_ROW_KEYS) == set(EXTRA_COLUMN)
    assert TABLE_ROW_KEYS["table4"] == ("analysis", "term", "direction", "dv")


def test_conversation_types_are_prisms():
    assert CONVO_TYPES == ("all", *CONVERSATION_TYPES)
    assert CONVO_TYPE_LABELS == {"all": "all", "unguided": "unguided",
                                 "values guided": "value guided",
                                 "controversy guided": "controversy guided"}
    assert list(CONVO_TYPE_SLUGS.values()) == ["all", "unguided", "values", "controversy"]


def test_brms_only_calls_are_named_once_and_refused_by_term_expansion():
    assert len(BRMS_ONLY_CALLS) == len(set(BRMS_ONLY_CALLS)) == 19
    assert brms_only_calls("y ~ mo(x) + s(z, k = 3) + ms(w) + mo (v) + (1 | gr(g))") == (
        "mo", "s", "gr"
    )
    assert brms_only_calls("y ~ a.s(x) + x_s(z) + (1 | g)") == ()
    with pytest.raises(SpecError, match="brms-only term"):
        fixed_terms("y ~ x + gp(z) + (1 | g)")


def test_split_formula_keeps_terms_as_written_and_the_spec_subset_of_brms():
    assert split_formula("y ~ a * b - a:b + (1|g) + (1 + x | a/b)") == (
        "y", "a * b - a:b", ["(1|g)", "(1 + x | a/b)"]
    )
    assert split_formula("y ~ (1 | g)") == ("y", "1", ["(1 | g)"])
    # brms reads all of these; the analysis specs allow none
    for bad in ("y ~ x + (1 || g)", "y ~ x + (1 | ID | g)", "y ~ x + (1 | gr(g, by = z))",
                "y ~ x + (1 | `g h`)", "y | trials(n) ~ x", "log(y) ~ x", "y ~ a + -b",
                "y ~ x + (1 | g) - z"):
        with pytest.raises(SpecError):
            fixed_terms(bad)


def test_simple_hypotheses_compare_a_coefficient_with_a_number_or_a_coefficient():
    assert parse_hypothesis("a.b_c > -1e6").is_simple
    assert parse_hypothesis("youngerTRUE:TOXICITY = b").is_simple
    for other in ("exp(a) > 0", "a > b c", "a > (0)", "a + b > 0"):
        assert not parse_hypothesis(other).is_simple
    for bad in ("a == 0", 5):
        with pytest.raises(SpecError):
            parse_hypothesis(bad)


def test_spec_hypotheses_are_stripped(tmp_path):
    text = VALID.replace('hypotheses = ["RESPECT > 0"]', 'hypotheses = [" RESPECT > -1e6 "]')
    h = load_analysis(_write(tmp_path, text)).model("m2").hypotheses[0]
    assert (h.text, h.left, h.op, h.right, h.published) == (
        "RESPECT > -1e6", "RESPECT", ">", "-1e6", True
    )


@pytest.mark.parametrize("bad,fragment", [
    ("normal(0)", "takes 2 arguments"), ("normal(0, -1)", "must be > 0"),
    ("gamma(1, 1)", "'gamma' is not used"), ("nromal(0, 1)", "'nromal' is not used"),
])
def test_priors_are_checked_by_the_shared_validator(tmp_path, bad, fragment):
    _expect(tmp_path, VALID.replace('"normal(0, 1e6)"', f'"{bad}"'),
            "model 'm1'", "field 'priors'", fragment)
