"""The version of the `traceaudit` distribution (traceaudit and logcorr): written here only."""

__version__ = "0.2.0"
