"""Suggestions for mistyped credit codes: the register firm with the same or a near name/code."""

from __future__ import annotations

import difflib
import re
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mujun.reference.uscc import (
    ALPHABET,
    CHAR_VALUES,
    USCC_WEIGHTS,
    VALID,
    validate_uscc_arrow,
)

_NAME_NOISE = re.compile(r"[\s()（）·.,，、]")
_NUMERIC = re.compile(r"^[\d.]+(E\+?\d+)?$")
MAX_POOL = 3000
# Near-name search (difflib) is slow; in one call of ``suggest_many`` (one kind of problem in one
# file) only this many rows get it, the others exact-name and typo suggestions only.
NEAR_NAME_BUDGET = 50
# For the typo search: the alphabet's code points and the weights of positions 1-17 with their
# inverses modulo 31 (check values of characters: mujun.reference.uscc.CHAR_VALUES).
_ALPHA_POINTS = np.array([ord(ch) for ch in ALPHABET], dtype=np.int64)
_W = np.array(USCC_WEIGHTS, dtype=np.int64)
_W_INV = np.array([pow(w, -1, 31) for w in USCC_WEIGHTS], dtype=np.int64)
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


class RegisterIndex:
    """Register firms of one year, indexed for code and name look-ups.

    The firms stay in Arrow arrays (code, name and, computed once on the first look-up that
    needs them, the normalised and core names): names are matched in bulk with Arrow, and
    Python only loops over the problem rows themselves. A code-to-row dictionary is built only
    when a mistyped code is looked up.
    """

    def __init__(
        self,
        uscc: pa.Array,
        names: pa.Array,
        norm: pa.Array | None = None,
        core: pa.Array | None = None,
    ) -> None:
        self._uscc = _combined(uscc).cast(pa.string())
        self._names = pc.fill_null(_combined(names).cast(pa.string()), "")
        self._norm = None if norm is None else _combined(norm)
        self._core = None if core is None else _combined(core)
        self._row: dict[str, int] | None = None  # code -> first row, built on first need
        self._known: dict[str, int] = {}  # rows of the codes suggested so far
        self._pools: dict[str, dict[str, str]] = {}
        self._odd: tuple[np.ndarray, list[str]] | None = None

    @classmethod
    def build(cls, pairs: list[tuple[str, str | None]]) -> RegisterIndex:
        """Index (uscc, name) pairs."""
        return cls(
            pa.array([c for c, _ in pairs], pa.string()),
            pa.array([n for _, n in pairs], pa.string()),
        )

    @classmethod
    def empty(cls) -> RegisterIndex:
        """An index without firms (no register for the year)."""
        return cls.build([])

    @classmethod
    def from_arrow(cls, names: pa.Table) -> RegisterIndex:
        """Index an Arrow table with ``uscc`` and ``name`` columns and, optionally, their
        :func:`normalise_names` and :func:`core_names` as ``norm`` and ``core`` (computed once
        and reused by every index over the same register rows)."""
        cols = names.column_names
        return cls(
            names.column("uscc"),
            names.column("name"),
            names.column("norm") if "norm" in cols else None,
            names.column("core") if "core" in cols else None,
        )

    def _name_arrays(self) -> tuple[pa.Array, pa.Array]:
        if self._norm is None or self._core is None:
            self._norm = normalise_names(self._names)
            self._core = core_names(self._norm)
        return self._norm, self._core

    def _rows(self) -> dict[str, int]:
        """Code -> its first row in the register."""
        if self._row is None:
            codes = self._uscc.to_pylist()
            # Reversed, so that a repeated code keeps its first row.
            self._row = dict(zip(reversed(codes), range(len(codes) - 1, -1, -1), strict=True))
        return self._row

    def _code_at(self, rows: list[int]) -> list[str]:
        """The codes at register ``rows`` (remembered for :meth:`describe`)."""
        codes = self._uscc.take(pa.array(rows, pa.int64())).to_pylist() if rows else []
        for code, row in zip(codes, rows, strict=True):
            self._known.setdefault(code, row)
        return codes

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
            hits = pc.fill_null(pc.starts_with(self._uscc, key), False)
            rows = np.flatnonzero(hits.to_numpy(zero_copy_only=False)).tolist()
            pool: dict[str, str] = {}
            if len(rows) <= MAX_POOL:  # a larger pool is too many names to compare with
                names = self._names.take(pa.array(rows, pa.int64())).to_pylist()
                pool = dict(zip(names, self._code_at(rows), strict=True))
            self._pools[key] = pool
        return self._pools[key]

    def _typo_variants_many(self, codes: list[str]) -> list[list[str]]:
        """Register codes one typo away from each 18-character code: a character replaced by
        another of the code alphabet or two neighbours swapped, substitutions first (by
        position, then alphabet order), then swaps (by position).

        A register code that passes the check character is found without trying the 557
        variants of a code: at each position exactly one character of the alphabet makes the
        check character right (31 is prime and every weight invertible), so each code has at
        most 18 substitutions and 17 swaps that pass it, and only those are looked up. Register
        codes that fail the check (a register read elsewhere may hold some) are compared with
        the codes directly.
        """
        n = len(codes)
        if not n:
            return []
        points = np.array(codes, dtype="U18").view(np.uint32).reshape(n, 18).astype(np.int64)
        values = CHAR_VALUES[np.minimum(points, 127)].astype(np.int64)
        legal = values >= 0
        v = np.where(legal, values, 0)
        n_bad = (~legal).sum(axis=1)
        total = (v[:, :17] * _W).sum(axis=1)
        hits: list[tuple[int, int, int, int, str]] = []  # row, kind, position, char, code
        # Substitutions at positions 0-16: w_i * x = -(sum of the others + check value).
        x = (-(total[:, None] - _W * v[:, :17] + v[:, 17:]) * _W_INV) % 31
        ok = (n_bad[:, None] - ~legal[:, :17] == 0) & ~(legal[:, :17] & (x == v[:, :17]))
        # ... and at the check position: the check character of the first 17.
        x17 = (-total) % 31
        ok17 = (n_bad - ~legal[:, 17] == 0) & ~(legal[:, 17] & (x17 == v[:, 17]))
        x = np.concatenate([x, x17[:, None]], axis=1)
        ok = np.concatenate([ok, ok17[:, None]], axis=1)
        rows, pos = np.nonzero(ok)
        chars = x[rows, pos]
        cands = points[rows].copy()
        cands[np.arange(rows.size), pos] = _ALPHA_POINTS[chars]
        # Swaps of neighbours (all characters legal, the two different).
        i = np.arange(16)
        swapped = total[:, None] + (_W[i] - _W[i + 1]) * (v[:, i + 1] - v[:, i])
        swap_ok = (swapped + v[:, 17:]) % 31 == 0
        last = (total - _W[16] * v[:, 16] + _W[16] * v[:, 17] + v[:, 16]) % 31 == 0
        swap_ok = np.concatenate([swap_ok, last[:, None]], axis=1)
        swap_ok &= (n_bad == 0)[:, None] & (points[:, :17] != points[:, 1:])
        s_rows, s_pos = np.nonzero(swap_ok)
        s_cands = points[s_rows].copy()
        at = np.arange(s_rows.size)
        s_cands[at, s_pos], s_cands[at, s_pos + 1] = (
            points[s_rows, s_pos + 1],
            points[s_rows, s_pos],
        )
        found = self._rows()
        for kind, rr, pp, cc, arr in (
            (0, rows, pos, chars, cands),
            (1, s_rows, s_pos, np.zeros_like(s_pos), s_cands),
        ):
            texts = arr.astype(np.uint32).view("U18").ravel().tolist() if arr.size else []
            for r, p_, c, text in zip(rr.tolist(), pp.tolist(), cc.tolist(), texts, strict=True):
                if text in found:
                    hits.append((r, kind, p_, c, text))
        hits.extend(self._odd_typos(points))
        out: list[list[str]] = [[] for _ in range(n)]
        for r, _kind, _pos, _char, code in sorted(hits):
            if code not in out[r]:  # a code failing only the other check is found both ways
                out[r].append(code)
            self._known.setdefault(code, found[code])
        return out

    def _odd_typos(self, points: np.ndarray) -> list[tuple[int, int, int, int, str]]:
        """Typo hits among register codes of 18 characters that fail the check character,
        by comparing every asked code with every such code (there are few or none)."""
        if self._odd is None:
            status = validate_uscc_arrow(self._uscc)
            length = pc.fill_null(pc.utf8_length(self._uscc), 0).to_numpy(zero_copy_only=False)
            odd = np.flatnonzero((length == 18) & (status != VALID))
            texts = self._uscc.take(pa.array(odd, pa.int64())).to_pylist()
            arr = np.array(texts, dtype="U18").view(np.uint32).reshape(len(texts), 18)
            self._odd = (arr.astype(np.int64), texts)
        odd, texts = self._odd
        hits: list[tuple[int, int, int, int, str]] = []
        if not texts:
            return hits
        step = max(1, 4_000_000 // (18 * len(texts)))
        for lo in range(0, len(points), step):
            diff = points[lo : lo + step, None, :] != odd[None, :, :]
            n_diff = diff.sum(axis=2)
            for r, k in zip(*np.nonzero(n_diff == 1), strict=True):
                p_ = int(np.argmax(diff[r, k]))
                c = int(CHAR_VALUES[min(int(odd[k, p_]), 127)])
                if c >= 0:  # a substitution is by a character of the alphabet
                    hits.append((lo + int(r), 0, p_, c, texts[k]))
            for r, k in zip(*np.nonzero(n_diff == 2), strict=True):
                p_ = int(np.argmax(diff[r, k]))
                a = points[lo + r]
                if (
                    p_ < 17
                    and diff[r, k, p_ + 1]
                    and a[p_] == odd[k, p_ + 1]
                    and a[p_ + 1] == odd[k, p_]
                ):
                    hits.append((lo + int(r), 1, p_, 0, texts[k]))
        return hits

    def _near_names(self, name: str, prefix: str, cutoff: float, limit: int) -> list[str]:
        pool = self._pool(prefix)
        if not pool:
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
        reg_norm, reg_core = self._name_arrays()
        q_norm = normalise_names(pa.array(names, pa.string()))
        q_core_arr = core_names(q_norm)
        by_norm = self._first_match(reg_norm, q_norm)
        by_core = self._first_match(reg_core, q_core_arr)
        rows = sorted(set(by_norm.values()) | set(by_core.values()))
        code_at = dict(zip(rows, self._code_at(rows), strict=True))
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
                found.append(code_at[by_norm[norm]])
            c = cleaned[i]
            if not found and i in typos:
                found.extend(typos[i])
            if not found and norm and q_core[i] in by_core:
                found.append(code_at[by_core[q_core[i]]])
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
        rows = [self._known[c] if c in self._known else self._rows().get(c) for c in codes]
        names = [self._names[r].as_py() if r is not None else "" for r in rows]
        return "; ".join(f"{c}（{n}）" for c, n in zip(codes, names, strict=True))


def _combined(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
