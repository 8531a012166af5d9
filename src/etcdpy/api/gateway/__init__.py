"""The client port's front door: gRPC relay and etcd's JSON gateway on one listener."""

from etcdpy.api.gateway.httptypes import HttpRequest, HttpResponse
from etcdpy.api.gateway.listener import ClientListener

__all__ = ["ClientListener", "HttpRequest", "HttpResponse"]
