"""`python -m services.order`: the order service under uvicorn on 8070 + SHOP_PORT_OFFSET."""

from services.common.app import serve

serve("order")
