# A pytest fixture: one Warren per test session, started as a process on a free port.
import os
import subprocess

import pytest


@pytest.fixture(scope="session")
def amqp_url():
    warren = os.environ.get("WARREN", "warren").split()
    broker = subprocess.Popen(
        [*warren, "--port", "0", "--print-url", "--in-memory", "--no-management", "--log-level", "warn"],
        stdout=subprocess.PIPE,
        text=True,
    )
    url = broker.stdout.readline().strip()  # the first line is the URL, once it listens
    yield url
    broker.terminate()
    broker.wait(timeout=10)
