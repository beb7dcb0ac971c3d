"""One retry policy for everything the gateway sends to the model server: at most `sends` sends of a request,
a doubling delay between them, all within `deadline_s`; only failures marked retryable are sent again."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from gateway.errors import GatewayError

logger = logging.getLogger("gateway.retry")
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    sends: int  # the bound: one request is never sent more often than this
    first_delay_s: float
    max_delay_s: float
    deadline_s: float  # from the first send; no send starts after it

    def __post_init__(self) -> None:
        if self.sends < 1 or self.deadline_s <= 0:
            raise ValueError("a retry policy sends at least once, within a positive deadline")

    def delay(self, attempt: int) -> float:
        """The wait after failed send number `attempt` (0-based)."""
        return float(min(self.first_delay_s * 2**attempt, self.max_delay_s))


async def with_retries(send: Callable[[float], Awaitable[T]], policy: RetryPolicy, what: str) -> T:
    """`send(seconds_left)`, again after each retryable GatewayError while the policy allows; the last failure
    is raised as it came."""
    deadline = time.monotonic() + policy.deadline_s
    for attempt in range(policy.sends):
        try:
            return await send(max(0.1, deadline - time.monotonic()))
        except GatewayError as error:
            delay = policy.delay(attempt)
            last = attempt == policy.sends - 1 or time.monotonic() + delay >= deadline
            if not error.retryable or last:
                raise
            logger.warning(
                "the model server failed on %s (%s); retry %d of %d in %.2f s",
                what,
                error.message,
                attempt + 1,
                policy.sends - 1,
                delay,
            )
            await asyncio.sleep(delay)
    raise AssertionError("unreachable: the last send returns or raises")
