"""MkDocs hooks: the pages written at build time.

* **API reference** (``reference/api/*.md``): one page per public module found by walking the
  ``pybrms/`` source tree (modules and packages whose names start with ``_`` are left out), each
  rendered by mkdocstrings from the source (griffe reads it statically; nothing is imported),
  grouped in the navigation by sub-package; and a first page for the ``pybrms`` namespace,
  whose names and their defining modules are read from ``pybrms/__init__.py`` with ``ast``
  (``__all__``, the ``from . import`` lines and any lazy-import table ``{name: (module,
  attribute)}`` such as ``_LAZY``).
* **CLI reference** (``reference/cli.md``): every sub-command of ``pybrms.cli.build_parser()``
  with its usage, description and options (this imports ``pybrms.cli``, which starts no R).
* **Benchmarks** (``benchmarks.md``): ``benchmarks/render.py`` over ``benchmarks/results/``.
  A guide can show one record's tables with an HTML comment ``<!-- benchmark: ID -->`` on a line
  of its own (ID as on the Benchmarks page, e.g. ``readme/bridge_overhead``; ``parts=0,1``
  after the ID keeps only those blocks of the record's body); on GitHub the comment is
  invisible.
* **Engines table**: ``<!-- engines-table -->`` in a guide becomes a table of the registered
  engines' capabilities and options (from ``pybrms.engines``, which starts no R).
* **Architecture** (``architecture.md``): the repository's ``ARCHITECTURE.md`` (the one copy;
  links outside the site become code paths) and a package-layout table from the modules'
  docstrings.
* **Figures**: the PNGs of real runs (``examples/grids/results/*.png``,
  ``benchmarks/results/**/*.png``) copied to ``figures/``, and the example grids' summaries
  (``examples/grids/results/*_summary.md``) as pages under ``examples/``.

Nothing here needs R. The navigation entries ``API reference`` and ``Benchmarks`` in
``mkdocs.yml`` are replaced by the generated ones.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import logging
import re
import sys
from pathlib import Path

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.pybrms")

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "pybrms"
API_DIR = "reference/api"
CLI_PAGE = "reference/cli.md"
BENCH_PAGE = "benchmarks.md"

# Navigation groups of the API reference, in order: (title, module prefixes). A module goes to the
# first group with a matching prefix; modules no group claims go to "Everything else", so a new
# module appears without an edit here.
API_GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("Engines", ("pybrms.engines", "pybrms.fitset", "pybrms.verify", "pybrms.cache")),
    ("Results", ("pybrms.results",)),
    ("Model specification", ("pybrms.spec",)),
    ("R: the bridge and data read by R", ("pybrms.bridge", "pybrms.rread")),
    ("Compare", ("pybrms.compare",)),
    ("Plots", ("pybrms.plots",)),
    ("Runs", ("pybrms.runs", "pybrms.checks")),
    ("Sensitivity grids", ("pybrms.sensitivity",)),
    ("Simulation studies", ("pybrms.simstudy",)),
    ("Plugins and configuration", ("pybrms.plugins", "pybrms.config")),
    ("Command line", ("pybrms.cli", "pybrms.cliargs", "pybrms.doctor", "pybrms.demo")),
    ("The paper: Kyrychenko et al. 2025", ("pybrms.papers",)),
]

# Sections of the namespace page, in order: (title, names). Names of ``pybrms.__all__`` that no
# section lists go to "Other names".
NAMESPACE_GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("Fitting", ("brm", "fit", "BrmsFit", "load", "loo_compare", "FitSpec", "FitResult")),
    ("Comparing, checking, varying", ("compare", "verify", "sensitivity")),
    ("brms's model language", ("bf", "lf", "nlf", "set_rescor", "prior", "Prior", "family",
                               "custom_family", "save_pars", "stanvar", "R")),
    ("Before fitting: brms's build step", ("get_prior", "default_prior", "validate_prior",
                                           "stancode", "standata")),
    ("Data read by R", ("read_csv", "read_rds", "load_rdata", "r_dataset")),
    ("Errors and warnings", ("PybrmsError", "SpecError", "DataError", "EngineError", "RError",
                             "RNotAvailableError", "PybrmsWarning", "EngineWarning",
                             "ConvergenceWarning")),
]


# ------------------------------------------------------------------------------------------------
# API reference


def public_modules(root: Path = ROOT, package: str = PACKAGE) -> list[str]:
    """Dotted names of the package's public modules and sub-packages, from the file tree."""
    base = root / package
    out = []
    for path in sorted(base.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts) or parts[-1] == "__main__":
            continue
        # only modules inside packages (every folder on the way has an __init__.py)
        if not all((root.joinpath(*parts[:i]) / "__init__.py").exists()
                   for i in range(1, len(parts) if rel.name != "__init__" else len(parts) + 1)):
            continue
        out.append(".".join(parts))
    return sorted(set(out) - {package})


