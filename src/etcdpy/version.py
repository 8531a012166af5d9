"""Versions reported to clients.

etcd-py speaks the etcd 3.5 API; clients (etcdctl, clientv3) gate features on the
server version they are told, so the server reports the etcd release whose
behaviour it reproduces.
"""

SERVER_VERSION = "3.5.1"
CLUSTER_VERSION = "3.5.0"
API_VERSION = "3.5"
PROJECT_VERSION = "0.1.0"
