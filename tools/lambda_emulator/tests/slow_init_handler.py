"""A handler module whose import takes longer than the tests' init timeout."""

import time

time.sleep(5)


def handler(event, context):
    return event