def namespace(root: Path = ROOT, package: str = PACKAGE) -> dict[str, str]:
    """``{name: defining object path}`` for every name in ``pybrms.__all__``."""
    tree = ast.parse((root / package / "__init__.py").read_text())
    where: dict[str, str] = {}
    lazy: dict[str, str] = {}
    tables: dict[str, dict[str, str]] = {}
    exported: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            mod = ".".join([package, *(node.module.split(".") if node.module else [])])
            for a in node.names:
                where[a.asname or a.name] = f"{mod}.{a.name}"
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(targets) != 1 or not isinstance(targets[0], ast.Name) or node.value is None:
                continue
            target = targets[0].id
            if target == "__all__":
                for elt in node.value.elts:
                    if isinstance(elt, ast.Starred):
                        exported.extend(tables.get(getattr(elt.value, "id", ""), {}))
                    elif isinstance(elt, ast.Constant):
                        exported.append(elt.value)
                continue
            # a lazy-import table: {name: (module, attribute)}
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if isinstance(value, dict) and value and all(
                    isinstance(v, (tuple, list)) and len(v) == 2 for v in value.values()):
                tables[target] = {k: f"{v[0]}.{v[1]}" for k, v in value.items()}
                lazy.update(tables[target])
    where.update(lazy)
    return {name: where[name] for name in exported if name in where}


def _module_file(name: str) -> str:
    return f"{API_DIR}/{name}.md"


def _public_module(name: str, modules: list[str]) -> str:
    """The module itself if it has a page, else its nearest public ancestor."""
    parts = name.split(".")
    while len(parts) > 1 and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts)


def api_pages(modules: list[str], names: dict[str, str]) -> tuple[dict[str, str], list]:
    """The API pages' Markdown by path, and their navigation."""
    pages: dict[str, str] = {}
    groups: dict[str, list[str]] = {title: [] for title, _ in API_GROUPS}
    groups["Everything else"] = []
    for mod in modules:
        title = next((t for t, prefixes in API_GROUPS
                      if any(mod == p or mod.startswith(p + ".") for p in prefixes)),
                     "Everything else")
        groups[title].append(mod)
        pages[_module_file(mod)] = (
            f"::: {mod}\n"
            "    options:\n"
            "      show_root_heading: true\n"
            "      show_root_full_path: true\n"
            "      heading_level: 1\n"
        )

    listed = [n for _, ns in NAMESPACE_GROUPS for n in ns]
    sections = [(t, [n for n in ns if n in names]) for t, ns in NAMESPACE_GROUPS]
    sections.append(("Other names", [n for n in names if n not in listed]))
    lines = [
        "# The `pybrms` namespace\n",
        "What `import pybrms` gives. Each name is documented where it is defined (the module "
        "is named under each heading); the pages after this one document every public module "
        "by sub-package. Generated from the source at build time.\n",
    ]
    for title, ns in sections:
        if not ns:
            continue
        lines.append(f"## {title}\n")
        for n in ns:
            target = names[n]
            module = target.rsplit(".", 1)[0]
            page = _public_module(module, modules)
            lines.append(f"### `pybrms.{n}` {{ #pybrms.{n} data-toc-label='{n}' }}\n")
            where = (f"[`{module}`]({Path(_module_file(page)).name})" if page in modules
                     else f"`{module}`")
            lines.append(f"Defined in {where}.\n")
            lines.append(
                f"::: {target}\n"
                "    options:\n"
                "      show_root_heading: false\n"
                "      heading_level: 4\n"
            )
    pages[f"{API_DIR}/index.md"] = "\n".join(lines)

    nav: list = [{"The pybrms namespace": f"{API_DIR}/index.md"}]
    for title, mods in groups.items():
        if mods:
            nav.append({title: [{m: _module_file(m)} for m in mods]})
    return pages, nav


