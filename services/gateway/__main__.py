"""`python -m services.gateway`: the gateway under uvicorn on 8222 + SHOP_PORT_OFFSET."""

from services.common.app import serve

serve("gateway")
