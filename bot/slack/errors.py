"""What delivery raises: refused for good, or not reachable for now."""

from __future__ import annotations


class SlackDeliveryError(Exception):
    def __init__(self, method: str, error: str, detail: str = "") -> None:
        self.method = method
        self.error = error
        super().__init__(f"{method}: {error}" + (f" ({detail})" if detail else ""))


class SlackRejected(SlackDeliveryError):
    """Slack refused the call and would refuse it again (channel_not_found, invalid_auth,
    invalid_blocks, message_not_found, ...): retrying cannot help, a person has to fix something."""


class SlackUnavailable(SlackDeliveryError):
    """Slack could not be reached or kept failing or rate limiting after the bounded retries.

    The call may be tried again later; `retry_after` (seconds) is Slack's hint when it gave one.
    """

    def __init__(self, method: str, error: str, detail: str = "", retry_after: float | None = None) -> None:
        super().__init__(method, error, detail)
        self.retry_after = retry_after