# ------------------------------------------------------------------------------------------------
# CLI reference


def _esc(text: str) -> str:
    """Plain text for Markdown (table cells included); ``code`` and `code` stay code."""
    out = []
    for i, part in enumerate(re.split(r"``?([^`]+)``?", " ".join(text.split()))):
        if i % 2:
            out.append(f"`{part}`")
        else:
            for ch in "\\*_[]<>|":
                part = part.replace(ch, "\\" + ch)
            out.append(part)
    return "".join(out)


def _paragraphs(text: str) -> str:
    return "\n\n".join(_esc(p) for p in re.split(r"\n\s*\n", text.strip()) if p.strip())


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, tuple[argparse.ArgumentParser, str]]:
    """``{name: (parser, the help it was added with)}`` of a parser's sub-commands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help or "" for c in action._choices_actions}
            return {n: (p, helps.get(n, "")) for n, p in action.choices.items()}
    return {}


def _slug(prog: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", prog.lower()).strip("-")


def _cli_section(parser: argparse.ArgumentParser, summary: str, level: int) -> list[str]:
    out = [f"{'#' * level} `{parser.prog}` {{ #{_slug(parser.prog)} }}\n"]
    if summary:
        out.append(_esc(summary[0].upper() + summary[1:]) + ".\n")
    if parser.description:
        out.append(_paragraphs(parser.description) + "\n")
    out.append("```text\n" + parser.format_usage().strip() + "\n```\n")
    formatter = parser._get_formatter()
    rows = []
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(
                action, (argparse._SubParsersAction, argparse._HelpAction)):
            continue
        if action.option_strings:
            names = ", ".join(action.option_strings)
            if action.nargs != 0:
                metavar = formatter._get_default_metavar_for_optional(action)
                names += " " + formatter._format_args(action, metavar)
        else:
            names = formatter._format_args(
                action, formatter._get_default_metavar_for_positional(action))
        help_text = formatter._expand_help(action) if action.help else ""
        default = action.default
        show_default = (default not in (None, False, argparse.SUPPRESS, [])
                        and action.nargs != 0 and "%(default)" not in (action.help or ""))
        rows.append((names, help_text, repr(default) if show_default else ""))
    if rows:
        out.append("| argument | meaning | default |\n|---|---|---|")
        out.extend(f"| `{n}` | {_esc(h)} | {('`' + d + '`') if d else ''} |"
                   for n, h, d in rows)
        out.append("")
    if parser.epilog:
        out.append("```text\n" + parser.epilog.strip() + "\n```\n")
    for sub, sub_help in _subparsers(parser).values():
        out.extend(_cli_section(sub, sub_help, level + 1))
    return out


def cli_page() -> tuple[str, list[str]]:
    """The CLI reference and the names of the top-level sub-commands."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from pybrms.cli import build_parser

    parser = build_parser()
    subs = _subparsers(parser)
    lines = [
        "# Command-line reference\n",
        "Generated at build time from `pybrms.cli.build_parser()`: every sub-command with its "
        "usage, description and options, as `pybrms <command> --help` prints them.\n",
        "```text\n" + parser.format_usage().strip() + "\n```\n",
        "| command | what it does |\n|---|---|",
    ]
    for name, (sub, sub_help) in subs.items():
        lines.append(f"| [`{name}`](#{_slug(sub.prog)}) | {_esc(sub_help)} |")
    lines.append("")
    for sub, sub_help in subs.values():
        lines.extend(_cli_section(sub, sub_help, 2))
    return "\n".join(lines), list(subs)


# ------------------------------------------------------------------------------------------------
# the engine registry


