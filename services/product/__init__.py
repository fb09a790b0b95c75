"""Product service: catalogue, stock, and all-or-nothing purchases with compensation."""
