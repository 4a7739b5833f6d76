"""Suggestions for mistyped credit codes: the register firm with the same or a near name/code."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

from mujun.reference.uscc import ALPHABET

_NAME_NOISE = re.compile(r"[\s()（）·.,，、]")
_NUMERIC = re.compile(r"^[\d.]+(E\+?\d+)?$")
MAX_POOL = 3000


def normalise_name(name: str | None) -> str:
    """Comparable firm name: NFKC, no spaces or brackets."""
    if not name:
        return ""
    return _NAME_NOISE.sub("", unicodedata.normalize("NFKC", name))


@dataclass
class RegisterIndex:
    """Register firms of one year, indexed for code and name look-ups.

    The name and prefix indexes are built on the first look-up that needs them, so a clean file
    costs nothing here.
    """

    codes: dict[str, str]  # uscc -> name
    _by_name: dict[str, list[str]] | None = None
    _by_prefix: dict[str, dict[str, str]] | None = None

    @classmethod
    def build(cls, pairs: list[tuple[str, str | None]]) -> RegisterIndex:
        """Index (uscc, name) pairs."""
        return cls({code: name or "" for code, name in pairs})

    @property
    def by_name(self) -> dict[str, list[str]]:
        """Normalised name → credit codes."""
        if self._by_name is None:
            self._by_name = {}
            for code, name in self.codes.items():
                self._by_name.setdefault(normalise_name(name), []).append(code)
        return self._by_name

    def _pool(self, prefix: str) -> dict[str, str]:
        if self._by_prefix is None:
            self._by_prefix = {}
            for code, name in self.codes.items():
                for k in (6, 8):
                    self._by_prefix.setdefault(code[:k], {})[name] = code
        if len(prefix) >= 8:
            return self._by_prefix.get(prefix[:8], {})
        if len(prefix) == 6:
            return self._by_prefix.get(prefix, {})
        return {n: k for k, n in self.codes.items() if k.startswith(prefix)}

    def _typo_variants(self, c: str) -> list[str]:
        out = []
        for i in range(len(c)):
            for ch in ALPHABET:
                if ch != c[i]:
                    cand = c[:i] + ch + c[i + 1 :]
                    if cand in self.codes:
                        out.append(cand)
        for i in range(len(c) - 1):  # two neighbouring characters swapped
            cand = c[:i] + c[i + 1] + c[i] + c[i + 2 :]
            if cand != c and cand in self.codes:
                out.append(cand)
        return out

    def _near_names(self, name: str, prefix: str, cutoff: float, limit: int) -> list[str]:
        if not name or not prefix:
            return []
        pool = self._pool(prefix)
        if not pool or len(pool) > MAX_POOL:
            return []
        close = difflib.get_close_matches(name, list(pool), n=limit, cutoff=cutoff)
        return [pool[n] for n in close]

    def suggest(self, code: str | None, name: str | None, limit: int = 3) -> list[str]:
        """Register codes the row probably meant, best first: the same name, a one-character
        typo or swap, then a near name among firms registered in the same place."""
        out: list[str] = []
        key = normalise_name(name)
        if key and key in self.by_name:
            out.extend(self.by_name[key])
        c = unicodedata.normalize("NFKC", code or "").strip().upper()
        if len(c) == 18:
            out.extend(self._typo_variants(c))
        if not out and name:
            if _NUMERIC.match(c):
                # Excel kept only the leading digits: authority, type and part of the division.
                digits = re.sub(r"\D", "", c.split("E")[0])
                out.extend(self._near_names(name, digits[:6].rstrip("0"), 0.6, limit))
            elif len(c) >= 8:
                out.extend(self._near_names(name, c[:8], 0.8, limit))
        seen: list[str] = []
        for s in out:
            if s not in seen:
                seen.append(s)
        return seen[:limit]

    def describe(self, codes: list[str]) -> str | None:
        """``91330…X（某某有限公司）; …`` for a message, or None."""
        if not codes:
            return None
        return "; ".join(f"{c}（{self.codes.get(c, '')}）" for c in codes)
