"""The order service's FastAPI app."""

from __future__ import annotations

from services.common.app import create_app
from services.order.models import Base

app = create_app("order", metadata=Base.metadata, broker=True)
