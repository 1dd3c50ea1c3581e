"""The one run engine of every multi-fit command (replicate, sensitivity, simulation studies).

Tasks (:mod:`.task`) -> one compile per model structure -> fan out in this process, on a local
Dask cluster or on a scheduler (:mod:`.cluster`, :mod:`.engine`) -> a checkpoint per task
(:mod:`.checkpoint`) -> progress with an ETA (:mod:`.progress`) -> records (:mod:`.fitting`).
"""
