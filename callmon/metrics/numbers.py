"""Phone numbers: one form for comparing, a test for outside numbers, and masking.

A callback is met by a call to "the same number", however it was dialled, so numbers are compared
in E.164 form (``phonenumbers``, region KR by default). A number the library cannot make sense
of keeps its digits: these functions never raise on a call record.

>>> normalize("010-1234-5678") == normalize("+82 10 1234 5678") == normalize("01012345678")
True
>>> normalize("2001"), is_outside("2001"), is_outside("010-1234-5678")
('2001', False, True)
>>> mask("01012345678")
'010-****-5678'
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import phonenumbers

log = logging.getLogger(__name__)

MASK_STYLES = ("middle", "last4", "none")
_DIGIT = re.compile(r"\d")


def _digits(number: str) -> str:
    """The digits of ``number``, keeping a leading ``+``.

    >>> _digits("01012345678"), _digits(" +82 10-1234-5678"), _digits("anonymous")
    ('01012345678', '+821012345678', '')
    """
    if number and number.isdigit() and number.isascii():  # as stored and as most files write it: no regex
        return number
    text = (number or "").strip()
    digits = "".join(_DIGIT.findall(text))
    return f"+{digits}" if text.startswith("+") and digits else digits


def _parse(number: str, region: str) -> phonenumbers.PhoneNumber | None:
    """The parsed number when it is a valid one, else None."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_valid_number(parsed) else None


def _kr_mobile() -> tuple[re.Pattern[str], re.Pattern[str], frozenset[int]]:
    meta = phonenumbers.PhoneMetadata.metadata_for_region("KR")
    return (re.compile(meta.mobile.national_number_pattern), re.compile(meta.general_desc.national_number_pattern),
            frozenset(meta.mobile.possible_length))


_MOBILE, _GENERAL, _MOBILE_LENGTHS = _kr_mobile()


def _fast_kr_mobile(number: str) -> str | None:
    """``+82...`` of a Korean mobile number written as plain digits (``01012345678``), by the
    library's own metadata patterns, or None to let the library parse it: parsing costs ~0.15 ms,
    and an import of a million calls meets hundreds of thousands of numbers."""
    national = number[1:]
    if len(national) in _MOBILE_LENGTHS and _MOBILE.fullmatch(national) and _GENERAL.fullmatch(national):
        return "+82" + national
    return None


def kr_mobiles(numbers: list[str]) -> list[str | None]:
    """:func:`normalize` of each number that is a Korean mobile written as plain digits, by the
    same metadata patterns as its fast path but over the whole list at once (pyarrow's regex, in
    C++); None for every other number (normalize it one by one).

    >>> kr_mobiles(["01012345678", "010-1234-5678", "0212345678", "2001", ""])
    ['+821012345678', None, None, None, None]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    column = pa.array(numbers, pa.string())
    ok = pc.match_substring_regex(column, rf"^0\d{{{min(_MOBILE_LENGTHS)},{max(_MOBILE_LENGTHS)}}}$")
    for pattern in (_MOBILE.pattern, _GENERAL.pattern):
        ok = pc.and_(ok, pc.match_substring_regex(column, f"^0(?:{pattern})$"))
    return ["+82" + n[1:] if hit else None for n, hit in zip(numbers, ok.to_pylist())]


@lru_cache(maxsize=1 << 16)  # customers call again and again, and a write and its callbacks ask twice
def normalize(number: str | None, region: str = "KR") -> str:
    """The E.164 form of a valid number (``+821012345678``); otherwise its digits (``2001``).

    An empty or digit-less caller id (``anonymous``) gives ``""``.
    """
    if not number:
        return ""
    if region == "KR" and number.startswith("01") and number.isdigit():
        fast = _fast_kr_mobile(number)
        if fast is not None:
            return fast
    parsed = _parse(number, region)
    if parsed is None:
        return _digits(number)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_outside(number: str | None, max_extension_digits: int = 6) -> bool:
    """Is ``number`` a number of the public network, as opposed to a short staff extension?

    Anything with a ``+`` or a leading 0, or longer than ``max_extension_digits`` digits, is
    outside; ``2001`` is an extension; a number without digits (``anonymous``) is neither, so False.
    """
    digits = _digits(number or "")
    if not digits:
        return False
    return digits.startswith(("+", "0")) or len(digits) > max_extension_digits


def _kr_mobile_parsed(number: str) -> phonenumbers.PhoneNumber | None:
    """What the library's parse gives for a Korean mobile number in plain digits, as stored
    (``+821012345678``) or dialled (``01012345678``), by its own metadata patterns (a match is
    a valid mobile number); None to let the library parse it. A report's export masks its
    callbacks' numbers by the ten thousand, and parsing costs half of each."""
    national = number[3:] if number.startswith("+82") else number[1:] if number.startswith("01") else ""
    if (national.isascii() and national.isdigit() and len(national) in _MOBILE_LENGTHS
            and _MOBILE.fullmatch(national) and _GENERAL.fullmatch(national)):
        return phonenumbers.PhoneNumber(country_code=82, national_number=int(national))
    return None


def _national_groups(number: str, region: str) -> str | None:
    """The number formatted in groups (``010-1234-5678``; foreign: ``+1 202-555-0123``)."""
    parsed = (_kr_mobile_parsed(number) if region == "KR" else None) or _parse(number, region)
    if parsed is None:
        return None
    if phonenumbers.region_code_for_number(parsed) == region.upper():
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# pure, and ~40 us a number without the cache (the library parses and formats it): the pages poll
# the same customers' numbers again and again, and an export masks its callbacks' by the ten thousand
@lru_cache(maxsize=1 << 16)
def mask(number: str | None, style: str = "middle", region: str = "KR", char: str = "*") -> str:
    """The number as screens and exports show it to roles not allowed to see it.

    ``middle`` (default) hides the middle group(s): ``010-****-5678``, ``02-***-4567``;
    ``last4`` hides the last four digits: ``010-1234-****``; ``none`` shows it all. A staff
    extension is not personal data and is shown as it is. A number that cannot be formatted is
    one group: ``middle`` shows only its last four digits, ``last4`` hides them.

    >>> mask("02-123-4567"), mask("01012345678", style="last4")
    ('02-***-4567', '010-1234-****')
    """
    if style not in MASK_STYLES:
        raise ValueError(f"mask style must be one of {', '.join(MASK_STYLES)}, got {style!r}")
    if not number or style == "none" or not is_outside(number):
        return number or ""
    formatted = _national_groups(number, region)
    if formatted is None:
        digits = _digits(number)
        plus, digits = ("+", digits[1:]) if digits.startswith("+") else ("", digits)
        cut = max(0, len(digits) - 4)
        return plus + (digits[:cut] + char * (len(digits) - cut) if style == "last4" else char * cut + digits[cut:])
    groups = re.split(r"(\D+)", formatted)  # digits at even indexes, separators at odd ones
    digit_indexes = [i for i in range(0, len(groups), 2) if groups[i]]
    if style == "last4":
        hidden = 4
        for i in reversed(digit_indexes):
            take = min(hidden, len(groups[i]))
            groups[i] = groups[i][: len(groups[i]) - take] + char * take
            hidden -= take
            if not hidden:
                break
    elif len(digit_indexes) >= 3:
        for i in digit_indexes[1:-1]:
            groups[i] = char * len(groups[i])
    else:  # two groups (1588-1234): hide all but the last
        for i in digit_indexes[:-1]:
            groups[i] = char * len(groups[i])
    return "".join(groups)
