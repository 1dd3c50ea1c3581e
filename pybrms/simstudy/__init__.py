"""Simulation studies: several estimation methods over many simulated datasets.

The statistical core lives in leaf modules that need only numpy, pandas, scipy and matplotlib:

- :mod:`pybrms.simstudy.performance`: rsimsum's performance measures with Monte Carlo
  standard errors (Morris, White & Crowther 2019), and a convergence table;
- :mod:`pybrms.simstudy.sbc`: simulation-based calibration ranks and the simultaneous ECDF
  test of Säilynoja, Bürkner & Vehtari (2022), as in the SBC package;
- :mod:`pybrms.simstudy.planning`: how many replicates a target Monte Carlo SE needs;
- :mod:`pybrms.simstudy.figures`: zip, measure, nested-loop, rank-histogram and ECDF-difference
  figures.

Nothing is imported here, so importing the package stays cheap.
"""
