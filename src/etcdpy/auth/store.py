"""The auth store: users, roles, the enabled flag and the auth revision, kept in the backend.

Layout (etcd's): bucket `authUsers` maps a user name to its authpb.User, `authRoles` a role name
to its authpb.Role (permissions sorted by key), and bucket `auth` holds `authEnabled` (one byte)
and `authRevision` (u64 big-endian). Every change is applied from the raft log, identically on
every member, and bumps the revision; a change that changes nothing (granting a role the user has,
enabling auth that is enabled) leaves the revision alone, as etcd does.
"""

from __future__ import annotations

import base64
import binascii
import bisect

from etcdpy.api import errors
from etcdpy.api.pb.authpb import auth_pb2
from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.auth import passwords
from etcdpy.auth.info import AuthInfo
from etcdpy.auth.perms import UserPerms
from etcdpy.auth.tokens import TokenProvider
from etcdpy.storage import schema
from etcdpy.storage.backend import Backend, ReadTxn

User = auth_pb2.User
Role = auth_pb2.Role
ROOT_USER = "root"
ROOT_ROLE = "root"
_ENABLED = b"authEnabled"
_REVISION = b"authRevision"


class AuthStore:
    def __init__(self, backend: Backend, tokens: TokenProvider, bcrypt_cost: int) -> None:
        self._backend = backend
        self.tokens = tokens
        self.bcrypt_cost = bcrypt_cost
        self.enabled = False
        self.revision = 0
        self._perms: dict[str, UserPerms] = {}  # user -> merged permissions; emptied on any change
        self.reload()
        if self.revision == 0:  # a new store starts at revision 1, as etcd's
            self._changed()

    def reload(self) -> None:
        """(Re)read the flag and revision from the backend (start, snapshot installed)."""
        with self._backend.read() as txn:
            flag = txn.get(schema.AUTH, _ENABLED)
            rev = txn.get(schema.AUTH, _REVISION)
        was_enabled = self.enabled
        self.enabled = flag == b"\x01"
        self.revision = schema.decode_u64(rev) if rev else 0
        self._perms.clear()
        if was_enabled and not self.enabled:
            self.tokens.disable()

    # ---- reads ----------------------------------------------------------------

    def _get(self, txn: ReadTxn, bucket: bytes, name: str) -> bytes | None:
        return txn.get(bucket, name.encode()) if name else None  # the backend has no empty keys

    def user(self, name: str) -> User | None:
        with self._backend.read() as txn:
            data = self._get(txn, schema.AUTH_USERS, name)
        return None if data is None else User.FromString(data)

    def role(self, name: str) -> Role | None:
        with self._backend.read() as txn:
            data = self._get(txn, schema.AUTH_ROLES, name)
        return None if data is None else Role.FromString(data)

    def _names(self, bucket: bytes) -> list[str]:
        with self._backend.read() as txn:
            return [k.decode() for k, _ in txn.items(bucket)]

    def has_role(self, username: str, role: str) -> bool:
        user = self.user(username)
        return user is not None and role in user.roles

    # ---- checks ----------------------------------------------------------------

    def password_of(self, name: str) -> tuple[bytes, int]:
        """The bcrypt hash to check a password for `name` against, and the revision it is valid at."""
        if not self.enabled:
            raise errors.AUTH_NOT_ENABLED
        user = self.user(name)
        if user is None:
            raise errors.AUTH_FAILED
        if user.options.no_password:
            raise errors.AUTH_NO_PASSWORD_USER
        return user.password, self.revision

    def info_from_token(self, token: str) -> AuthInfo:
        info = self.tokens.info(token, self.revision)
        if info is None:
            raise errors.INVALID_AUTH_TOKEN
        return info

    def check(self, info: AuthInfo | None, key: bytes, range_end: bytes, *, write: bool) -> None:
        """Refuse unless `info`'s user may read (or write) `key` / [key, range_end)."""
        if not self.enabled:
            return
        if info is None or info.revision == 0:
            raise errors.USER_EMPTY
        if info.revision < self.revision:
            raise errors.AUTH_OLD_REVISION
        user = self.user(info.username)
        if user is None:
            raise errors.PERMISSION_DENIED
        if ROOT_ROLE in user.roles:
            return
        perms = self._perms.get(info.username)
        if perms is None:
            perms = self._perms[info.username] = UserPerms.of(
                p for name in user.roles if (role := self.role(name)) is not None for p in role.keyPermission
            )
        if not (perms.write if write else perms.read).covers(key, range_end):
            raise errors.PERMISSION_DENIED

    def check_admin(self, info: AuthInfo | None) -> None:
        """Refuse unless `info`'s user has the root role (etcd's IsAdminPermitted)."""
        if not self.enabled:
            return
        if info is None or not info.username:
            raise errors.USER_EMPTY
        user = self.user(info.username)
        if user is None:
            raise errors.USER_NOT_FOUND
        if ROOT_ROLE not in user.roles:
            raise errors.PERMISSION_DENIED

    # ---- changes (applied from the log) ----------------------------------------------

    def _changed(
        self,
        users: dict[str, User | None] | None = None,
        roles: dict[str, Role | None] | None = None,
        enabled: bool | None = None,
        bump: bool = True,
    ) -> None:
        """Persist the given records (None deletes) and the flag, with the next revision (unless not
        `bump`)."""
        if bump:
            self.revision += 1
        with self._backend.write() as txn:
            for bucket, records in ((schema.AUTH_USERS, users or {}), (schema.AUTH_ROLES, roles or {})):
                for name, rec in records.items():
                    if rec is None:
                        txn.delete(bucket, name.encode())
                    else:
                        txn.put(bucket, name.encode(), rec.SerializeToString())
            if enabled is not None:
                txn.put(schema.AUTH, _ENABLED, b"\x01" if enabled else b"\x00")
            txn.put(schema.AUTH, _REVISION, schema.encode_u64(self.revision))
        self._perms.clear()

    def enable(self) -> None:
        if self.enabled:
            return
        root = self.user(ROOT_USER)
        if root is None:
            raise errors.ROOT_USER_NOT_EXIST
        if ROOT_ROLE not in root.roles:
            raise errors.ROOT_ROLE_NOT_EXIST
        self._changed(enabled=True, bump=False)  # etcd's enable keeps the revision; disable moves it
        self.enabled = True

    def disable(self) -> None:
        if not self.enabled:
            return
        self._changed(enabled=False)
        self.enabled = False
        self.tokens.disable()

    def authenticate(self, name: str, prefix: str, index: int) -> str:
        if not self.enabled:
            raise errors.AUTH_NOT_ENABLED
        user = self.user(name)
        if user is None or user.options.no_password:
            raise errors.AUTH_FAILED
        return self.tokens.assign(name, self.revision, prefix, index)

    def user_add(self, req: rpc_pb2.AuthUserAddRequest) -> None:
        if not req.name:
            raise errors.USER_EMPTY
        if self.user(req.name) is not None:
            raise errors.USER_ALREADY_EXIST
        options = auth_pb2.UserAddOptions(no_password=req.options.no_password)
        user = User(name=req.name.encode(), options=options)
        if not req.options.no_password:
            user.password = self._hashed(req.hashedPassword, req.password)
        self._changed(users={req.name: user})

    def _hashed(self, hashed: str, password: str) -> bytes:
        """The stored hash: the proposer's (base64, as etcd's requests carry it) or made here."""
        if not hashed:
            return passwords.hash_password(password, self.bcrypt_cost)
        try:
            return base64.b64decode(hashed, validate=True)
        except binascii.Error:
            raise errors.AUTH_FAILED from None

    def _existing_user(self, name: str) -> User:
        user = self.user(name)
        if user is None:
            raise errors.USER_NOT_FOUND
        return user

    def _existing_role(self, name: str) -> Role:
        role = self.role(name)
        if role is None:
            raise errors.ROLE_NOT_FOUND
        return role

    def user_delete(self, name: str) -> None:
        if self.enabled and name == ROOT_USER:
            raise errors.INVALID_AUTH_MGMT
        self._existing_user(name)
        self._changed(users={name: None})
        self.tokens.invalidate_user(name)

    def user_change_password(self, req: rpc_pb2.AuthUserChangePasswordRequest) -> None:
        user = self._existing_user(req.name)
        user.password = self._hashed(req.hashedPassword, req.password)
        self._changed(users={req.name: user})
        self.tokens.invalidate_user(req.name)

    def user_grant_role(self, name: str, role: str) -> None:
        user = self._existing_user(name)
        if role != ROOT_ROLE:
            self._existing_role(role)
        roles = list(user.roles)
        i = bisect.bisect_left(roles, role)
        if i < len(roles) and roles[i] == role:
            return
        roles.insert(i, role)
        del user.roles[:]
        user.roles.extend(roles)
        self._changed(users={name: user})

    def user_revoke_role(self, name: str, role: str) -> None:
        if self.enabled and name == ROOT_USER and role == ROOT_ROLE:
            raise errors.INVALID_AUTH_MGMT
        user = self._existing_user(name)
        if role not in user.roles:
            raise errors.ROLE_NOT_GRANTED
        user.roles.remove(role)
        self._changed(users={name: user})

    def user_get(self, name: str) -> list[str]:
        return list(self._existing_user(name).roles)

    def user_list(self) -> list[str]:
        return self._names(schema.AUTH_USERS)

    def role_add(self, name: str) -> None:
        if not name:
            raise errors.ROLE_EMPTY
        if self.role(name) is not None:
            raise errors.ROLE_ALREADY_EXIST
        self._changed(roles={name: Role(name=name.encode())})

    def role_delete(self, name: str) -> None:
        if self.enabled and name == ROOT_ROLE:
            raise errors.INVALID_AUTH_MGMT
        self._existing_role(name)
        users: dict[str, User | None] = {}
        for uname in self.user_list():
            user = self.user(uname)
            if user is not None and name in user.roles:
                user.roles.remove(name)
                users[uname] = user
        self._changed(users=users, roles={name: None})

    def role_get(self, name: str) -> list[auth_pb2.Permission]:
        return list(self._existing_role(name).keyPermission)

    def role_list(self) -> list[str]:
        return self._names(schema.AUTH_ROLES)

    def role_grant_permission(self, name: str, perm: auth_pb2.Permission) -> None:
        role = self._existing_role(name)
        perms = list(role.keyPermission)
        keys = [p.key for p in perms]
        # As etcd: only the first permission at or after the key is checked for an update; a new
        # one goes after those with the same key (so granting order shows among equal keys).
        first = bisect.bisect_left(keys, perm.key)
        if first < len(perms) and (perms[first].key, perms[first].range_end) == (perm.key, perm.range_end):
            perms[first].permType = perm.permType
        else:
            perms.insert(bisect.bisect_right(keys, perm.key), perm)
        del role.keyPermission[:]
        role.keyPermission.extend(perms)
        self._changed(roles={name: role})

    def role_revoke_permission(self, name: str, key: bytes, range_end: bytes) -> None:
        role = self._existing_role(name)
        kept = [p for p in role.keyPermission if (p.key, p.range_end) != (key, range_end)]
        if len(kept) == len(role.keyPermission):
            raise errors.PERMISSION_NOT_GRANTED
        del role.keyPermission[:]
        role.keyPermission.extend(kept)
        self._changed(roles={name: role})
