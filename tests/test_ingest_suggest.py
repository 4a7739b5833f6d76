"""Suggestions for mistyped or unknown credit codes."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from mujun.ingest.suggest import (
    RegisterIndex,
    core_name,
    core_names,
    normalise_name,
    normalise_names,
)
from mujun.reference.uscc import (
    ALPHABET,
    VALID,
    make_uscc,
    uscc_check_char,
    validate_uscc_many,
)

NAMES = [
    "温岭市甲泵业有限公司",
    "浙江温岭乙鞋业有限责任公司",
    "台州市黄岩区丙机电股份有限公司",
    "宁波某某厂",
    "甲泵业",
    "（温州）丁 阀门，有限公司",
    "杭州市",
    "",
    "ＡＢＣ　科技有限公司",
]


name_parts = st.lists(
    st.sampled_from(
        ["浙江", "浙江省", "温岭", "温岭市", "台州市", "黄岩区", "永嘉县", "市", "区", "县", "甲",
         "乙鞋业", "超市", "有限", "公司", "有限公司", "股份有限公司", "有限责任公司", "集团",
         "集团公司", "厂", "（", "）", "(", ")", " ", "　", "·", ".", ",", "，", "、", "Ａ", "b"]
    ),
    max_size=8,
)  # fmt: skip


@settings(max_examples=150)
@given(st.lists(name_parts.map("".join), max_size=20))
def test_column_name_normalisation_agrees_with_the_scalar_one_on_any_name(names):
    normalised = normalise_names(pa.array(names, pa.string()))
    assert normalised.to_pylist() == [normalise_name(n) for n in names]
    assert core_names(normalised).to_pylist() == [core_name(n) for n in names]


def test_column_and_scalar_name_normalisation_agree():
    normalised = normalise_names(pa.array(NAMES))
    assert normalised.to_pylist() == [normalise_name(n) for n in NAMES]
    assert core_names(normalised).to_pylist() == [core_name(n) for n in NAMES]
    assert core_name("温岭市甲泵业有限公司") == "甲泵业"
    assert core_name("台州市黄岩区丙机电股份有限公司") == "丙机电"


def test_suggestions_by_name_typo_and_core_name():
    index = RegisterIndex.build(
        [
            ("91330000142944445H", "浙江甲泵业有限公司"),
            ("91331081MA2AL00126", "温岭市乙鞋业有限公司"),
        ]
    )
    # Same name, code garbled.
    assert index.suggest("91330000142944445X", "浙江甲泵业有限公司") == ["91330000142944445H"]
    # Unknown name, one-character typo in the code.
    assert index.suggest("91330000142944445J", "某公司") == ["91330000142944445H"]
    # Two neighbouring characters swapped.
    assert index.suggest("91330000142944454H", None) == ["91330000142944445H"]
    # Same firm spelled with another place prefix and legal form.
    assert index.suggest("91331081MA2AL00999", "乙鞋业有限责任公司") == ["91331081MA2AL00126"]
    assert index.suggest("91331081MA2AL00999", "完全不同的企业") == []


def test_near_names_for_excel_mangled_codes_are_limited_per_call_not_per_index():
    """A code Excel turned into a number gets a near-name suggestion among the firms of its
    place; each call (one file's rows) has its own budget, so a delivery's later files are not
    left without any once an earlier file used it up."""
    index = RegisterIndex.build(
        [
            ("91330203MA2AL00126", "宁波市海曙乙鞋业有限公司"),
            ("91330203MA2AL0013X", "余姚市精密化工机械制造厂"),
        ]
    )
    # Near, not equal: neither the whole name nor the core name matches a register name.
    row = ("9.13302E+17", "宁波市海曙乙鞋业有限公司新厂")
    first = index.suggest_many([row[0]] * 60, [row[1]] * 60)
    assert first[0] == ["91330203MA2AL00126"]
    assert sum(bool(s) for s in first) == 50  # the budget of one call
    # A later file, on the same index: its own budget.
    assert index.suggest_many([row[0]], [row[1]]) == [["91330203MA2AL00126"]]
    assert index.suggest_many([row[0]], [row[1]], near_budget=0) == [[]]


def test_a_valid_all_digit_code_is_a_real_code_not_an_excel_number():
    """Excel keeps 15 significant digits of a code it takes for a number, so what it leaves
    fails the check; a valid code made of digits is some other firm's code and gets no
    near-name guess."""
    index = RegisterIndex.build([("91330203MA2AL00126", "宁波市海曙乙鞋业有限公司")])
    near_name = "宁波市海曙乙鞋业有限公司新厂"
    assert index.suggest("913302031000000409", near_name) == []
    assert index.suggest("913302031000000000", near_name) == ["91330203MA2AL00126"]
    assert index.suggest("9.13302E+17", near_name) == ["91330203MA2AL00126"]


def test_a_code_with_a_stray_chinese_character_is_one_typo_from_the_register_code():
    index = RegisterIndex.build([("91330000142944445H", "浙江甲泵业有限公司")])
    assert index.suggest("913300001429444号5H", "某公司") == ["91330000142944445H"]
    # Swapped neighbours next to it are still found.
    assert index.suggest("91330000142944454H", None) == ["91330000142944445H"]


def _typos_by_brute_force(register: set[str], code: str) -> list[str]:
    """Every substitution by an alphabet character, then every swap of unequal neighbours,
    kept when in the register: the definition the fast search must agree with."""
    subs = [code[:i] + ch + code[i + 1 :] for i in range(18) for ch in ALPHABET if ch != code[i]]
    swaps = [
        code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        for i in range(17)
        if code[i] != code[i + 1]
    ]
    return [v for v in subs + swaps if v in register]


_CODE_CHARS = st.sampled_from(ALPHABET + "IOSVZ号 ")


@st.composite
def _register_and_queries(draw):
    firsts = draw(st.lists(st.text(ALPHABET, min_size=17, max_size=17), min_size=1, max_size=8))
    register = [f + uscc_check_char(f) for f in firsts]
    # Codes that fail the check (or hold characters outside the alphabet) can be in a register
    # read from anywhere; they are matched too.
    register += draw(st.lists(st.text(_CODE_CHARS, min_size=18, max_size=18), max_size=3))
    queries = []
    for base in draw(st.lists(st.sampled_from(register), min_size=1, max_size=6)):
        code = list(base)
        for _ in range(draw(st.integers(0, 2))):
            if draw(st.booleans()):
                code[draw(st.integers(0, 17))] = draw(_CODE_CHARS)
            else:
                i = draw(st.integers(0, 16))
                code[i], code[i + 1] = code[i + 1], code[i]
        queries.append("".join(code))
    return register, queries


@settings(max_examples=200, deadline=None)
@given(_register_and_queries())
def test_typo_search_finds_exactly_the_register_codes_one_typo_away(case):
    """The search solves the check character for the one character per position that can
    make a valid code instead of trying all 557 variants; it must find the same codes in the
    same order, including register codes that fail the check."""
    register, queries = case
    index = RegisterIndex.build([(c, f"firm {k}") for k, c in enumerate(register)])
    expected = [_typos_by_brute_force(set(register), q) for q in queries]
    assert index._typo_variants_many(queries) == expected


def test_typo_search_on_a_large_register_and_the_names_it_describes():
    # Valid in both checks, so only the check-character search can find them.
    register = [make_uscc("91", "330100", f"{k:08d}") for k in range(20_000)]
    assert (validate_uscc_many(register) == VALID).all()
    index = RegisterIndex.build([(c, f"企业{k}") for k, c in enumerate(register)])
    typo = register[1234][:10] + ("9" if register[1234][10] != "9" else "8") + register[1234][11:]
    swap = register[777][:3] + register[777][4] + register[777][3] + register[777][5:]
    # The check character swapped with the one before it.
    r = next(c for c in register[100:] if c[16] != c[17])
    last = r[:16] + r[17] + r[16]
    found = index._typo_variants_many([typo, swap, last])
    assert register[1234] in found[0] and register[777] in found[1] and r in found[2]
    assert found == [_typos_by_brute_force(set(register), q) for q in (typo, swap, last)]
    assert index.describe([register[1234]]) == f"{register[1234]}（企业1234）"
