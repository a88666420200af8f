"""Users, sessions, API tokens and login throttling, in the gateway's own schema."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.errors import Conflict, NotFound, ValidationFailed
from shared.eventstore.migrations import migrations_in

GATEWAY_MIGRATIONS = migrations_in("gateway", Path(__file__).parent / "migrations")
SCHEMA = "gateway"

_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,40}$")
MIN_PASSWORD = 8
TOKEN_PREFIX = "hm_"


def make_hasher(time_cost: int | None = None, memory_kib: int | None = None) -> PasswordHasher:
    """argon2id with the library's recommended parameters unless told otherwise (tests use cheap ones)."""
    defaults = PasswordHasher()
    return PasswordHasher(time_cost=time_cost or defaults.time_cost, memory_cost=memory_kib or defaults.memory_cost,
                          parallelism=defaults.parallelism)


class Role(StrEnum):
    """Who a user is to the platform; the permission matrix is written in these."""

    ADMIN = "admin"
    OFFICE = "office"  # 常委会办公室
    LEADER = "leader"  # 常委会领导
    COMMITTEE = "committee"  # 专工委
    GROUP_LEADER = "group_leader"  # 代表小组组长
    DELEGATE = "delegate"  # 人大代表
    DEPARTMENT = "department"  # 责任单位
    VIEWER = "viewer"


ROLE_LABELS = {
    Role.ADMIN: ("系统管理员", "Administrator"), Role.OFFICE: ("常委会办公室", "Standing committee office"),
    Role.LEADER: ("常委会领导", "Leader"), Role.COMMITTEE: ("专工委", "Special committee"),
    Role.GROUP_LEADER: ("代表小组组长", "Group leader"), Role.DELEGATE: ("人大代表", "Delegate"),
    Role.DEPARTMENT: ("责任单位", "Department"), Role.VIEWER: ("只读用户", "Viewer"),
}


@dataclass(frozen=True)
class User:
    """An authenticated user, with what their role is scoped to."""

    username: str
    display_name: str
    role: Role
    dept_code: str | None = None
    delegate_id: str | None = None
    group_id: str | None = None

    @property
    def actor(self) -> str:
        """The actor recorded in events: departments speak as themselves, everyone else as a user."""
        if self.role is Role.DEPARTMENT and self.dept_code:
            return f"dept:{self.dept_code}"
        return f"user:{self.username}"

    def public(self) -> dict[str, Any]:
        """The user as the API shows it (never the password hash)."""
        return {"username": self.username, "display_name": self.display_name, "role": str(self.role),
                "dept_code": self.dept_code, "delegate_id": self.delegate_id, "group_id": self.group_id}


@dataclass(frozen=True)
class Session:
    """A logged-in browser: who, and the token its forms must carry."""

    user: User
    csrf_token: str


