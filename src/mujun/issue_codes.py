"""The stable issue codes written to the ``issues`` table, with their stage and meaning.

Codes never change meaning once released; docs/ingest.md lists them (a test keeps both in step).
"""

from __future__ import annotations

# code -> (stage, usual severity, meaning)
ISSUE_CODES: dict[str, tuple[str, str, str]] = {
    # File / structure level.
    "unsupported-file": ("ingest", "warning", "not an XLSX, XLS or CSV file"),
    "unreadable-file": ("ingest", "error", "the file cannot be opened or decoded"),
    "empty-file": ("ingest", "error", "the file has no content"),
    "unrecognised-file": (
        "ingest",
        "error",
        "no sheet carries the header of a known department file",
    ),
    "ambiguous-slot": (
        "ingest",
        "error",
        "two files in one delivery claim the same department × year",
    ),
    "year-mismatch": ("ingest", "warning", "the file name names another year than --year"),
    "missing-column": ("ingest", "error", "a required column is not in the header"),
    "missing-key-column": ("ingest", "error", "a key column is missing: every row is quarantined"),
    "bad-unit": ("ingest", "error", "the unit in a header cannot measure the field"),
    "duplicate-column": ("ingest", "warning", "two columns map to one field; the first is read"),
    "unknown-column": ("ingest", "info", "a column no profile field uses"),
    "missing-file": (
        "validate",
        "warning",
        "no file for a department that must report (error for the register)",
    ),
    # Row / cell level.
    "missing-key": (
        "ingest",
        "error",
        "the credit code (or another key) is empty: row quarantined",
    ),
    "bad-credit-code": (
        "ingest",
        "error",
        "length, character or check-character failure (key: row quarantined)",
    ),
    "mangled-credit-code": ("ingest", "error", "Excel turned the credit code into a number"),
    "type-error": (
        "ingest",
        "per field",
        "text where a number or date belongs; the field is nulled",
    ),
    "invalid-choice": ("ingest", "per field", "not one of the allowed values (e.g. 自有/租赁)"),
    "unknown-division": ("ingest", "per field", "not a Zhejiang division or development-zone code"),
    "unknown-industry": ("ingest", "per field", "not a GB/T 4754-2017 industry code"),
    "missing-value": ("ingest", "per field", "a required cell is empty"),
    "out-of-range": ("ingest", "per field", "a negative value where none is possible"),
    "duplicate-row": (
        "validate",
        "warning",
        "an exact copy of an earlier row; the copy is not used",
    ),
    "duplicate-key": ("validate", "error", "rows share a key with different values; none is used"),
    "unknown-enterprise": (
        "validate",
        "warning",
        "a valid credit code that is not in the register",
    ),
    "missing-enterprise": (
        "validate",
        "error",
        "a register firm absent from a department that must report it",
    ),
    "unit-mismatch": (
        "validate",
        "error",
        "a value off its peers by a unit factor (10⁴, 10³, 666.67); not used",
    ),
    "implausible-value": ("validate", "warning", "a value ≥ 40× off the median of its peers"),
}
