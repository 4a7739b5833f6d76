import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mujun.reference import (
    ALPHABET,
    make_uscc,
    normalise_uscc_text,
    org_code_check_char,
    uscc_check_char,
    validate_uscc,
    validate_uscc_many,
)
from mujun.reference.uscc import validate_uscc_arrow

REAL_CODE = "91330000142944445H"

symbols = st.sampled_from(ALPHABET)
valid_codes = st.builds(
    make_uscc,
    st.text(symbols, min_size=2, max_size=2),
    st.text(st.sampled_from("0123456789"), min_size=6, max_size=6),
    st.text(symbols, min_size=8, max_size=8),
)
# numpy's fixed-width strings cannot hold trailing NULs, so garbage excludes "\x00".
# Arrow strings are valid UTF-8, so lone surrogates (category Cs) cannot reach the validator.
garbage = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=24)


def corruptions(code: str) -> list[str]:
    """Every code that differs from ``code`` in exactly one character of the alphabet."""
    return [
        code[:i] + other + code[i + 1 :]
        for i in range(18)
        for other in ALPHABET
        if other != code[i]
    ]


def scalar_statuses(codes: list[str]) -> list[int]:
    return [validate_uscc(c).status for c in codes]


def test_the_real_code_passes_both_checks():
    result = validate_uscc(REAL_CODE)
    assert result.valid and result.reason is None and result.status == 0
    assert org_code_check_char("14294444") == "5"
    assert uscc_check_char(REAL_CODE[:17]) == "H"
    assert make_uscc("91", "330000", "14294444") == REAL_CODE
    assert validate_uscc_many([REAL_CODE]).tolist() == [0]


def test_the_alphabet_has_31_symbols_without_i_o_s_v_z():
    assert len(ALPHABET) == len(set(ALPHABET)) == 31
    assert not set("IOSVZ") & set(ALPHABET)


def test_organisation_check_maps_10_to_x_and_11_to_zero():
    assert org_code_check_char("00000000") == "0"  # sum 0 -> 11 -> "0"
    assert org_code_check_char("00000006") == "X"  # sum 12 -> 11 - 1 = 10 -> "X"
    assert org_code_check_char("A0000000") == "3"  # A = 10: 30 mod 11 = 8 -> 3


@settings(max_examples=200)
@given(valid_codes)
def test_generated_codes_are_valid(code):
    assert validate_uscc(code).valid
    assert validate_uscc_many([code]).tolist() == [0]


@pytest.mark.parametrize(
    "code",
    [
        REAL_CODE,
        make_uscc("91", "331002", "MA2AXXXX"),
        make_uscc("Y1", "330383", "00000006"),
        make_uscc("52", "330102", "00000000"),
    ],
)
def test_every_single_character_corruption_is_rejected(code):
    corrupted = corruptions(code)
    assert len(corrupted) == 18 * 30
    statuses = scalar_statuses(corrupted)
    assert 0 not in statuses
    assert validate_uscc_many(corrupted).tolist() == statuses
    # Position 17 is covered by the organisation check, position 18 by the USCC check.
    assert set(statuses[16 * 30 : 17 * 30]) == {3}
    assert set(statuses[17 * 30 :]) == {4}


@settings(max_examples=200)
@given(valid_codes, st.integers(0, 17), st.integers(1, 30))
def test_random_single_character_corruptions_are_rejected(code, position, shift):
    replacement = ALPHABET[(ALPHABET.index(code[position]) + shift) % 31]
    corrupted = code[:position] + replacement + code[position + 1 :]
    result = validate_uscc(corrupted)
    assert not result.valid
    assert validate_uscc_many([corrupted]).tolist() == [result.status]


@settings(max_examples=200)
@given(
    st.lists(
        st.one_of(
            valid_codes,
            valid_codes.map(str.lower),
            valid_codes.map(lambda c: c[:17]),
            valid_codes.map(lambda c: c[:8] + "I" + c[9:]),
            st.text(symbols, min_size=18, max_size=18),
            st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=18, max_size=18),
            garbage,
        ),
        max_size=30,
    )
)
def test_the_vectorised_validator_agrees_with_the_scalar_one(codes):
    assert validate_uscc_many(codes).tolist() == scalar_statuses(codes)
    assert validate_uscc_many(np.array(codes, dtype=object)).tolist() == scalar_statuses(codes)


