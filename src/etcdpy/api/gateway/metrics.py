"""`GET /metrics` on the client port: the member's Prometheus metrics, fetched over gRPC."""

from __future__ import annotations

from typing import Final

import grpc

from etcdpy.api.gateway.httptypes import HttpRequest, HttpResponse, text_error
from etcdpy.api.internal import METRICS_METHOD

_TIMEOUT: Final = 5.0
# What etcd's Go Prometheus client sends (the text format is the same).
_CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"


class MetricsRoute:
    """Answers /metrics with the exposition the member serves on `channel`."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._call = channel.unary_unary(METRICS_METHOD, request_serializer=None, response_deserializer=None)

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "GET":
            return text_error(405)
        try:
            body = await self._call(b"", timeout=_TIMEOUT)
        except grpc.aio.AioRpcError as e:
            return HttpResponse(503, f"metrics unavailable: {e.details()}\n".encode(),
                                (("Content-Type", "text/plain; charset=utf-8"),))
        return HttpResponse(200, body, (("Content-Type", _CONTENT_TYPE),))
