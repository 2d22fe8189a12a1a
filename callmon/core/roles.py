"""The dashboard's roles and what each may do (DESIGN.md, "Personal data").

``viewer``: sees numbers masked; ``evaluator``: as a viewer, and enters monitoring evaluations;
``supervisor``: may ask to see full numbers (logged), enters evaluations and publishes the
monitoring report; ``admin``: as a supervisor, and manages users and reads the access log."""

ROLES = ("viewer", "evaluator", "supervisor", "admin")
MAY_REVEAL = frozenset({"supervisor", "admin"})
MAY_EVALUATE = frozenset({"evaluator", "supervisor", "admin"})
MAY_PUBLISH = frozenset({"supervisor", "admin"})
MAY_READ_ACCESS_LOG = frozenset({"admin"})
