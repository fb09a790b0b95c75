"""logcorr: one trace's log lines from every service, merged by time.

Kept empty of imports: `logcorr grep` starts fast. `logcorr.__version__` loads on first use.
"""


def __getattr__(name: str) -> str:
    if name == "__version__":
        from traceaudit._version import __version__

        return __version__
    raise AttributeError(f"module 'logcorr' has no attribute {name!r}")
