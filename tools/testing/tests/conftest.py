"""Re-export the shared fixtures (tools/testing/fixtures.py) for these tests."""

from tools.testing.fixtures import *  # noqa: F401,F403
