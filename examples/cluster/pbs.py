"""pybrms workers on PBS (dask-jobqueue): `python pbs.py --cache-dir /shared/pybrms-cache ...`.

`--print-job-script` shows the job script without submitting anything; see pybrms_jobqueue.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pybrms_jobqueue import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main("pbs"))
