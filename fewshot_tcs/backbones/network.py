"""Whether a download host answers, asked once per host and process within a few seconds, so a machine
without network gets its missing-weights error at once instead of after a minute of retries."""

from __future__ import annotations

import contextlib
import functools
import os
import socket
from collections.abc import Iterator
from urllib.parse import urlparse

PROBE_SECONDS = 3.0
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


@functools.cache
def reachable(url: str) -> bool:
    """Whether ``url``'s host accepts a connection within PROBE_SECONDS; True behind a proxy (it decides)."""
    if any(os.environ.get(name) for name in PROXY_VARIABLES):
        return True
    parsed = urlparse(url)
    try:
        port = parsed.port or (80 if parsed.scheme == "http" else 443)
        with socket.create_connection((parsed.hostname, port), timeout=PROBE_SECONDS):
            return True
    except OSError:
        return False


def unreachable(url: str) -> str:
    """The reason recorded when ``url``'s host did not answer."""
    return f"unreachable (no answer from {urlparse(url).hostname} within {PROBE_SECONDS:g} s)"


@contextlib.contextmanager
def hf_hub_offline_unless_reachable() -> Iterator[bool]:
    """Inside, Hugging Face hub calls read only the local cache (no retries) when the hub does not answer;
    yields whether it answered."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE or reachable(constants.ENDPOINT):
        yield not constants.HF_HUB_OFFLINE
        return
    constants.HF_HUB_OFFLINE = True
    try:
        yield False
    finally:
        constants.HF_HUB_OFFLINE = False
