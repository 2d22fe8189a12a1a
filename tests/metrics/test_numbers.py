"""Phone numbers: one E.164 form however dialled, outside vs extension, masking for personal data."""

from __future__ import annotations

import doctest

import pytest

from callmon.metrics import numbers as numbers_module
from callmon.metrics.numbers import is_outside, mask, normalize


@pytest.mark.parametrize("dialled", ["010-1234-5678", "+82 10 1234 5678", "01012345678", "+82-10-1234-5678", "821012345678"])
def test_mobile_number_dialled_any_way_is_one_number(dialled):
    """DESIGN.md: 010-1234-5678 = +82 10 1234 5678; the callback matches whichever form."""
    assert normalize(dialled) == "+821012345678"


def test_seoul_landline_gets_its_area_code_in_e164():
    """02-123-4567 is +82 2 123 4567."""
    assert normalize("02-123-4567") == "+8221234567"


def test_foreign_number_keeps_its_country():
    """An international number is not forced into Korea."""
    assert normalize("+1 202-555-0123") == "+12025550123"


def test_other_region_reads_national_numbers_there():
    """With region US, a ten-digit national number is American."""
    assert normalize("(202) 555-0123", region="US") == "+12025550123"


def test_staff_extension_stays_as_dialled():
    """A short extension is not a public number: its digits are kept."""
    assert normalize("2001") == "2001"


@pytest.mark.parametrize("bad, digits", [("12-34", "1234"), ("#99*1", "991"), ("+999 123", "+999123"), ("anonymous", ""), ("", ""), (None, "")])
def test_bad_numbers_keep_their_digits_and_never_raise(bad, digits):
    """Whatever the caller id, normalising gives its digits (and the leading +), no exception."""
    assert normalize(bad) == digits


@pytest.mark.parametrize("number", ["010-1234-5678", "+12025550123", "1588-1234", "02-123-4567", "0505-123-4567"])
def test_public_numbers_are_outside(number):
    """A number with a leading 0 or +, or longer than an extension, is an outside number."""
    assert is_outside(number)


@pytest.mark.parametrize("number", ["2001", "1000", "114", "anonymous", "", None])
def test_extensions_and_missing_caller_ids_are_not_outside(number):
    """Short staff extensions and caller ids without digits are not outside numbers."""
    assert not is_outside(number)


def test_longer_extensions_can_be_allowed():
    """An institution with seven-digit extensions says so."""
    assert not is_outside("2001234", max_extension_digits=7)


@pytest.mark.parametrize("number", ["01012345678", "010-1234-5678", "+82 10 1234 5678"])
def test_mobile_number_is_masked_in_the_middle(number):
    """DESIGN.md's default rule: 010-****-5678, whatever the input form."""
    assert mask(number) == "010-****-5678"


def test_landline_middle_group_is_masked():
    """The middle group is hidden whatever its length."""
    assert mask("0212345678") == "02-****-5678"
    assert mask("02-123-4567") == "02-***-4567"


def test_foreign_number_hides_all_middle_groups():
    """Only the country code and the last group stay visible."""
    assert mask("+12025550123") == "+1 ***-***-0123"


def test_last_four_style_hides_the_end():
    """The configurable alternative hides the last four digits."""
    assert mask("01012345678", style="last4") == "010-1234-****"


def test_none_style_shows_the_number():
    """Roles allowed to see numbers get them as they are."""
    assert mask("01012345678", style="none") == "01012345678"


def test_mask_character_is_configurable():
    """Another masking character may be chosen."""
    assert mask("01012345678", char="#") == "010-####-5678"


def test_extension_is_not_masked():
    """A staff extension is not personal data."""
    assert mask("2001") == "2001"


def test_unformattable_number_shows_only_its_last_four_digits():
    """A number the library cannot format is masked safely rather than shown."""
    assert mask("+999 123 456 789") == "+********6789"
    assert mask("+999 123 456 789", style="last4") == "+99912345****"


def test_unknown_mask_style_is_refused():
    """A typo in the style is a configuration mistake, reported at once."""
    with pytest.raises(ValueError):
        mask("01012345678", style="middle-ish")


def test_docstring_examples_hold():
    """The examples in the module's docstrings are true."""
    assert doctest.testmod(numbers_module).failed == 0
