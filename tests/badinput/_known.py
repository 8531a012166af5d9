"""Known differences from etcd 3.5.1 on bad input: the reasons of the suite's strict xfails.

Each names what etcd answers and what etcd-py answers instead; a fix turns its cases to XPASS.
"""

from __future__ import annotations

UNMARSHAL = (
    "grpc-go answers an undecodable message with INTERNAL 'grpc: error unmarshalling request: <gogoproto "
    "error>' (streams: 'grpc: failed to unmarshal the received message <error>'); grpcio with UNKNOWN "
    "'Unexpected <class DecodeError>: ...'"
)
WIRE_TYPE = (
    "gogoproto rejects a known field sent with the wrong wire type; Python protobuf keeps it as unknown"
)
HEALTH_UNKNOWN = "grpc-go's health server: NOT_FOUND 'unknown service'; grpcio's: NOT_FOUND with no message"
TRANSPORT = (
    "grpc-go says 'grpc: received message larger than max (N vs. M)'; grpc core 'SERVER: Received ...'"
)
BIG_BODY = (
    "etcd reads any body and answers 429 'grpc: received message larger than max (N vs. M)'; etcd-py stops "
    "reading past 2*max-request-bytes+1MiB, answers 400 'request is too large' and closes (clients: reset)"
)
PUT_AS_POST = "etcd-py's gateway deliberately accepts PUT wherever POST is (gateway.py); etcd answers 405"
FRAGMENT = "Go keeps '#...' of a request target in the path (404); etcd-py strips it and serves the path"
GO_HOST = "Go's net/http requires exactly one Host header in HTTP/1.1 (400); etcd-py does not check"
GO_CHUNKED = (
    "Go reports a bad chunk through the body read: 400 JSON from the gateway; etcd-py a plain-text 400"
)
EARLY_EOF_CHUNKED = (
    "a chunked body cut short by the client's EOF: etcd 400 JSON 'unexpected EOF', etcd-py differs"
)
HEAD_EOF = "a head cut short by the client's EOF: Go answers 400 Bad Request, etcd-py closes silently"
CONNECT = "Go routes CONNECT host:port to the mux (404); etcd-py answers 400"
