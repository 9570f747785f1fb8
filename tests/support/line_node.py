"""A shared-line node in its own process, for the SIGKILL tests: joins entries, renews its leases,
prints ``ready`` and waits to be killed.

    python -m tests.support.line_node <database-url> <owner> <entries> <lease-seconds>
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta

from ivr.acd.line import NewEntry
from ivr.acd.pgline import PgLine

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def main(url: str, owner: str, entries: int, lease: float) -> None:
    line = await PgLine.connect(url, owner=owner, lease_seconds=lease, max_size=1)
    for i in range(entries):
        await line.join(NewEntry(f"{owner}/{i}", "support", T0 + timedelta(seconds=2 * i), owner), at=T0)
    print("ready", flush=True)
    while True:
        await asyncio.sleep(lease / 3)
        await line.renew()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
