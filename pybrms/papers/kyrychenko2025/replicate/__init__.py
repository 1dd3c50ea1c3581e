"""``pybrms replicate``: the paper end to end (plan -> fits with checkpoints -> tables, figures, report)."""

from .plan import Plan, Unit, build_plan

__all__ = ["Plan", "Unit", "build_plan"]
