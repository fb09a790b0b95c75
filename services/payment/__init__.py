"""Payment service: records payments (idempotent by order reference), confirms them by message."""
