"""Local accounts, sign-in and sessions (no Streamlit here).

Passwords are kept as argon2id hashes (argon2-cffi's defaults, RFC 9106's second
recommended profile). Failed sign-ins are counted per account name and client address:
``MAX_FAILURES`` in a row from one address lock that address out of that name for
``LOCK_MINUTES`` — an attacker is slowed down, the owner signing in from their own desk is
not locked out. Every refusal (unknown name, wrong password, lock, disabled account) gets
the same answer and the same argon2 work, so names cannot be probed. A session is a random token given to the browser once, as an HttpOnly cookie; the
database keeps only its SHA-256, and it ends after ``IDLE_MINUTES`` without use or
``MAX_HOURS`` in all (a big-screen account's after ``SCREEN_DAYS``), or when its account is
disabled or its password changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from twin.domain.access import PSEUDO_ROLES, ROLES, Principal
from twin.errors import TwinError
from twin.store.schema import accounts, sessions, sign_in_failures, units

SCOPED_ROLES = ("official", "field")
ACCOUNT_ROLES = tuple(r for r in ROLES if r not in PSEUDO_ROLES)
MIN_PASSWORD = 10
MAX_FAILURES = 5
LOCK_MINUTES = 15
IDLE_MINUTES = 30
MAX_HOURS = 12
# A command-centre wall stays on for weeks and sees only aggregates: its sessions last
# SCREEN_DAYS and do not end when idle (its figures refresh without a full page run).
SCREEN_DAYS = 30
COOKIE = "twin_session"
_HASHER = PasswordHasher()
# verifying against this when the name is unknown costs the same as a real check
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class AccountError(TwinError):
    """An account operation that cannot be done, with the reason."""


class SignInRefused(AccountError):
    """Wrong name or password, a lock-out or a disabled account: one message for all, so
    that names cannot be probed."""


REFUSED = "wrong user name or password, or too many attempts: check them, or wait and retry"


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    display_name: str
    role: str
    scope: tuple[str, ...]
    must_change: bool
    disabled: bool

    def principal(self) -> Principal:
        return Principal(self.role, self.scope, self.username)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_password() -> str:
    """A one-time password: 16 URL-safe characters (~96 bits), never letters only."""
    while True:
        password = secrets.token_urlsafe(12)
        if not password.isalpha() and not password.isdigit():
            return password


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if password.isdigit() or password.isalpha():
        raise AccountError("a password needs letters and digits or other signs")


def _check_scope(conn: Connection, role: str, scope: tuple[str, ...]) -> tuple[str, ...]:
    if role not in ACCOUNT_ROLES:
        raise AccountError(f"unknown role {role!r}: one of {', '.join(ACCOUNT_ROLES)}")
    if role in SCOPED_ROLES and not scope:
        raise AccountError(f"an account of role {role} needs a scope: the code of its unit")
    if role not in SCOPED_ROLES and scope:
        raise AccountError(f"role {role} is not scoped to units")
    known = set(conn.execute(sa.select(units.c.code).where(units.c.code.in_(scope)))
                .scalars())
    missing = [c for c in scope if c not in known]
    if missing:
        raise AccountError(f"no unit with code {missing[0]!r}")
    return tuple(scope)


def add_user(engine: Engine, username: str, role: str, *, scope: tuple[str, ...] = (),
             display_name: str | None = None, password: str | None = None) -> str:
    """Create an account; returns its password (a generated one-time password if none was
    given: it must be changed at first sign-in)."""
    username = username.strip().lower()
    if not re.fullmatch(r"[a-z0-9_.-]{2,40}", username):
        raise AccountError("a user name is 2–40 of a–z, 0–9, _ . -")
    one_time = password is None
    password = password or new_password()
    with engine.begin() as conn:
        scope = _check_scope(conn, role, scope)
        check_password(password)
        if conn.execute(sa.select(accounts.c.id).where(accounts.c.username == username)).first():
            raise AccountError(f"user {username!r} exists already")
        conn.execute(sa.insert(accounts).values(
            username=username, display_name=display_name or username, role=role,
            scope=list(scope), password_hash=_HASHER.hash(password), must_change=one_time))
    return password


def set_password(engine: Engine, username: str, password: str | None = None, *,
                 must_change: bool | None = None) -> str:
    """Set a password (a generated one-time one if none), unlock the account and end its
    sessions; returns the password."""
    one_time = password is None
    password = password or new_password()
    check_password(password)
    with engine.begin() as conn:
        found = conn.execute(
            sa.update(accounts).where(accounts.c.username == username)
            .values(password_hash=_HASHER.hash(password),
                    must_change=one_time if must_change is None else must_change)
            .returning(accounts.c.id)).scalar()
        if found is None:
            raise AccountError(f"no user {username!r}")
        conn.execute(sa.delete(sessions).where(sessions.c.account_id == found))
        # an administrator's reset lifts every lock-out of the name
        conn.execute(sa.delete(sign_in_failures).where(sign_in_failures.c.username == username))
    return password


def disable(engine: Engine, username: str) -> None:
    """Disable an account and end its sessions (accounts are never deleted: the logs
    name them)."""
    with engine.begin() as conn:
        found = conn.execute(
            sa.update(accounts).where(accounts.c.username == username)
            .values(disabled_at=sa.func.coalesce(accounts.c.disabled_at, sa.func.now()))
            .returning(accounts.c.id)).scalar()
        if found is None:
            raise AccountError(f"no user {username!r}")
        conn.execute(sa.delete(sessions).where(sessions.c.account_id == found))


def _account(row) -> Account:
    return Account(row.id, row.username, row.display_name, row.role, tuple(row.scope),
                   row.must_change, row.disabled_at is not None)


_COLUMNS = (accounts.c.id, accounts.c.username, accounts.c.display_name, accounts.c.role,
            accounts.c.scope, accounts.c.must_change, accounts.c.disabled_at)


def list_users(engine: Engine) -> list[Account]:
    with engine.connect() as conn:
        return [_account(r) for r in conn.execute(
            sa.select(*_COLUMNS).order_by(accounts.c.username))]


def _failed(username: str, address: str, now: dt.datetime):
    """One more failed sign-in of a name from an address: at MAX_FAILURES in a row the
    address is locked out of the name for LOCK_MINUTES and the count starts again."""
    f = sign_in_failures.c
    insert = pg_insert(sign_in_failures).values(username=username, address=address,
                                                failures=1, locked_until=None, last_at=now)
    full = f.failures + 1 >= MAX_FAILURES
    return insert.on_conflict_do_update(
        index_elements=[f.username, f.address],
        set_={"failures": sa.case((full, 0), else_=f.failures + 1),
              "locked_until": sa.case((full, now + dt.timedelta(minutes=LOCK_MINUTES))),
              "last_at": now})


def sign_in(engine: Engine, username: str, password: str, now: dt.datetime | None = None,
            *, address: str = "?", open_session: bool = True) -> tuple[str | None, Account]:
    """(session token, account) for a right name and password from ``address`` (the
    client's); else SignInRefused. Without ``open_session`` the credentials are only checked
    (the token is None)."""
    now = now or _now()
    username = (username or "").strip().lower()
    password = password or ""
    if "\x00" in username + password + address or len(username) > 200:
        _verify(_DUMMY_HASH, password)
        raise SignInRefused(REFUSED)
    refused, token = False, None
    with engine.begin() as conn:  # a failure is counted (committed) before it is reported
        f = sign_in_failures.c
        locked = conn.execute(sa.select(f.locked_until).where(
            f.username == username, f.address == address, f.locked_until > now)).scalar()
        row = conn.execute(sa.select(*_COLUMNS, accounts.c.password_hash)
                           .where(accounts.c.username == username)
                           .with_for_update()).one_or_none()
        right = _verify(row.password_hash if row is not None else _DUMMY_HASH, password)
        if locked is not None:
            refused = True  # even the right password: the address is locked out of the name
        elif row is None or not right or row.disabled_at is not None:
            conn.execute(_failed(username, address, now))
            refused = True
        else:
            if _HASHER.check_needs_rehash(row.password_hash):
                conn.execute(sa.update(accounts).where(accounts.c.id == row.id)
                             .values(password_hash=_HASHER.hash(password)))
            conn.execute(sa.delete(sign_in_failures).where(sa.or_(
                sa.and_(f.username == username, f.address == address),
                f.last_at < now - dt.timedelta(days=1))))
            if open_session:
                token = secrets.token_urlsafe(32)
        if token is not None:
            conn.execute(sa.insert(sessions).values(
                token_sha256=_sha(token), account_id=row.id, created_at=now, last_seen_at=now,
                expires_at=now + session_lifetime(row.role)))
            idle = now - dt.timedelta(minutes=IDLE_MINUTES)
            conn.execute(sa.delete(sessions).where(  # the ended sessions go
                accounts.c.id == sessions.c.account_id,
                sa.or_(sessions.c.expires_at < now, sa.and_(sessions.c.last_seen_at < idle,
                                                            accounts.c.role != "screen"))))
    if refused:
        raise SignInRefused(REFUSED)
    return token, _account(row)


def session_lifetime(role: str) -> dt.timedelta:
    """How long a session of this role may last at most."""
    return dt.timedelta(days=SCREEN_DAYS) if role == "screen" else dt.timedelta(hours=MAX_HOURS)


def check_credentials(engine: Engine, username: str, password: str,
                      now: dt.datetime | None = None, *, address: str = "?") -> Account:
    """The account of a name and password sent with each request (HTTP Basic, for GIS
    clients such as QGIS, GDAL and OWSLib): the same checks, failure count and lock-out as
    signing in, but no session."""
    return sign_in(engine, username, password, now, address=address, open_session=False)[1]


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password or "")
    except (VerificationError, InvalidHashError):
        return False


def session_account(engine: Engine, token: str | None,
                    now: dt.datetime | None = None) -> Account | None:
    """The account of a live session (its idle clock restarted), or None."""
    if not isinstance(token, str) or not token or len(token) > 128:
        return None
    now = now or _now()
    with engine.begin() as conn:
        idle = now - dt.timedelta(minutes=IDLE_MINUTES)
        row = conn.execute(
            sa.update(sessions).values(last_seen_at=now)
            .where(sessions.c.token_sha256 == _sha(token),
                   accounts.c.id == sessions.c.account_id, sessions.c.expires_at > now,
                   sa.or_(sessions.c.last_seen_at > idle, accounts.c.role == "screen"),
                   accounts.c.disabled_at.is_(None))
            .returning(*_COLUMNS)).one_or_none()
    return _account(row) if row else None


def sign_out(engine: Engine, token: str | None) -> None:
    if token:
        with engine.begin() as conn:
            conn.execute(sa.delete(sessions).where(sessions.c.token_sha256 == _sha(token)))


def change_password(engine: Engine, token: str, old: str, new: str) -> None:
    """A signed-in user's own change (the one-time password first); other sessions end."""
    account = session_account(engine, token)
    if account is None:
        raise AccountError("the session has ended: sign in again")
    with engine.connect() as conn:
        hashed = conn.execute(sa.select(accounts.c.password_hash)
                              .where(accounts.c.id == account.id)).scalar()
    if not _verify(hashed, old):
        raise AccountError("the current password is wrong")
    if new == old:
        raise AccountError("the new password must differ from the current one")
    check_password(new)
    with engine.begin() as conn:
        conn.execute(sa.update(accounts).where(accounts.c.id == account.id)
                     .values(password_hash=_HASHER.hash(new), must_change=False))
        conn.execute(sa.delete(sessions).where(sessions.c.account_id == account.id,
                                               sessions.c.token_sha256 != _sha(token)))


class PrincipalCache:
    """Who a credential (session token or field link) stands for, checked against the
    database at most every ``ttl`` seconds: a map asks for dozens of tiles a second, each
    carrying it. A disabled account, an ended session or a withdrawn link is refused
    within ``ttl``; ``forget`` makes it immediate in this process."""

    def __init__(self, lookup, ttl: float = 30.0, size: int = 10_000) -> None:
        import threading

        self._lookup = lookup  # credential → Principal | None
        self._ttl, self._size = ttl, size
        self._seen: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def get(self, credential: str | None, *context: str) -> Principal | None:
        """The principal of a credential; a miss asks ``lookup(credential, *context)``."""
        import time

        known = self.peek(credential)
        if known is not self.MISS:
            return known
        found = self._lookup(credential, *context)
        with self._lock:
            if len(self._seen) >= self._size:
                self._seen.clear()
            self._seen[_sha(credential)] = (time.monotonic(), found)
        return found

    MISS = object()

    def peek(self, credential: str | None):
        """What the cache knows of a credential without asking the database: a Principal,
        None (known bad), or ``MISS``."""
        import time

        if not credential or len(credential) > 256:
            return None
        with self._lock:
            hit = self._seen.get(_sha(credential))
        if hit is not None and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        return self.MISS

    def forget(self, credential: str | None) -> None:
        if credential:
            with self._lock:
                self._seen.pop(_sha(credential), None)
