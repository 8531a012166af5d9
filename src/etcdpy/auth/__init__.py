"""etcd's authentication and role-based access control: users, roles, permissions, tokens."""
