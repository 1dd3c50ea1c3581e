"""Every ``pybrms`` parser follows one convention: a description, help on every option, an
Examples section of command lines that parse, plain text (no RST), one ``--out`` wording;
``pybrms --version`` reads the installed distribution's version."""

from __future__ import annotations

import argparse
import importlib.metadata as md
import re
import shlex
import subprocess
import sys

import pandas as pd
import pytest

import pybrms
from pybrms import cli
from pybrms.cliargs import HelpFormatter, examples_epilog

#: RST/markdown markup that must not reach a terminal
MARKUP = re.compile(r"``|:(?:func|class|mod|meth|data|attr|ref|doc):|\*\*|^\s*\.\. ", re.M)


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("pybrms",)):
    """Every parser under ``parser`` (itself first), with its command path."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, (*path, name))


PARSERS = list(walk(cli.build_parser()))
IDS = [" ".join(p) for p, _ in PARSERS]


def test_the_walk_reaches_every_command():
    assert set(IDS) >= {
        "pybrms", "pybrms doctor", "pybrms demo", "pybrms compare", "pybrms sensitivity",
        "pybrms replicate", "pybrms prism", "pybrms prism download", "pybrms score",
        "pybrms simulate", "pybrms simulate prism"}


def test_version_comes_from_the_distribution_metadata(capsys):
    expected = md.version("pybrms")
    assert pybrms.__version__ == expected
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"pybrms {expected}"
    proc = subprocess.run([sys.executable, "-m", "pybrms.cli", "--version"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == f"pybrms {expected}"


@pytest.mark.parametrize("path, parser", PARSERS, ids=IDS)
def test_every_parser_has_description_option_help_and_examples(path, parser):
    assert parser.description and parser.description.strip(), path
    assert parser.epilog and parser.epilog.startswith("Examples:\n"), path
    assert any(line.strip().startswith("pybrms ") for line in parser.epilog.splitlines())
    for action in parser._actions:
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help.strip() and action.help != argparse.SUPPRESS, (
            f"{' '.join(path)}: {name} has no help")
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:  # each sub-command's line in the list
                assert choice.help and choice.help.strip(), (path, choice.dest)


@pytest.mark.parametrize("path, parser", PARSERS, ids=IDS)
def test_rendered_help_is_plain_text_with_examples_as_written(path, parser):
    text = parser.format_help()
    assert not MARKUP.search(text), f"{' '.join(path)}: markup {MARKUP.search(text)[0]!r}"
    assert "Examples:" in text
    for line in parser.epilog.splitlines()[1:]:
        assert line.rstrip() in text.splitlines() or not line.strip(), line  # not re-wrapped


def _example_commands(epilog: str) -> list[list[str]]:
    """The ``pybrms ...`` command lines of an epilog as argv (continuation lines joined,
    leading ``VAR=value`` settings dropped)."""
    joined = re.sub(r"\\\n\s*", " ", epilog)
    out = []
    for line in joined.splitlines():
        if line.startswith("  ") and not line.strip().startswith("#"):
            words = shlex.split(line)
            while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
                words.pop(0)
            if words and words[0] == "pybrms":
                out.append(words)
    return out


@pytest.mark.parametrize("path, parser", PARSERS, ids=IDS)
def test_every_example_parses(path, parser):
    commands = _example_commands(parser.epilog)
    assert commands, path
    for words in commands:
        if "--help" in words:
            with pytest.raises(SystemExit) as info:
                cli.build_parser().parse_args(words[1:])
            assert info.value.code == 0
            continue
        args = cli.build_parser().parse_args(words[1:])  # SystemExit(2) on a bad example
        assert callable(args.func), words


def test_out_has_one_wording_everywhere():
    seen = {}
    for path, parser in PARSERS:
        for action in parser._actions:
            if "--out" in action.option_strings:
                seen[" ".join(path)] = action
                assert re.fullmatch(r"(output folder|[a-z ]+ file) \(default [^)]+\); "
                                    r"(its folder )?created if missing; .+", action.help), (
                    path, action.help)
                assert not action.required, path
    assert set(seen) == {"pybrms compare", "pybrms sensitivity", "pybrms replicate",
                         "pybrms simstudy", "pybrms prism download", "pybrms score",
                         "pybrms simulate prism"}
    # a default folder named after the command (replicate and score work theirs out: the
    # help says how)
    assert seen["pybrms compare"].default == "compare"
    assert seen["pybrms sensitivity"].default == "sensitivity"
    assert seen["pybrms prism download"].default == "prism"
    assert seen["pybrms simulate prism"].default == "simulated-prism"
    assert "resumed" in seen["pybrms sensitivity"].help
    assert seen["pybrms simstudy"].default == "simstudy" and "resumed" in seen["pybrms simstudy"].help
    assert "resumed" in seen["pybrms replicate"].help
    assert "replaced" in seen["pybrms compare"].help


def test_compare_needs_no_out():
    args = cli.build_parser().parse_args(["compare", "y ~ x", "--data", "d.csv"])
    assert args.out == "compare" and args.draws is False


def test_formatter_fills_prose_and_keeps_indented_blocks():
    long_line = "  pybrms compare " + "x" * 150
    p = argparse.ArgumentParser(prog="p", description="word " * 40,
                                epilog=examples_epilog([("one", long_line.strip())]),
                                formatter_class=HelpFormatter)
    text = p.format_help()
    assert long_line in text.splitlines()
    prose = text.split("options:")[0].splitlines()[2:]
    assert len(prose) > 1 and max(map(len, prose)) <= 80


def test_score_writes_where_replicate_looks(tmp_path, monkeypatch):
    """``pybrms score`` without --out: DATA/scores.parquet (replicate's default scores), or
    ./scores.parquet for an import."""
    from pybrms.papers.kyrychenko2025.prism import bundled_path

    monkeypatch.chdir(tmp_path)
    scores = pd.read_parquet(bundled_path() / "scores.parquet").drop(
        columns=["scorer", "scored_at", "error"])
    scores.to_csv(tmp_path / "mine.csv", index=False)
    assert cli.main(["score", "--import", "mine.csv", "--scorer-name", "mine"]) == 0
    assert len(pd.read_parquet(tmp_path / "scores.parquet")) == len(scores)
    args = cli.build_parser().parse_args(["score", "--data", "prism"])
    assert args.out is None  # the command puts it in DATA: prism/scores.parquet
