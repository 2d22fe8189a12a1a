"""The supervisor dashboard (Dash): live calls, callbacks, call history, reports; login, roles and
masked numbers. :func:`callmon.dashboard.app.create_app` builds it; ``callmon dashboard`` serves
it; ``callmon.dashboard.wsgi:server`` is the Flask app for gunicorn."""
