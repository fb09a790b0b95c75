"""Order service: places orders (customer check, purchase, payment through a breaker)."""
