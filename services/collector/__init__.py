"""A Zipkin-v2-compatible span collector and query API storing spans in SQLite.

Run with `python -m services.collector`; the API is `services.collector.app.create_app`.
"""
