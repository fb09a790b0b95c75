"""Product tables (database `<prefix>product`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Numeric, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Category(Base):
    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text)


class Product(Base):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    available_quantity: Mapped[float] = mapped_column(Float)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"))
    category: Mapped[Category] = relationship(lazy="joined")


class Purchase(Base):
    """One purchase request, keyed by the order reference when the caller gave one."""

    __tablename__ = "purchase"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_reference: Mapped[str | None] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="PURCHASED")  # | CANCELLED
    lines: Mapped[list] = mapped_column(JSON)  # [{productId, quantity}] as requested (merged)
    response: Mapped[list] = mapped_column(JSON)  # the purchase answer, replayed as is
    created_date: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    cancelled_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
