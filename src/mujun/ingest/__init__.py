"""Ingest of department files: readers, source profiles, header detection, cell parsing."""

from mujun.ingest.core import IngestReport, ingest_directory
from mujun.ingest.profiles import SourceProfile, load_profiles

__all__ = ["IngestReport", "SourceProfile", "ingest_directory", "load_profiles"]
