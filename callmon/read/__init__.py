"""The read side: queries for calls, callbacks, aggregates and reports, without a Pipeline and
without writing (:mod:`callmon.read.reader`); who may see which numbers (:mod:`callmon.read.privacy`);
report periods (:mod:`callmon.read.periods`)."""

from callmon.read.periods import Period, period_kind
from callmon.read.privacy import OPERATOR, ROLES, NotAllowed, Viewer
from callmon.read.reader import CallFilter, CallPage, LiveCall, Reader, Tiles

__all__ = ["CallFilter", "CallPage", "LiveCall", "NotAllowed", "OPERATOR", "Period", "ROLES", "Reader", "Tiles",
           "Viewer", "period_kind"]
