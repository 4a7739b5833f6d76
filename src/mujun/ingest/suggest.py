"""Suggestions for mistyped credit codes: the register firm with the same or a near name/code."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mujun.reference.uscc import ALPHABET, validate_uscc_arrow

_NAME_NOISE = re.compile(r"[\s()（）·.,，、]")
_NUMERIC = re.compile(r"^[\d.]+(E\+?\d+)?$")
MAX_POOL = 3000
# Near-name search (difflib) is slow; in one call of ``suggest_many`` (one kind of problem in one
# file) only this many rows get it, the others exact-name and typo suggestions only.
NEAR_NAME_BUDGET = 50
_CORE_SUFFIX = re.compile(r"(股份有限公司|有限责任公司|有限公司|集团公司|集团|公司|厂)$")
_CORE_PREFIX = re.compile(r"^(浙江省|浙江)?([\u4e00-\u9fff]{2,3}?[市县区]){0,2}")


def normalise_name(name: str | None) -> str:
    """Comparable firm name: NFKC, no spaces or brackets."""
    if not name:
        return ""
    return _NAME_NOISE.sub("", unicodedata.normalize("NFKC", name))


def core_name(name: str | None) -> str:
    """The distinctive part of a firm name: without place prefix and legal-form suffix."""
    n = normalise_name(name)
    core = _CORE_PREFIX.sub("", _CORE_SUFFIX.sub("", n), count=1)
    return core if len(core) >= 2 else n


# The same two functions over a whole column (RE2 syntax; kept equal to the ones above by a test).
_RE2_NOISE = r"[\s()（）·.,，、]"
_RE2_SUFFIX = r"(股份有限公司|有限责任公司|有限公司|集团公司|集团|公司|厂)$"
_RE2_PREFIX = r"^(浙江省|浙江)?([\x{4e00}-\x{9fff}]{2,3}?[市县区]){0,2}"


# Legal forms longest first: the longest one a name ends with is what _RE2_SUFFIX removes.
_SUFFIXES = sorted(
    ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "集团", "公司", "厂"), key=len
)[::-1]


def _rewrite_rows(s: pa.Array, rows: pa.Array, rewrite) -> pa.Array:
    """``s`` with ``rewrite`` applied to the rows where the boolean ``rows`` is true; the
    (costly) regular expressions then run over the few names they can change."""
    mask = pc.fill_null(rows, False)
    if not pc.any(mask).as_py():
        return s
    return pc.replace_with_mask(s, mask, rewrite(pc.filter(s, mask)))


def normalise_names(names: pa.Array) -> pa.Array:
    """:func:`normalise_name` over an Arrow column."""
    s = pc.utf8_normalize(pc.fill_null(names.cast(pa.string()), ""), "NFKC")
    if isinstance(s, pa.ChunkedArray):
        s = s.combine_chunks()
    return _rewrite_rows(
        s,
        pc.match_substring_regex(s, _RE2_NOISE),
        lambda sub: pc.replace_substring_regex(sub, _RE2_NOISE, ""),
    )


def core_names(normalised: pa.Array) -> pa.Array:
    """:func:`core_name` over an Arrow column of normalised names."""
    if isinstance(normalised, pa.ChunkedArray):
        normalised = normalised.combine_chunks()
    core, done = normalised, pa.nulls(len(normalised), pa.bool_()).fill_null(False)
    for suffix in _SUFFIXES:
        hit = pc.and_not(pc.fill_null(pc.ends_with(normalised, suffix), False), done)
        core = pc.if_else(hit, pc.utf8_slice_codeunits(normalised, 0, -len(suffix)), core)
        done = pc.or_(done, hit)
    # The place prefix can only be there in names starting with 浙江 or holding 市, 县 or 区.
    maybe_place = pc.starts_with(core, "浙江")
    for mark in "市县区":
        maybe_place = pc.or_(maybe_place, pc.match_substring(core, mark))
    core = _rewrite_rows(
        core,
        maybe_place,
        lambda sub: pc.replace_substring_regex(sub, _RE2_PREFIX, "", max_replacements=1),
    )
    return pc.if_else(pc.greater_equal(pc.utf8_length(core), 2), core, normalised)


@dataclass
class RegisterIndex:
    """Register firms of one year, indexed for code and name look-ups.

    Names are matched in bulk with Arrow (normalised and core names of the whole register are
    computed once, on the first look-up that needs them); Python only loops over the problem
    rows themselves.
    """

    codes: dict[str, str]  # uscc -> name
    _arrays: tuple[list[str], pa.Array, pa.Array] | None = None
    _pools: dict[str, dict[str, str]] = field(default_factory=dict)
    _code_array: pa.Array | None = None

    @classmethod
    def build(cls, pairs: list[tuple[str, str | None]]) -> RegisterIndex:
        """Index (uscc, name) pairs."""
        return cls({code: name or "" for code, name in pairs})

    @classmethod
    def from_arrow(cls, names: pa.Table) -> RegisterIndex:
        """Index an Arrow table with ``uscc`` and ``name`` columns and, optionally, their
        :func:`normalise_names` and :func:`core_names` as ``norm`` and ``core`` (computed once
        and reused by every index over the same register rows)."""
        codes = names.column("uscc").to_pylist()
        index = cls(
            dict(zip(codes, (n or "" for n in names.column("name").to_pylist()), strict=True))
        )
        # With a repeated code the dictionary keeps one name per code, so the arrays no longer
        # line up with it and are computed afresh.
        if "norm" in names.column_names and len(index.codes) == len(codes):
            index._arrays = (
                codes,
                names.column("norm").combine_chunks(),
                names.column("core").combine_chunks(),
            )
        return index

    def _name_arrays(self) -> tuple[list[str], pa.Array, pa.Array]:
        if self._arrays is None:
            normalised = normalise_names(pa.array(list(self.codes.values()), pa.string()))
            self._arrays = (list(self.codes), normalised, core_names(normalised))
        return self._arrays

    def _first_match(self, register: pa.Array, wanted: pa.Array) -> dict[str, int]:
        """Position of the first register entry equal to each non-empty ``wanted`` string that
        has one. The few wanted strings are hashed, not the whole register."""
        values = pc.unique(pc.drop_null(wanted))
        values = pc.filter(values, pc.not_equal(values, ""))
        if len(values) == 0:
            return {}
        hit = pc.fill_null(pc.index_in(register, value_set=values), -1).to_numpy()
        rows = np.flatnonzero(hit >= 0)
        which, first = np.unique(hit[rows], return_index=True)
        names = values.to_pylist()
        return {names[w]: int(rows[f]) for w, f in zip(which, first, strict=True)}

    def _pool(self, prefix: str) -> dict[str, str]:
        """Register firms (name -> code) whose code starts with the first 8 (else 6) characters
        of ``prefix``; built for the few prefixes asked about, not for the whole register."""
        if len(prefix) >= 8:
            key = prefix[:8]
        elif len(prefix) >= 6:
            key = prefix[:6]
        else:
            return {}
        if key not in self._pools:
            codes, _, _ = self._name_arrays()
            hits = pc.starts_with(self._codes_arrow(), key)
            pool: dict[str, str] = {}
            for i in np.flatnonzero(pc.fill_null(hits, False).to_numpy(zero_copy_only=False)):
                pool[self.codes[codes[i]]] = codes[i]
            self._pools[key] = pool
        return self._pools[key]

    def _codes_arrow(self) -> pa.Array:
        if self._code_array is None:
            self._code_array = pa.array(self._name_arrays()[0], pa.string())
        return self._code_array

    def _typo_variants_many(self, codes: list[str]) -> list[list[str]]:
        """Register codes one typo away from each 18-character code: a character replaced by
        another of the code alphabet (18 × 30) or two neighbours swapped (17), tried in that
        order. Every candidate of every code is made in NumPy and looked up in one Arrow call;
        characters are bytes, or UCS-4 when a code holds a non-ASCII character (slower to turn
        into Arrow text), which is then replaced like any other."""
        n, width = len(codes), 18
        if not n:
            return []
        kind, char = ("S", np.uint8) if all(c.isascii() for c in codes) else ("U", np.uint32)
        base = np.array(codes, dtype=f"{kind}{width}").view(char).reshape(n, width)
        alpha = np.array(list(ALPHABET), dtype=f"{kind}1").view(char)
        subs = np.repeat(base[:, None, None, :], width, axis=1).repeat(len(alpha), axis=2)
        for i in range(width):
            subs[:, i, :, i] = alpha
        subs = subs.reshape(n, width * len(alpha), width)
        keep_subs = (base[:, :, None] != alpha[None, None, :]).reshape(n, -1)
        swaps = np.repeat(base[:, None, :], width - 1, axis=1)
        for i in range(width - 1):
            swaps[:, i, i], swaps[:, i, i + 1] = base[:, i + 1], base[:, i]
        keep_swaps = base[:, :-1] != base[:, 1:]
        cands = np.concatenate([subs, swaps], axis=1)
        keep = np.concatenate([keep_subs, keep_swaps], axis=1)
        rows = np.broadcast_to(np.arange(n)[:, None], keep.shape)[keep]
        flat = np.ascontiguousarray(cands[keep]).view(f"{kind}{width}").ravel()
        text = pa.array(flat) if kind == "U" else pa.array(flat, pa.binary(width))
        text = text.cast(pa.string())
        hit = pc.is_in(text, value_set=self._codes_arrow()).to_numpy(zero_copy_only=False)
        out: list[list[str]] = [[] for _ in range(n)]
        for row, code in zip(rows[hit], pc.filter(text, pa.array(hit)).to_pylist(), strict=True):
            out[row].append(code)
        return out

    def _near_names(self, name: str, prefix: str, cutoff: float, limit: int) -> list[str]:
        pool = self._pool(prefix)
        if not pool or len(pool) > MAX_POOL:
            return []
        close = difflib.get_close_matches(name, list(pool), n=limit, cutoff=cutoff)
        return [pool[n] for n in close]

    def suggest_many(
        self,
        codes: list[str | None],
        names: list[str | None],
        limit: int = 3,
        near_budget: int = NEAR_NAME_BUDGET,
    ) -> list[list[str]]:
        """For each (code, name) row, the register codes it probably meant, best first: the same
        name; a one-character typo or swap of an invalid code; the same name without place and
        legal form (乙鞋业 for 温岭市乙鞋业有限公司); for a code Excel turned into a number, a near
        name among firms registered in the same place (for the first ``near_budget`` such rows
        of the call: an index shared by the files of a delivery gives each file its own)."""
        if not codes:
            return []
        reg_codes, reg_norm, reg_core = self._name_arrays()
        q_norm = normalise_names(pa.array(names, pa.string()))
        q_core_arr = core_names(q_norm)
        by_norm = self._first_match(reg_norm, q_norm)
        by_core = self._first_match(reg_core, q_core_arr)
        q_core = q_core_arr.to_pylist()
        cleaned = [unicodedata.normalize("NFKC", code or "").strip().upper() for code in codes]
        invalid = validate_uscc_arrow(pa.array(cleaned, pa.string())) != 0
        # Only an invalid code can be one typo away from a register code: changing one
        # character of a valid code always breaks its check character.
        typo_rows = [i for i, c in enumerate(cleaned) if len(c) == 18 and invalid[i]]
        typos = dict(
            zip(typo_rows, self._typo_variants_many([cleaned[i] for i in typo_rows]), strict=True)
        )
        out: list[list[str]] = []
        for i, norm in enumerate(q_norm.to_pylist()):
            found: list[str] = []
            if norm and norm in by_norm:
                found.append(reg_codes[by_norm[norm]])
            c = cleaned[i]
            if not found and i in typos:
                found.extend(typos[i])
            if not found and norm and q_core[i] in by_core:
                found.append(reg_codes[by_core[q_core[i]]])
            # Excel's number for a code keeps 15 significant digits, so what it leaves fails
            # the check; a valid all-digit code is a real code, not a mangled one.
            name = names[i]
            if not found and name and invalid[i] and _NUMERIC.match(c) and near_budget > 0:
                # Excel kept only the leading digits: authority, type and part of the division.
                digits = re.sub(r"\D", "", c.split("E")[0])
                prefix = digits[:6].rstrip("0")
                if prefix:
                    near_budget -= 1
                    found.extend(self._near_names(name, prefix, 0.6, limit))
            out.append(list(dict.fromkeys(found))[:limit])
        return out

    def suggest(self, code: str | None, name: str | None, limit: int = 3) -> list[str]:
        """Suggestions for one row (see :meth:`suggest_many`)."""
        return self.suggest_many([code], [name], limit)[0]

    def describe(self, codes: list[str]) -> str | None:
        """``91330…X（某某有限公司）; …`` for a message, or None."""
        if not codes:
            return None
        return "; ".join(f"{c}（{self.codes.get(c, '')}）" for c in codes)