@settings(max_examples=200)
@given(
    st.lists(
        st.one_of(
            valid_codes,
            valid_codes.map(str.lower),
            valid_codes.map(lambda c: c[:17]),
            valid_codes.map(lambda c: c[:8] + "I" + c[9:]),
            valid_codes.flatmap(lambda c: st.sampled_from(corruptions(c))),
            st.text(symbols, min_size=18, max_size=18),
            st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=18, max_size=18),
            garbage,
            st.none(),
        ),
        max_size=30,
    ),
    st.integers(0, 3),
)
def test_the_arrow_validator_agrees_with_the_scalar_one(codes, offset):
    # A sliced array (non-zero offset into its buffers), as ingest passes columns.
    arr = pa.array(["91330000142944445H"] * offset + codes, pa.string()).slice(offset)
    expected = scalar_statuses(["" if c is None else c for c in codes])
    assert validate_uscc_arrow(arr).tolist() == expected


def test_the_vectorised_validator_accepts_arrays_none_and_empty_input():
    codes = [REAL_CODE, "9133000014294444XH", "", "91330000142944445h", "9133000014294444５H"]
    expected = [0, 3, 1, 2, 2]
    assert validate_uscc_many(codes).tolist() == expected
    assert validate_uscc_many(np.array(codes)).tolist() == expected
    assert validate_uscc_many(np.array([c.encode() for c in codes[:4]])).tolist() == expected[:4]
    assert validate_uscc_many([None, REAL_CODE]).tolist() == [1, 0]
    assert validate_uscc_many(REAL_CODE).tolist() == [0]
    result = validate_uscc_many([])
    assert result.dtype == np.int8 and result.shape == (0,)


def test_messages_name_the_check_that_failed():
    short = validate_uscc(REAL_CODE[:17])
    assert short.status == 1 and "length: 17 characters" in short.reason and "17 位" in short.reason

    illegal = validate_uscc("9133000014294444OH")
    assert illegal.status == 2
    assert "'O' at position 17" in illegal.reason and "第 17 位" in illegal.reason

    lower = validate_uscc(REAL_CODE.lower())
    assert (
        lower.status == 2 and "'h' at position 18" in lower.reason and "upper-case" in lower.reason
    )

    org = validate_uscc("9133000014294444XH")
    assert org.status == 3 and org.expected == "5"
    assert "organisation code check" in org.reason and "expected '5'" in org.reason

    check = validate_uscc("913300001429444450")
    assert check.status == 4 and check.expected == "H"
    assert "position 18" in check.reason and "expected 'H'" in check.reason
    assert "校验码" in check.reason


def test_validation_does_not_clean_its_input():
    assert validate_uscc(" " + REAL_CODE).status == 1
    assert validate_uscc(REAL_CODE.lower()).status == 2
    assert validate_uscc(REAL_CODE).code == REAL_CODE


@pytest.mark.parametrize(
    "text",
    [
        " 91330000142944445H ",
        "91330000142944445h",
        "９１３３００００１４２９４４４４５Ｈ",
        "9133 0000 1429 4444 5H",
        "\ufeff91330000142944445H\u3000",
    ],
)
def test_normalise_uscc_text_cleans_what_people_type(text):
    assert normalise_uscc_text(text) == REAL_CODE
    assert validate_uscc(normalise_uscc_text(text)).valid


def test_helpers_reject_malformed_input():
    with pytest.raises(ValueError):
        uscc_check_char(REAL_CODE[:16])
    with pytest.raises(ValueError):
        uscc_check_char("9133000014294444I")
    with pytest.raises(ValueError):
        org_code_check_char("1429444")
    with pytest.raises(ValueError):
        make_uscc("91", "33000A", "14294444")
    with pytest.raises(ValueError):
        make_uscc("91", "330000", "1429444O")
    with pytest.raises(TypeError):
        validate_uscc(None)  # type: ignore[arg-type]
    assert normalise_uscc_text(None) == ""


def test_the_arrow_validator_agrees_with_the_numpy_one():
    import pyarrow as pa

    from mujun.reference.uscc import validate_uscc_arrow

    codes = [
        "91330000142944445H",
        "91330000142944445J",
        "9133000014294444XH",
        "91330000I42944445H",
        "913300001429444",
        "",
        None,
        "九1330000142944445H",
        "913300001429444４5H",
        "ÀÀÀÀÀÀÀÀÀ",
        "91330000142944445H ",
        "9.13301E+17",
    ]
    arr = pa.array(codes, type=pa.string())
    expected = validate_uscc_many(["" if c is None else c for c in codes])
    assert validate_uscc_arrow(arr).tolist() == expected.tolist()
    sliced = arr.slice(1, 5)
    assert validate_uscc_arrow(sliced).tolist() == expected[1:6].tolist()
