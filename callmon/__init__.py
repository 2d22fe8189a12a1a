"""callmon: a call-centre compliance monitor for Asterisk.

It follows calls (live over AMI, or offline from Asterisk's own files), builds one call record per
call, scores it against a Korean public institution's telephone charter, and keeps everything in a
SQL store for the dashboard, the reports and the semi-annual monitoring sessions.
"""

__version__ = "0.1.0"