def engines_table(page_depth: int) -> str:
    """Each registered engine's capabilities and options dataclass, from ``pybrms.engines``."""
    import dataclasses

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from pybrms.engines import ENGINES, capabilities, get_engine

    up = "../" * page_depth
    rows = ["| engine | capabilities | options | option names |", "|---|---|---|---|"]
    for name in ENGINES:
        caps = dataclasses.asdict(capabilities(name))
        true = ", ".join(f"`{k}`" for k, v in caps.items() if v)
        opts = get_engine(name).options
        fields = ", ".join(f"`{f.name}`" for f in dataclasses.fields(opts))
        mod = opts.__module__
        page = _public_module(mod, public_modules())
        link = f"{up}{_module_file(page)}" + (f"#{mod}.{opts.__qualname__}" if page == mod else "")
        rows.append(f"| `{name}` | {true} | [`{opts.__name__}`]({link}) | {fields} |")
    return "\n".join(rows)


# ------------------------------------------------------------------------------------------------
# benchmarks and figures


def _render_module():
    spec = importlib.util.spec_from_file_location("_pybrms_bench_render",
                                                  ROOT / "benchmarks" / "render.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look the module up
    spec.loader.exec_module(mod)
    return mod


FIGURE_SOURCES = ("examples/grids/results/*.png", "benchmarks/results/**/*.png")
EXAMPLE_SUMMARIES = "examples/grids/results/*_summary.md"


def figures() -> dict[str, Path]:
    """Site path -> PNG of a real run, for every figure source."""
    out: dict[str, Path] = {}
    for pattern in FIGURE_SOURCES:
        for p in sorted(ROOT.glob(pattern)):
            out[f"figures/{p.name}"] = p
    return out


def example_pages() -> dict[str, str]:
    """The example grids' summaries (outputs of real runs) as pages, images from figures/."""
    pages = {}
    for p in sorted(ROOT.glob(EXAMPLE_SUMMARIES)):
        text = p.read_text()
        grid = re.search(r"^- Grid: (.+)$", text, re.M)
        title = f"# Sensitivity summary: `{grid.group(1).strip()}`" if grid else \
            f"# Sensitivity summary: {p.stem}"
        text = re.sub(r"^# .*$", title, text, count=1, flags=re.M)
        text = re.sub(r"\]\(([^)/]+\.png)\)", r"](../figures/\1)", text)
        intro = (f"\n\nThe summary a real run wrote (`{p.relative_to(ROOT).as_posix()}`), "
                 "shown as it is.\n")
        text = text.replace(title, title + intro, 1)
        pages[f"examples/{p.stem}.md"] = text
    return pages


# ------------------------------------------------------------------------------------------------
# architecture

ARCHITECTURE_PAGE = "architecture.md"
#: folders outside the package, for the layout section
OTHER_FOLDERS = {
    "tests/": "fast/ (no R), r/ (R, no Stan compile), slow/ (real fits); golden/ with the R "
              "scripts that made the golden files",
    "benchmarks/": "measurement scripts; results/ holds their records (the Benchmarks page)",
    "examples/grids/": "sensitivity grids (cbpp) and the outputs of real runs",
    "examples/cluster/": "dask-jobqueue clusters of pybrms workers on SLURM and PBS (job "
                         "scripts checked by tests/fast/test_cluster_examples.py; not run on a "
                         "real cluster)",
    "scripts/, Makefile": "make setup (apt + .venv with constraints.txt), test, demo, docs, bench",
    "recipe/, environment.yml": "a conda-forge recipe and a conda environment (neither solved "
                                "nor built here)",
    "pyproject.toml, constraints.txt": "dependency ranges, the entry point of the paper "
                                       "plugin and the import-layer contracts; the exact "
                                       "versions every test tier runs on",
    "docs/": "this site's pages and build hooks",
    "r/, comparisons/": "links to pybrms/r/ (the R code the bridge sources, and Makevars) and "
                        "to the paper's specs and published tables",
}


def _first_line(path: Path) -> str:
    try:
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    except SyntaxError:
        return ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def architecture_page() -> str:
    """ARCHITECTURE.md (the repository's, kept as the one copy) and a generated layout."""
    text = (ROOT / "ARCHITECTURE.md").read_text()

    def link(m: re.Match) -> str:
        label, target = m.group(1), m.group(2)
        if re.match(r"^[a-z]+:|^#", target):
            return m.group(0)
        if target.startswith("docs/"):
            return f"[{label}]({target[5:]})"
        return f"{label} (`{target}`)"

    text = re.sub(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)", link, text)
    lines = [
        text.rstrip(), "",
        "## Package layout", "",
        "Generated from the source tree when this site is built: each sub-package and top-level "
        "module of `pybrms/` with the first paragraph of its docstring.", "",
        "| module | what it holds |", "|---|---|",
    ]
    base = ROOT / PACKAGE
    for p in sorted(base.iterdir()):
        if p.name.startswith(("_", ".")):
            continue
        if p.is_dir() and (p / "__init__.py").exists():
            name, doc = f"{PACKAGE}/{p.name}/", _first_line(p / "__init__.py")
        elif p.is_dir() and p.name != "__pycache__":
            name, doc = f"{PACKAGE}/{p.name}/", "package data (no Python module)"
        elif p.suffix == ".py":
            name, doc = f"{PACKAGE}/{p.name}", _first_line(p)
        else:
            continue
        doc = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", doc).replace("|", "/") or "—"
        lines.append(f"| `{name}` | {doc} |")
    lines += ["", "Outside the package:", "", "| folder | what it holds |", "|---|---|"]
    lines += [f"| `{k}` | {v} |" for k, v in OTHER_FOLDERS.items()]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------
# hooks

_state: dict = {}


def _replace_nav(nav: list, title: str, new) -> bool:
    for i, item in enumerate(nav):
        if isinstance(item, dict) and title in item:
            nav[i] = {title: new}
            return True
        if isinstance(item, dict):
            for v in item.values():
                if isinstance(v, list) and _replace_nav(v, title, new):
                    return True
    return False


def on_config(config, **kwargs):
    """Write every generated page (kept until on_files) and put their entries in the nav."""
    names = namespace()
    pages, api_nav = api_pages(public_modules(), names)
    cli_md, commands = cli_page()
    pages[CLI_PAGE] = cli_md
    render = _render_module()
    pages[BENCH_PAGE] = render.render_page(ROOT / "benchmarks" / "results")
    pages[ARCHITECTURE_PAGE] = architecture_page()
    examples = example_pages()
    pages.update(examples)
    _state.update(pages=pages, render=render, commands=commands, figures=figures())
    nav = config.get("nav") or []
    _replace_nav(nav, "API reference", api_nav)
    bench_nav = [{"Records": BENCH_PAGE}]
    bench_nav += [{f"Example output: {Path(k).stem.replace('_summary', '')}": k}
                  for k in examples]
    _replace_nav(nav, "Benchmarks", bench_nav)
    return config


def on_files(files: Files, config, **kwargs):
    """Add the generated pages and the figures to the site's files."""
    for uri, content in _state["pages"].items():
        existing = files.get_file_from_path(uri)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, uri, content=content))
    for uri, src in _state["figures"].items():
        files.append(File.generated(config, uri, abs_src_path=str(src)))
    return files


_EMBED = re.compile(r"^<!--\s*benchmark:\s*(\S+)(?:\s+parts=([\d,]+))?\s*-->\s*$", re.M)


def on_page_markdown(markdown: str, page, config, files, **kwargs):
    """Expand ``<!-- benchmark: ID -->`` and ``<!-- engines-table -->`` in a guide."""
    render = _state["render"]
    records = {r.id: r for r in render.load_records(ROOT / "benchmarks" / "results")}
    depth = page.file.src_uri.count("/")
    link = "../" * depth + BENCH_PAGE

    def embed(m: re.Match) -> str:
        rid = m.group(1)
        if rid not in records:
            log.warning("%s: no benchmark record %r (have: %s)", page.file.src_uri, rid,
                        ", ".join(sorted(records)))
            return m.group(0)
        parts = [int(i) for i in m.group(2).split(",")] if m.group(2) else None
        return render.render_embed(records[rid], link, parts)

    markdown = _EMBED.sub(embed, markdown)
    if "<!-- engines-table -->" in markdown:
        markdown = markdown.replace("<!-- engines-table -->", engines_table(depth))
    return markdown
