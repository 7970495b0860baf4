"""An open-loop HTTP load generator: requests leave on a fixed schedule, whatever the server does.

wrk (closed loop) sends a connection's next request only after the last answer, so a slow
server receives less load and its slow moments hide ("coordinated omission"). Here request
``i`` is due at ``start + i / rate`` seconds (or at Poisson arrival times with ``poisson``),
and its latency is measured from that due time: a request that waited for a free connection
because the server fell behind is counted as late by the full wait.

Plain asyncio streams over keep-alive connections to 127.0.0.1; it understands only what the
intake endpoint answers (``Content-Length`` bodies, no chunking).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Outcome:
    sent: int
    seconds: float
    latencies_ms: list[float]
    non_2xx: int
    errors: int

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def summary(self) -> dict[str, float]:
        return {
            "requests": self.sent, "rate": self.sent / self.seconds,
            "p50_ms": self.percentile(50), "p90_ms": self.percentile(90),
            "p99_ms": self.percentile(99), "max_ms": max(self.latencies_ms, default=float("nan")),
            "non_2xx": self.non_2xx, "socket_errors": self.errors,
        }  # fmt: skip


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _run(
    port: int, build: Callable[[int], bytes], *, rate: float, seconds: float, connections: int,
    poisson: bool,
) -> Outcome:  # fmt: skip
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    total = int(rate * seconds)
    rng = random.Random(7)
    due, at = [], 0.0
    for _ in range(total):
        due.append(at)
        at += rng.expovariate(rate) if poisson else 1 / rate
    latencies: list[float] = []
    counts = {"non_2xx": 0, "errors": 0}
    start = time.perf_counter()

    async def one(i: int) -> None:
        reader, writer = await idle.get()
        try:
            status = await _exchange(reader, writer, build(i))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            counts["errors"] += 1
            writer.close()
            idle.put_nowait(await asyncio.open_connection("127.0.0.1", port))
            return
        latencies.append((time.perf_counter() - start - due[i]) * 1000)
        if not 200 <= status < 300:
            counts["non_2xx"] += 1
        idle.put_nowait((reader, writer))

    tasks = []
    for i, when in enumerate(due):
        wait = start + when - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not idle.empty():
        idle.get_nowait()[1].close()
    return Outcome(total, elapsed, latencies, counts["non_2xx"], counts["errors"])


def open_loop(
    port: int, build: Callable[[int], bytes], *, rate: float, seconds: float,
    connections: int = 64, poisson: bool = True,
) -> dict[str, float]:  # fmt: skip
    """Send ``rate`` requests a second for ``seconds`` (``build(i)`` makes request ``i``'s
    bytes) over up to ``connections`` keep-alive connections; the rate actually completed and
    latency percentiles in ms."""
    outcome = asyncio.run(
        _run(port, build, rate=rate, seconds=seconds, connections=connections, poisson=poisson)
    )
    return outcome.summary()