def digest(token: str) -> str:
    """What is stored of a secret token: its sha256."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_new_user(username: str, password: str | None, role: str, dept_code: str | None,
                   delegate_id: str | None) -> Role:
    """Validate a user about to be created; the role it has."""
    problems = []
    if not _USERNAME_RE.match(username):
        problems.append({"field": "username", "message": "用户名须为2-40位字母、数字或 _ . - / 2-40 letters, digits, _ . -"})
    if password is not None and len(password) < MIN_PASSWORD:
        problems.append({"field": "password", "message": f"密码至少{MIN_PASSWORD}位 / at least {MIN_PASSWORD} characters"})
    try:
        parsed = Role(role)
    except ValueError:
        parsed = None
        problems.append({"field": "role", "message": "未知角色 / unknown role"})
    if parsed is Role.DEPARTMENT and not dept_code:
        problems.append({"field": "dept_code", "message": "责任单位用户须填写部门代码 / department users need a dept_code"})
    if parsed in (Role.DELEGATE, Role.GROUP_LEADER) and not delegate_id:
        problems.append({"field": "delegate_id", "message": "代表用户须填写代表编号 / delegate users need a delegate_id"})
    if problems:
        raise ValidationFailed("用户信息有误 / invalid user", problems)
    assert parsed is not None
    return parsed


def _user(row: asyncpg.Record) -> User:
    return User(row["username"], row["display_name"], Role(row["role"]), row["dept_code"], row["delegate_id"],
                row["group_id"])


_USER_COLUMNS = "u.username, u.display_name, u.role, u.dept_code, u.delegate_id, u.group_id"


class UserStore:
    """The gateway's tables: users, sessions, API tokens, login failures."""

    def __init__(self, pool: asyncpg.Pool, session_ttl_s: int = 12 * 3600, hasher: PasswordHasher | None = None
                 ) -> None:
        self.pool, self.session_ttl = pool, timedelta(seconds=session_ttl_s)
        self.hasher = hasher or make_hasher()
        # Checked when the user does not exist, so a wrong name costs the same time as a wrong password.
        self._dummy_hash = self.hasher.hash("not-a-real-password")

    async def create_user(self, username: str, password: str, role: str, display_name: str = "", *,
                          dept_code: str | None = None, delegate_id: str | None = None,
                          group_id: str | None = None) -> User:
        """Add a user; a taken name is a conflict."""
        parsed = check_new_user(username, password, role, dept_code, delegate_id)
        try:
            row = await self.pool.fetchrow(
                """INSERT INTO users AS u (username, display_name, role, dept_code, delegate_id, group_id, password_hash)
                   VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING """ + _USER_COLUMNS,
                username, display_name or username, str(parsed), dept_code, delegate_id, group_id, self.hasher.hash(password))
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"用户名已存在 / user {username} exists") from exc
        return _user(row)

    async def get(self, username: str) -> User:
        """An active user by name."""
        row = await self.pool.fetchrow(f"SELECT {_USER_COLUMNS} FROM users u WHERE username = $1 AND active", username)
        if row is None:
            raise NotFound(f"没有此用户 / no user {username}")
        return _user(row)

    async def list_users(self) -> list[dict[str, Any]]:
        """Every user, active or not."""
        rows = await self.pool.fetch(f"SELECT {_USER_COLUMNS}, u.active, u.created_at FROM users u ORDER BY username")
        return [{**_user(r).public(), "active": r["active"], "created_at": r["created_at"]} for r in rows]

    async def set_password(self, username: str, password: str) -> None:
        """Replace a user's password and end their sessions."""
        if len(password) < MIN_PASSWORD:
            raise ValidationFailed("密码太短 / password too short",
                                   [{"field": "password", "message": f"至少{MIN_PASSWORD}位 / at least {MIN_PASSWORD}"}])
        async with self.pool.acquire() as conn, conn.transaction():
            done = await conn.execute("UPDATE users SET password_hash = $2, updated_at = now() WHERE username = $1",
                                      username, self.hasher.hash(password))
            if done.endswith(" 0"):
                raise NotFound(f"没有此用户 / no user {username}")
            await conn.execute("DELETE FROM sessions WHERE username = $1", username)

    async def set_active(self, username: str, active: bool) -> None:
        """Enable or disable a user; disabling ends their sessions and revokes their tokens."""
        async with self.pool.acquire() as conn, conn.transaction():
            done = await conn.execute("UPDATE users SET active = $2, updated_at = now() WHERE username = $1",
                                      username, active)
            if done.endswith(" 0"):
                raise NotFound(f"没有此用户 / no user {username}")
            if not active:
                await conn.execute("DELETE FROM sessions WHERE username = $1", username)
                await conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE username = $1 AND revoked_at IS NULL",
                                   username)

    async def verify_password(self, username: str, password: str) -> User | None:
        """The user if the password is right (rehashing an outdated hash), else None."""
        row = await self.pool.fetchrow(
            f"SELECT {_USER_COLUMNS}, u.password_hash FROM users u WHERE username = $1 AND active", username)
        stored = row["password_hash"] if row else self._dummy_hash
        try:
            self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if self.hasher.check_needs_rehash(stored):
            await self.pool.execute("UPDATE users SET password_hash = $2 WHERE username = $1", username,
                                    self.hasher.hash(password))
        return _user(row)

    async def recent_failures(self, username: str, client: str, window_s: int) -> int:
        """Failed logins for this name or from this client within the window (whichever is more)."""
        since = datetime.now(UTC) - timedelta(seconds=window_s)
        return await self.pool.fetchval(
            """SELECT greatest((SELECT count(*) FROM login_failures WHERE username = $1 AND at > $3),
                               (SELECT count(*) FROM login_failures WHERE client = $2 AND at > $3))""",
            username, client, since)

    async def record_failure(self, username: str, client: str) -> None:
        """Remember a failed login (old ones are pruned as they fall out of any window)."""
        await self.pool.execute("INSERT INTO login_failures (username, client) VALUES ($1, $2)", username, client)
        await self.pool.execute("DELETE FROM login_failures WHERE at < now() - interval '1 day'")

    async def clear_failures(self, username: str) -> None:
        """A successful login forgives the name's earlier failures."""
        await self.pool.execute("DELETE FROM login_failures WHERE username = $1", username)

    async def open_session(self, user: User) -> tuple[str, str]:
        """A new session: (cookie value, CSRF token)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        await self.pool.execute(
            "INSERT INTO sessions (token_hash, username, csrf_token, expires_at) VALUES ($1, $2, $3, $4)",
            digest(token), user.username, csrf, datetime.now(UTC) + self.session_ttl)
        return token, csrf

    async def session(self, token: str) -> Session | None:
        """The live session of a cookie value, if any."""
        row = await self.pool.fetchrow(
            f"""SELECT {_USER_COLUMNS}, s.csrf_token FROM sessions s JOIN users u USING (username)
                WHERE s.token_hash = $1 AND s.expires_at > now() AND u.active""", digest(token))
        return Session(_user(row), row["csrf_token"]) if row else None

    async def close_session(self, token: str) -> None:
        """Log out."""
        await self.pool.execute("DELETE FROM sessions WHERE token_hash = $1", digest(token))

    async def issue_token(self, username: str, label: str) -> str:
        """A new API token for a machine client; only its hash is kept, so it is shown once."""
        await self.get(username)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        await self.pool.execute("INSERT INTO api_tokens (token_hash, username, label) VALUES ($1, $2, $3)",
                                digest(token), username, label)
        return token

    async def token_user(self, token: str) -> User | None:
        """The user of a live API token, if any."""
        row = await self.pool.fetchrow(
            f"""UPDATE api_tokens t SET last_used_at = now() FROM users u
                WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.username = t.username AND u.active
                RETURNING {_USER_COLUMNS}""", digest(token))
        return _user(row) if row else None

    async def list_tokens(self, username: str | None = None) -> list[dict[str, Any]]:
        """API tokens (never their values)."""
        rows = await self.pool.fetch(
            """SELECT substr(token_hash, 1, 12) AS id, username, label, created_at, last_used_at, revoked_at
               FROM api_tokens WHERE $1::text IS NULL OR username = $1 ORDER BY created_at""", username)
        return [dict(r) for r in rows]

    async def revoke_token(self, token_id: str) -> None:
        """Revoke a token by the id list_tokens shows."""
        if len(token_id) < 12:
            raise ValidationFailed("令牌编号有误 / bad token id")
        done = await self.pool.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE token_hash LIKE $1 || '%' AND revoked_at IS NULL", token_id)
        if done.endswith(" 0"):
            raise NotFound("没有此令牌 / no such token")
