"""Synthetic demo province: department files as a bureau receives them, with known defects.

``generate_province`` writes one file per department per year (XLSX/CSV with the messiness of
real deliveries), ``manifest.json`` (files, injected defects, legitimate edge cases, calibration)
and ``truth.parquet``; ``build_population`` gives the model alone, in canonical units.
"""

from mujun.demo.calibration import TARGETS, compute_calibration
from mujun.demo.cli import demo_data_command
from mujun.demo.generate import GenerationReport, generate_province
from mujun.demo.population import Population, build_population

__all__ = [
    "TARGETS",
    "GenerationReport",
    "Population",
    "build_population",
    "compute_calibration",
    "demo_data_command",
    "generate_province",
]
