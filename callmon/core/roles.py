"""The dashboard's roles and what each may do (DESIGN.md, "Personal data").

``viewer``: sees numbers masked; ``supervisor``: may ask to see full numbers (logged);
``admin``: as a supervisor, and manages users and reads the access log."""

ROLES = ("viewer", "supervisor", "admin")
MAY_REVEAL = frozenset({"supervisor", "admin"})
MAY_READ_ACCESS_LOG = frozenset({"admin"})
