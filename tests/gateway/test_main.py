import os

import anyio.to_thread

from gateway.config import Settings
from tests.gateway.conftest import make_client


def test_decoding_threads_are_bounded_by_the_setting():
    with make_client(threads=3) as client:
        limit = client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)
        assert client.get("/categories").status_code == 200
    assert limit == 3


def test_the_default_thread_count_is_the_cores_this_process_may_use():
    assert Settings().threads == len(os.sched_getaffinity(0))
