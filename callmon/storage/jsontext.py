"""JSON text of lists of ids, made without the encoder for the plain ids a call has: the import
writes one per call, the callback derivation two per obligation."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence


def json_list(*texts: str) -> str:
    """``json.dumps(list(texts))``, without the encoder for the plain ids a call has (ASCII, no
    quote, backslash or control character): an import writes one per call.

    >>> json_list("1795376562.0"), json_list()
    ('["1795376562.0"]', '[]')
    """
    if all(t.isascii() and t.isprintable() and '"' not in t and "\\" not in t for t in texts):
        return "[" + ", ".join(f'"{t}"' for t in texts) + "]"
    return json.dumps(list(texts))


# a character json_list would escape: anything but printable ASCII other than quote and backslash
_ESCAPED = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')


def json_lists_of_one(texts: Sequence[str]) -> list[str]:
    """``[json_list(t) if t else "[]" for t in texts]``, one scan of all the texts for a
    character to escape instead of a check per text (an import makes one per call).

    >>> json_lists_of_one(["1795376562.0", ""])
    ['["1795376562.0"]', '[]']
    """
    if _ESCAPED.search("".join(texts)):
        return [json_list(t) if t else "[]" for t in texts]
    return [f'["{t}"]' if t else "[]" for t in texts]
