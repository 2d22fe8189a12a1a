"""The supervisor dashboard (Dash): pages over the read side."""
