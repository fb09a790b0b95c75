"""The shop's edge: one origin for the web app and the `/api/v1` prefixes of five services."""
