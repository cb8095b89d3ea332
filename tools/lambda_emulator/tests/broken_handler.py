"""A handler module whose import fails, for init-error tests."""

raise RuntimeError("init kaboom")


def handler(event, context):  # never reached
    return event
