"""One retry policy: a bound on the sends of a request, doubling delays, a deadline, retryable failures only."""

import asyncio

import pytest

from gateway.errors import GatewayError
from gateway.retry import RetryPolicy, with_retries


def failing(sent: list[float], retryable: bool = True):
    async def send(seconds_left: float) -> str:
        sent.append(seconds_left)
        raise GatewayError(503, "model_server_busy", "restarting", retryable=retryable)

    return send


def test_a_retryable_failure_is_sent_at_most_the_policy_s_sends():
    sent: list[float] = []
    policy = RetryPolicy(sends=4, first_delay_s=0.001, max_delay_s=0.002, deadline_s=10)
    with pytest.raises(GatewayError, match="restarting"):
        asyncio.run(with_retries(failing(sent), policy, "a frame"))
    assert len(sent) == 4 and all(0 < s <= 10 for s in sent)
    assert [policy.delay(a) for a in range(4)] == [0.001, 0.002, 0.002, 0.002]


def test_a_failure_that_is_not_retryable_is_sent_once():
    sent: list[float] = []
    with pytest.raises(GatewayError):
        asyncio.run(with_retries(failing(sent, retryable=False), RetryPolicy(5, 0.001, 1, 10), "x"))
    assert len(sent) == 1


def test_no_send_starts_after_the_deadline():
    sent: list[float] = []
    with pytest.raises(GatewayError):
        asyncio.run(with_retries(failing(sent), RetryPolicy(10, 0.04, 1, 0.1), "x"))
    assert len(sent) == 2  # 0.04 s, then 0.08 s would pass the 0.1 s deadline


def test_the_answer_comes_back_once_a_send_succeeds():
    answers = iter([GatewayError(503, "model_server_unavailable", "down", retryable=True), "mask"])

    async def send(_: float) -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert asyncio.run(with_retries(send, RetryPolicy(3, 0.001, 1, 5), "x")) == "mask"
