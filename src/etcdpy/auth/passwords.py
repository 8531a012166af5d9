"""Password hashes as etcd stores them: bcrypt, at the member's --bcrypt-cost."""

from __future__ import annotations

import bcrypt

MIN_COST = 4
MAX_COST = 31


def hash_password(password: str, cost: int) -> bytes:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=cost))


def check_password(password: str, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed)
    except ValueError:  # not a bcrypt hash
        return False
