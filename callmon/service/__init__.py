"""Services that run the pipeline: the live listener, file ingest, rebuild and callback obligations.
They hand calls from :mod:`callmon.calls` to the scorer and the store."""
