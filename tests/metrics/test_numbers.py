"""Phone numbers: one E.164 form however dialled, outside vs extension, masking for personal data."""

from __future__ import annotations


import pytest

from callmon.metrics.numbers import is_outside, mask, normalize


@pytest.mark.parametrize("dialled", ["010-1234-5678", "+82 10 1234 5678", "01012345678", "+82-10-1234-5678", "821012345678"])
def test_mobile_number_dialled_any_way_is_one_number(dialled):
    """DESIGN.md: 010-1234-5678 = +82 10 1234 5678; the callback matches whichever form."""
    assert normalize(dialled) == "+821012345678"


@pytest.mark.parametrize("dialled, region, e164", [
    pytest.param("02-123-4567", "KR", "+8221234567", id="seoul-landline-gets-area-code"),
    pytest.param("+1 202-555-0123", "KR", "+12025550123", id="foreign-number-keeps-its-country"),
    pytest.param("(202) 555-0123", "US", "+12025550123", id="region-us-reads-us-national-numbers"),
    pytest.param("2001", "KR", "2001", id="extension-keeps-its-digits"),
])
def test_numbers_normalise_to_e164_or_keep_their_digits(dialled, region, e164):
    """Landlines get their area code, foreign numbers their country; extensions stay as dialled."""
    assert normalize(dialled, region=region) == e164


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


@pytest.mark.parametrize("number, options, shown", [
    pytest.param("0212345678", {}, "02-****-5678", id="landline-middle-group"),
    pytest.param("02-123-4567", {}, "02-***-4567", id="short-middle-group"),
    pytest.param("+12025550123", {}, "+1 ***-***-0123", id="foreign-keeps-country-and-last-group"),
    pytest.param("01012345678", {"style": "last4"}, "010-1234-****", id="last4-style-hides-the-end"),
    pytest.param("01012345678", {"style": "none"}, "01012345678", id="none-style-for-allowed-roles"),
    pytest.param("01012345678", {"char": "#"}, "010-####-5678", id="mask-character-configurable"),
    pytest.param("2001", {}, "2001", id="extension-is-not-personal-data"),
])
def test_masking_rules_and_options(number, options, shown):
    """Middle groups hidden by default; last4 and none styles, another character; extensions shown."""
    assert mask(number, **options) == shown


def test_unformattable_number_shows_only_its_last_four_digits():
    """A number the library cannot format is masked safely rather than shown."""
    assert mask("+999 123 456 789") == "+********6789"
    assert mask("+999 123 456 789", style="last4") == "+99912345****"


def test_unknown_mask_style_is_refused():
    """A typo in the style is a configuration mistake, reported at once."""
    with pytest.raises(ValueError):
        mask("01012345678", style="middle-ish")


def test_fast_korean_mobile_path_equals_the_library():
    """Plain-digit 01x numbers take a shortcut by the library's own patterns: the same E.164 as
    phonenumbers' parse for 20,000 random ones, valid or not."""
    import random

    import phonenumbers

    from callmon.metrics.numbers import _digits, _parse

    def by_library(n: str) -> str:
        parsed = _parse(n, "KR")
        return _digits(n) if parsed is None else phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    rnd = random.Random(7)
    numbers = [f"01{rnd.randrange(10)}{rnd.randrange(10 ** 8):08d}"[: rnd.choice((10, 11))] for _ in range(20_000)]
    assert [normalize(n) for n in numbers] == [by_library(n) for n in numbers]


def test_fast_korean_mobile_masking_equals_the_library():
    """Korean mobile numbers, stored (+82...) or dialled (01...), are grouped for masking
    without the library's parse: the same groups as from its parse for 20,000 random ones,
    valid or not (the others are parsed as before)."""
    import random

    import phonenumbers

    from callmon.metrics.numbers import _national_groups, _parse

    def by_library(n: str) -> str | None:
        parsed = _parse(n, "KR")
        if parsed is None:
            return None
        kind = phonenumbers.PhoneNumberFormat.NATIONAL if phonenumbers.region_code_for_number(parsed) == "KR" \
            else phonenumbers.PhoneNumberFormat.INTERNATIONAL
        return phonenumbers.format_number(parsed, kind)

    rnd = random.Random(11)
    digits = [f"1{rnd.randrange(10)}{rnd.randrange(10 ** 8):08d}"[: rnd.choice((8, 9, 10, 11))] for _ in range(20_000)]
    numbers = [rnd.choice(("+82", "0", "+820")) + d for d in digits]
    assert [_national_groups(n, "KR") for n in numbers] == [by_library(n) for n in numbers]
    assert sum(n.startswith("+82") and by_library(n) is not None for n in numbers) > 1000
