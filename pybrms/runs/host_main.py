"""The R host's entry point: ``python -m pybrms.runs.host_main RESULT_FD PARENT_PID``.

Kept apart from :mod:`pybrms.runs.host` (which every run imports) so that running it as
``__main__`` does not import the same module twice.
"""

from __future__ import annotations

import sys

from .host import main

if __name__ == "__main__":  # pragma: no cover - the host process
    sys.exit(main())
