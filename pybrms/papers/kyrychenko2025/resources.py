"""The plugin's own files: analysis specs, published tables and the bundled simulated PRISM."""

from __future__ import annotations

from pathlib import Path

from ...resources import package_dir

#: this package's folder, as :func:`pybrms.resources.package_dir` names it
HOME = "papers/kyrychenko2025"


def comparisons_dir() -> Path:
    """The folder of the paper's analysis specs (``*.toml``)."""
    return package_dir(f"{HOME}/comparisons")


def published_dir() -> Path:
    """The folder of the paper's published Tables 2-4 (``table2.csv`` ...)."""
    return comparisons_dir() / "published"


def bundled_dir() -> Path:
    """The folder of the bundled simulated PRISM dataset (``pybrms replicate --demo``)."""
    return package_dir(f"{HOME}/bundled")


#: the files an install must hold, folder -> files (``pybrms doctor`` checks them)
DATA_FILES: dict[str, tuple[str, ...]] = {
    f"{HOME}/comparisons": (
        "analysis_1a.toml",
        "analysis_1b.toml",
        "analysis_2.toml",
        "analysis_3.toml",
        "interaction_toxicity.toml",
        "supplement.toml",
    ),
    f"{HOME}/comparisons/published": ("table2.csv", "table3.csv", "table4.csv"),
    f"{HOME}/bundled": (
        "survey.jsonl.gz",
        "conversations.jsonl.gz",
        "utterances.jsonl.gz",
        "metadata.jsonl.gz",
        "scores.parquet",
        "truth.json",
    ),
}
