"""What every ``pybrms`` command's parser follows: plain-text help with an Examples section,
and one way to name the output folder.

Each command module builds its parser with :func:`add_command` (a description, help text on
every option, worked examples) and, when it writes files, :func:`add_out` (``--out`` with a
default named after the command, created if missing, and a sentence saying what happens to
an earlier run's files there).
"""

from __future__ import annotations

import argparse
import re
import textwrap
from collections.abc import Sequence

#: ``--out`` on a folder holding an earlier run: its checkpoints are reused
RESUMES = ("an earlier run's folder is resumed: finished fits are read from its checkpoints "
           "and only the rest are fitted")
#: ``--out`` on a folder holding an earlier run: its files are written again
REPLACES = "files of an earlier run there are replaced"


class HelpFormatter(argparse.HelpFormatter):
    """Plain-text help: description paragraphs are filled to the terminal width; a block
    with an indented line (the examples) is kept exactly as written.
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        blocks = re.split(r"\n[ \t]*\n", text.strip("\n"))
        out = []
        for block in blocks:
            lines = block.splitlines()
            if any(line[:1].isspace() for line in lines):
                out.append("\n".join(indent + line.rstrip() for line in lines))
            else:
                out.append(textwrap.fill(" ".join(line.strip() for line in lines), width,
                                         initial_indent=indent, subsequent_indent=indent))
        return "\n\n".join(out)


def examples_epilog(examples: Sequence[tuple[str, str]]) -> str:
    """An ``Examples:`` section: each example a comment line and its command line(s).

    Parameters
    ----------
    examples : sequence of (str, str)
        ``(what it does, command)``; a command may span lines (each but the last ending
        with a backslash).
    """
    parts = []
    for comment, command in examples:
        lines = [f"  # {comment}"] + [f"  {line}" for line in command.strip().splitlines()]
        parts.append("\n".join(lines))
    return "Examples:\n" + "\n\n".join(parts)


def add_command(subparsers: argparse._SubParsersAction, name: str, *, help: str,  # noqa: A002
                description: str, examples: Sequence[tuple[str, str]]
                ) -> argparse.ArgumentParser:
    """Add a sub-command with pybrms's help layout.

    Parameters
    ----------
    subparsers : argparse sub-parsers action
        From :func:`add_commands` (or ``parser.add_subparsers()``).
    name : str
        The command's name.
    help : str
        One line for the parent's list of commands.
    description : str
        What the command does and writes (plain text; paragraphs are filled).
    examples : sequence of (str, str)
        Working command lines, each with a one-line comment (:func:`examples_epilog`).

    Returns
    -------
    argparse.ArgumentParser
    """
    return subparsers.add_parser(name, help=help, description=description,
                                 epilog=examples_epilog(examples), formatter_class=HelpFormatter)


def add_commands(parser: argparse.ArgumentParser, dest: str) -> argparse._SubParsersAction:
    """The sub-command list of ``parser`` (one of them is required)."""
    return parser.add_subparsers(dest=dest, required=True, title="commands", metavar="COMMAND",
                                 help="one of these (each has its own --help)")


def add_out(parser: argparse.ArgumentParser, default: str | None, *, existing: str,
            what: str = "output folder", default_text: str | None = None) -> None:
    """Add ``--out`` with the wording every command uses.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    default : str or None
        The default path (a folder named after the command); None when the command works
        it out (then say how in ``default_text``).
    existing : str
        What happens when the folder already holds files (:data:`RESUMES`,
        :data:`REPLACES`, or the command's own sentence).
    what : str
        ``"output folder"``, or what the path is when it is a file.
    default_text : str, optional
        The default as shown in the help (default ``./DEFAULT``).
    """
    shown = default_text or f"./{default}"
    created = "created if missing" if what.endswith("folder") else "its folder created if missing"
    parser.add_argument("--out", default=default,
                        metavar="DIR" if what.endswith("folder") else "FILE",
                        help=f"{what} (default {shown}); {created}; {existing}")
