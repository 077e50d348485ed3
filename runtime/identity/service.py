"""Identity use cases: sign in (password, link), refresh, the caller's account, socket tickets.

Wrong credentials are one ``AUTH_FAILED`` whatever was wrong (unknown address, wrong
password, used link); only the right credentials learn that an account is banned.
Failures are counted per key in the database (an address for passwords, the client's
address for links), so the limit holds across processes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.engine import Connection

from generated.server_support import ProblemError
from runtime.auth import Caller, TokenService
from runtime.auth.guard import AccountStatus
from runtime.auth.roles import parse_role, roles_of
from runtime.identity import store
from runtime.identity.passwords import Passwords
from runtime.identity.rules import (
    digest,
    is_banned,
    new_opaque_token,
    normalize_email,
    quarantined_until,
    retry_after_s,
)
from runtime.store import Database
from runtime.store.clock import database_now

__all__ = ["Account", "IdentityPolicy", "IdentityService", "IssuedTokens", "SocketTicket"]

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class IdentityPolicy:
    """The numbers identity runs with (settings and the cost tier's quarantine age)."""

    refresh_ttl_s: int = 30 * 86400  # the contract's example (refresh_token_expires_in_s)
    magic_link_ttl_s: int = 15 * 60  # 15 min, single use
    failure_limit: int = 10  # failed sign-ins per key and window, then 429
    failure_window_s: int = 15 * 60  # chosen
    ticket_ttl_s: int = 30  # chosen: a page opens its socket right after asking
    new_account_days: int = 3  # cost-tiers.yaml: random.quarantine.account_age_below_days


@dataclass(frozen=True)
class IssuedTokens:
    """An access token and the refresh token that renews it."""

    user_id: uuid.UUID
    access_token: str
    expires_in_s: int
    refresh_token: str
    refresh_token_expires_in_s: int


@dataclass(frozen=True)
class Account:
    """An account as its owner sees it."""

    id: uuid.UUID
    email: str
    display_name: str
    role: str
    age_verified: bool
    quarantined_until: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class SocketTicket:
    """A single-use ticket for opening a WebSocket from a browser."""

    ticket: str
    expires_in_s: int


def _auth_failed(detail: str) -> ProblemError:
    return ProblemError(
        401,
        "AUTH_FAILED",
        "Authentication failed",
        detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


def _banned(until: datetime | None) -> ProblemError:
    when = f" until {until.isoformat().replace('+00:00', 'Z')}" if until is not None else ""
    return ProblemError(403, "BANNED", "Account banned", f"This account is banned{when}.")


def _throttled(seconds: int) -> ProblemError:
    return ProblemError(
        429,
        "RATE_LIMITED",
        "Too many requests",
        "Too many failed sign-ins; wait before trying again.",
        headers={"Retry-After": str(seconds)},
        retry_after_s=seconds,
    )


class IdentityService:
    """Accounts, sign-in and token rotation over one store."""

    def __init__(
        self,
        database: Database,
        passwords: Passwords,
        tokens: TokenService,
        policy: IdentityPolicy | None = None,
    ) -> None:
        self.database, self.passwords, self.tokens = database, passwords, tokens
        self.policy = policy or IdentityPolicy()

    # ------------------------------------------------------------------ accounts

    async def create_account(
        self,
        email: str,
        *,
        password: str | None = None,
        role: str = "user",
        display_name: str | None = None,
        age_verified: bool = False,
        user_id: uuid.UUID | None = None,
    ) -> uuid.UUID | None:
        """A new account; ``None`` when the address (or the id) already has one."""
        address = normalize_email(email)
        if "@" not in address.strip("@"):
            raise ValueError(f"{email!r} is not an email address")
        hashed = None if password is None else await self.passwords.hash(password)
        new = store.NewAccount(
            email=address,
            display_name=(display_name or address.split("@", 1)[0])[:64],
            password_hash=hashed,
            role=parse_role(role),
            age_verified=age_verified,
            id=user_id,
        )
        return await self.database.write(
            lambda conn: store.insert_account(conn, new, now=database_now(conn))
        )

    async def set_role(self, user_id: uuid.UUID, role: str) -> bool:
        """Give an account another role (tokens issued before keep theirs until they expire)."""
        chosen = parse_role(role)
        return await self.database.write(
            lambda conn: store.update_account(conn, user_id, role=chosen)
        )

    async def account(self, user_id: uuid.UUID) -> Account | None:
        """The account with this id, as its owner sees it."""

        def work(conn: Connection) -> Account | None:
            row = store.get_account(conn, user_id)
            return None if row is None else self._account(row, database_now(conn))

        return await self.database.read(work)

    async def account_by_email(self, email: str) -> Account | None:
        """The account of an address."""

        def work(conn: Connection) -> Account | None:
            row = store.account_by_email(conn, normalize_email(email))
            return None if row is None else self._account(row, database_now(conn))

        return await self.database.read(work)

    async def status(self, user_id: uuid.UUID) -> AccountStatus | None:
        """What the guard needs to know of an account."""
        return (await self.statuses([user_id])).get(user_id)

    async def statuses(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, AccountStatus]:
        """The guard's view of several accounts in one read (absent ones are left out)."""

        def work(conn: Connection) -> dict[uuid.UUID, AccountStatus]:
            now = database_now(conn)
            rows = store.account_statuses(conn, user_ids)
            return {
                uid: AccountStatus(is_banned(r["banned_at"], r["banned_until"], now), r["role"])
                for uid, r in rows.items()
            }

        return await self.database.read(work)

    def _account(self, row: store.AccountRow, now: datetime) -> Account:
        return Account(
            id=row["id"],
            email=row["email"],
            display_name=row["display_name"],
            role=row["role"],
            age_verified=bool(row["age_verified"]),
            quarantined_until=quarantined_until(
                row["created_at"], self.policy.new_account_days, row["quarantined_until"], now
            ),
            created_at=row["created_at"],
        )

    # ------------------------------------------------------------------ sign-in

    async def sign_in_password(
        self, email: str, password: str, *, device_id: str | None = None
    ) -> IssuedTokens:
        """Tokens for the right address and password; one ``AUTH_FAILED`` otherwise."""
        address = normalize_email(email)
        key = "pw:" + digest(address)
        await self._check_throttle(key)
        row = await self.database.read(lambda conn: store.account_by_email(conn, address))
        stored = None if row is None else row["password_hash"]
        if not await self.passwords.verify(stored, password):
            await self._fail(key)
            raise _auth_failed("The email or the password is wrong.")
        assert row is not None and stored is not None
        if self.passwords.needs_rehash(stored):
            fresh = await self.passwords.hash(password)
            await self.database.write(
                lambda conn: store.set_password_hash(conn, row["id"], stored, fresh)
            )
        return await self._start_family(row["id"], key, device_id)

    async def sign_in_magic_link(
        self, token: str, *, device_id: str | None = None, client: str = "unknown"
    ) -> IssuedTokens:
        """Tokens for a live sign-in link (used once); one ``AUTH_FAILED`` otherwise."""
        key = "ml:" + digest(client)
        await self._check_throttle(key)

        def redeem(conn: Connection) -> uuid.UUID | None:
            return store.redeem_magic_link(conn, digest(token), now=database_now(conn))

        user_id = await self.database.write(redeem)
        if user_id is None:
            await self._fail(key)
            raise _auth_failed("The sign-in link is not valid (unknown, used or expired).")
        return await self._start_family(user_id, key, device_id)

    async def issue_magic_link(self, email: str) -> tuple[str, datetime]:
        """A single-use sign-in token for an account, and when it expires."""
        token = new_opaque_token("ml_")

        def work(conn: Connection) -> datetime | None:
            row = store.account_by_email(conn, normalize_email(email))
            if row is None:
                return None
            now = database_now(conn)
            ttl = self.policy.magic_link_ttl_s
            return store.insert_magic_link(conn, row["id"], digest(token), now=now, ttl_s=ttl)

        expires = await self.database.write(work)
        if expires is None:
            raise LookupError(f"no account for {email!r}")
        return token, expires

    async def _check_throttle(self, key: str) -> None:
        window = self.policy.failure_window_s

        def work(conn: Connection) -> int | None:
            now = database_now(conn)
            since = now - timedelta(seconds=window)
            failures, start = store.recent_failures(conn, key, since=since)
            if failures < self.policy.failure_limit or start is None:
                return None
            return retry_after_s(start, window, now)

        wait = await self.database.read(work)
        if wait is not None:
            raise _throttled(wait)

    async def _fail(self, key: str) -> None:
        window = self.policy.failure_window_s
        await self.database.write(
            lambda conn: store.count_failure(conn, key, now=database_now(conn), window_s=window)
        )

    async def _start_family(
        self, user_id: uuid.UUID, throttle_key: str, device_id: str | None
    ) -> IssuedTokens:
        """A new token family for a signed-in account; 403 ``BANNED`` for a banned one."""
        refresh = new_opaque_token("rt_")
        ttl = self.policy.refresh_ttl_s

        def work(conn: Connection) -> store.AccountRow | ProblemError | None:
            row = store.get_account(conn, user_id)
            if row is None:
                return None
            now = database_now(conn)
            store.clear_failures(conn, throttle_key)  # the right credentials were shown
            if is_banned(row["banned_at"], row["banned_until"], now):
                return _banned(row["banned_until"])
            store.insert_refresh_token(
                conn,
                user_id=user_id,
                family_id=uuid.uuid4(),
                token_hash=digest(refresh),
                device_id=device_id,
                now=now,
                ttl_s=ttl,
            )
            return row

        outcome = await self.database.write(work)
        if outcome is None:
            raise _auth_failed("The email or the password is wrong.")
        if isinstance(outcome, ProblemError):
            raise outcome
        return self._tokens(user_id, outcome["role"], device_id, refresh)

    def _tokens(
        self, user_id: uuid.UUID, role: str, device_id: str | None, refresh: str
    ) -> IssuedTokens:
        caller = Caller(user_id, roles_of(role), device_id=device_id)
        return IssuedTokens(
            user_id=user_id,
            access_token=self.tokens.issue(caller),
            expires_in_s=self.tokens.ttl_s,
            refresh_token=refresh,
            refresh_token_expires_in_s=self.policy.refresh_ttl_s,
        )

    # ------------------------------------------------------------------ refresh

    async def refresh(self, refresh_token: str) -> IssuedTokens:
        """Rotate a refresh token: a new pair, the old token spent; reuse revokes the family."""
        fresh = new_opaque_token("rt_")
        ttl = self.policy.refresh_ttl_s

        def work(conn: Connection) -> tuple[store.Rotation, store.AccountRow | None, bool]:
            now = database_now(conn)
            rotation = store.rotate_refresh_token(conn, digest(refresh_token), now=now)
            if rotation.row is None:
                return rotation, None, False
            account = store.get_account(conn, rotation.row["user_id"])
            if account is None:
                return rotation, None, False
            banned = is_banned(account["banned_at"], account["banned_until"], now)
            if not banned:
                store.insert_refresh_token(
                    conn,
                    user_id=account["id"],
                    family_id=rotation.row["family_id"],
                    token_hash=digest(fresh),
                    device_id=rotation.row["device_id"],
                    now=now,
                    ttl_s=ttl,
                )
            return rotation, account, banned

        rotation, account, banned = await self.database.write(work)
        if rotation.reused:
            # Someone presented a spent token: either it was stolen or the client replayed
            # it. Either way the family is gone and its holders must sign in again.
            _log.warning("refresh token reused; family revoked")
        if account is None or rotation.row is None:
            raise _auth_failed("The refresh token is not valid (unknown, used or expired).")
        if banned:
            raise _banned(account["banned_until"])
        return self._tokens(account["id"], account["role"], rotation.row["device_id"], fresh)

    # ------------------------------------------------------------------ socket tickets

    async def issue_ticket(self, caller: Caller) -> SocketTicket:
        """A single-use ticket that opens one WebSocket as ``caller``."""
        ticket = new_opaque_token("wst_")
        token_expiry = datetime.fromtimestamp(caller.expires_at or 0, tz=UTC)

        def work(conn: Connection) -> float:
            now = database_now(conn)
            expires = store.insert_ticket(
                conn,
                ticket_hash=digest(ticket),
                user_id=caller.user_id,
                role=caller.role,
                device_id=caller.device_id,
                now=now,
                ttl_s=self.policy.ticket_ttl_s,
                token_expires_at=token_expiry,
            )
            return (expires - now).total_seconds()

        left = await self.database.write(work)
        return SocketTicket(ticket, max(1, int(left)))

    async def redeem_ticket(self, ticket: str) -> Caller | None:
        """The caller a live ticket vouches for (once), or ``None``."""

        def work(conn: Connection) -> store.AccountRow | None:
            return store.redeem_ticket(conn, digest(ticket), now=database_now(conn))

        row = await self.database.write(work)
        if row is None:
            return None
        return Caller(
            row["user_id"],
            roles_of(row["role"]),
            device_id=row["device_id"],
            expires_at=row["token_expires_at"].timestamp(),
        )
