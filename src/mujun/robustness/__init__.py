"""Robustness of a run's classes: Monte Carlo over weights, benchmark strategy and method, Sobol
indices of the weights, leave-one-out (:mod:`.analysis`), on batched scoring (:mod:`.batch`) of
a run rebuilt in memory (:mod:`.runscore`), stored by :mod:`.tables`; the command is
:mod:`.cli`. Paths to the next class live in :mod:`mujun.paths`. Import from the submodules
(this package imports nothing, so `mujun.paths` and it can use each other)."""
