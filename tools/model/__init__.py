"""//tools/model: turn a model directory into the S3 artifact the Analysis Lambda loads (README.md)."""


class PublishError(ValueError):
    """Bad input or a failed step of publishing; the message names what was wrong."""
