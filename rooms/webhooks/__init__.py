"""Webhooks in the Standard Webhooks style: each tenant's endpoints hear of its rooms' events.

`endpoints` (the registered destinations and their secrets), `signing` (secrets and
signatures), `destinations` (which addresses may be called), `payload` (the thin
JSON sent), `outbox` (the durable queue, filled in the event's own transaction),
`retry` (the backoff schedule), `dispatcher` (the task that sends), `requests`,
`api` and `openapi` (the REST face under /api/v1/webhooks).
"""

from rooms.webhooks.payload import TEST_TYPE  # registers the webhook.test event type with any use of the package

__all__ = ["TEST_TYPE"]
