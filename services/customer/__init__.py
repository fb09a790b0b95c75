"""Customer service: create, read, update, list, delete and exists-check customers."""
