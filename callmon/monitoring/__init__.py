"""Phone monitoring sessions (전화 모니터링): checklist templates, the sample of test calls,
matching a test call to its call record, the automatic items, scores and grades, calibration and
the transcript check. Pure: no I/O, no database; storage and the service layer keep and feed it.
"""
