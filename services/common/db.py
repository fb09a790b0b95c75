"""A service's own PostgreSQL database: SQLAlchemy 2.0 async engine on psycopg 3.

The database is created if missing and the schema on start. When PostgreSQL is down the
service still starts, answers 503 (short connect timeout, no hang) and finishes its setup in
the background as soon as the server is back; `pool_pre_ping` drops dead pooled connections
after a restart, so no process restart is needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

import psycopg
import sqlalchemy.exc as sa_exc
import structlog
from fastapi import Depends, Request
from psycopg import sql
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from services.common.settings import Settings

log = structlog.get_logger()

SetupHook = Callable[[AsyncSession], Awaitable[None]]
RETRY_SECONDS = 2.0


class DatabaseUnavailable(Exception):
    """The service's database cannot be reached (or is not set up yet)."""


# What "the database is unreachable" looks like from SQLAlchemy and psycopg.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    DatabaseUnavailable,
)


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` means the database is unreachable, not that the query was wrong."""
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


class Database:
    """Engine, session factory and lifecycle of one service's database."""

    def __init__(
        self, settings: Settings, service: str, metadata: MetaData, setup: SetupHook | None = None
    ):
        self.settings = settings
        self.name = settings.database_name(service)
        self.metadata = metadata
        self.setup_hook = setup
        self.engine: AsyncEngine = create_async_engine(
            settings.database_url(service),
            pool_pre_ping=True,
            pool_recycle=300,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_timeout=settings.database_connect_timeout + 1,
            connect_args={"connect_timeout": max(1, int(settings.database_connect_timeout))},
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.ready = False
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Set up now if PostgreSQL answers, else keep trying in the background."""
        if not await self._try_setup():
            self._task = asyncio.create_task(self._setup_loop(), name=f"db-setup-{self.name}")

    async def _setup_loop(self) -> None:
        while not await self._try_setup():
            await asyncio.sleep(RETRY_SECONDS)

    async def _try_setup(self) -> bool:
        try:
            await self._create_database()
            async with self.engine.begin() as conn:
                await conn.run_sync(self.metadata.create_all)
            if self.setup_hook is not None:
                async with self.sessionmaker() as session:
                    await self.setup_hook(session)
                    await session.commit()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet, retry"
            self.last_error = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
            log.warning("database setup failed", database=self.name, error=self.last_error)
            return False
        self.ready, self.last_error = True, None
        log.info("database ready", database=self.name)
        return True

    async def _create_database(self) -> None:
        s = self.settings
        conn = await psycopg.AsyncConnection.connect(
            host=s.database_host,
            port=s.database_port,
            user=s.database_user,
            password=s.database_password or None,
            dbname="postgres",
            autocommit=True,
            connect_timeout=max(1, int(s.database_connect_timeout)),
        )
        async with conn:
            cur = await conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.name,))
            if await cur.fetchone() is None:
                try:
                    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name))
                    await conn.execute(create)
                    log.info("database created", database=self.name)
                except psycopg.errors.DuplicateDatabase:
                    pass  # created concurrently by another process

    async def ping(self) -> str | None:
        """None when the database answers `SELECT 1`, else the reason it does not."""
        if not self.ready:
            return f"not set up yet ({self.last_error or 'starting'})"
        try:
            async with asyncio.timeout(self.settings.database_connect_timeout + 1):
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - the reason is the answer
            return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
        return None

    async def session(self) -> AsyncIterator[AsyncSession]:
        if not self.ready:
            raise DatabaseUnavailable(f"database {self.name} is not ready: {self.last_error}")
        async with self.sessionmaker() as session:
            yield session

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.engine.dispose()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: a session on the app's database (503 while it is unreachable)."""
    async for session in request.app.state.db.session():
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
