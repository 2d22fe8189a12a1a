"""Everything that speaks or reads the Asterisk Manager Interface.

``framing`` and ``tracker`` are pure (no sockets, no pyst2); the server and the pyst2 listener
live in their own modules at the edge.
"""
