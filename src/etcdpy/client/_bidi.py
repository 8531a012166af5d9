"""Bidirectional gRPC streams (watch, lease keep-alive) with send/recv/close, blocking and asyncio.

`recv` returns None when the server ended the stream and raises `EtcdError` for a failed one.
"""

from __future__ import annotations

import asyncio
import queue
from typing import Any, Generic, TypeVar

import grpc
import grpc.aio
from google.protobuf.message import Message

from etcdpy.client import _status
from etcdpy.client._rpc import Rpc

Resp = TypeVar("Resp", bound=Message)
# grpc.aio's end-of-stream marker (absent from the type stubs).
_EOF: Any = getattr(grpc.aio, "EOF")  # noqa: B009
Metadata = tuple[tuple[str, str | bytes], ...] | None


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


class SyncBidi(Generic[Resp]):
    def __init__(self, channel: grpc.Channel, rpc: Rpc[Resp], metadata: Metadata) -> None:
        # grpc's sending thread drains this queue; None ends the request side.
        self._requests: queue.SimpleQueue[Message | None] = queue.SimpleQueue()
        multi = channel.stream_stream(
            rpc.path, request_serializer=_serialize, response_deserializer=rpc.response.FromString
        )
        self._call: Any = multi(iter(self._requests.get, None), metadata=metadata)

    def send(self, request: Message) -> None:
        self._requests.put(request)

    def recv(self) -> Resp | None:
        try:
            response: Resp = next(self._call)
        except StopIteration:
            return None
        except grpc.RpcError as err:
            raise _status.from_rpc_error(err) from None
        return response

    def close(self) -> None:
        self._requests.put(None)
        self._call.cancel()


class AsyncBidi(Generic[Resp]):
    def __init__(self, channel: grpc.aio.Channel, rpc: Rpc[Resp], metadata: Metadata) -> None:
        multi: Any = channel.stream_stream(
            rpc.path, request_serializer=_serialize, response_deserializer=rpc.response.FromString
        )
        self._call: Any = multi(metadata=metadata)

    async def send(self, request: Message) -> None:
        try:
            await self._call.write(request)
        except grpc.RpcError as err:
            raise _status.from_rpc_error(err) from None
        except asyncio.InvalidStateError:
            # The call already ended; the next recv reports how.
            pass

    async def recv(self) -> Resp | None:
        try:
            response = await self._call.read()
        except grpc.RpcError as err:
            raise _status.from_rpc_error(err) from None
        if response is _EOF:
            return None
        result: Resp = response
        return result

    def close(self) -> None:
        self._call.cancel()
