"""Signing in, for the JSON API and the web form alike: throttle, check, audit.

Order matters: a throttled attempt is refused before the password is checked (no hashing spent on
it); the check itself runs in the hashing pool; every failure and every lock is written to the
audit log with the client's address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from api.security import AuditLog, UserService
from api.throttle import Block, BlockKind, FailureThrottle, ThrottlePolicy
from ivr.settings import AuthSettings
from ivr.web.auth import AuthError, User

log = logging.getLogger(__name__)


class LoginThrottled(Exception):
    """Refused without a check: this account or address must wait (``block.retry_after`` seconds)."""

    def __init__(self, block: Block, scope: str) -> None:
        super().__init__(throttled_message(block, scope))
        self.block = block
        self.scope = scope  # "account" or "address"


def throttled_message(block: Block, scope: str) -> str:
    minutes = max(1, round(block.retry_after / 60))
    if block.kind is BlockKind.LOCKED:
        who = "this account" if scope == "account" else "your network address"
        return (f"Too many failed sign-ins: {who} is locked for about {minutes} minute"
                f"{'s' if minutes != 1 else ''}. Try again later.")
    return f"Please wait {block.retry_after_header} seconds before trying again."


@dataclass(frozen=True, slots=True)
class LoginPolicies:
    account: ThrottlePolicy
    address: ThrottlePolicy

    @classmethod
    def from_settings(cls, s: AuthSettings) -> LoginPolicies:
        def policy(max_failures: int, free_failures: int) -> ThrottlePolicy:
            return ThrottlePolicy(
                max_failures=max_failures, free_failures=free_failures, delay_seconds=s.login_delay_seconds,
                max_delay_seconds=s.login_max_delay_seconds, lock_seconds=s.login_lock_minutes * 60,
                max_lock_seconds=s.login_max_lock_minutes * 60, forget_seconds=s.login_forget_minutes * 60,
                max_entries=s.login_throttle_max_entries)

        return cls(account=policy(s.login_max_failures_account, 0),
                   address=policy(s.login_max_failures_address, s.login_free_failures_address))


class LoginGate:
    def __init__(self, users: UserService, audit: AuditLog, *, accounts: FailureThrottle,
                 addresses: FailureThrottle) -> None:
        self._users = users
        self._audit = audit
        self._accounts = accounts
        self._addresses = addresses

    @classmethod
    def create(cls, users: UserService, audit: AuditLog, policies: LoginPolicies) -> LoginGate:
        return cls(users, audit, accounts=FailureThrottle(policies.account),
                   addresses=FailureThrottle(policies.address))

    def address_block(self, client_ip: str) -> Block | None:
        """The address's current block, if any (the HTTP flood guard refuses it before routing)."""
        return self._addresses.blocked(client_ip)

    async def sign_in(self, username: str, password: str, client_ip: str) -> tuple[User, str]:
        """Raises :class:`LoginThrottled`, :class:`AuthError` or ``HashingBusy``."""
        account = _account_key(username)
        for throttle, key, scope in ((self._accounts, account, "account"), (self._addresses, client_ip, "address")):
            block = throttle.blocked(key)
            if block is not None:
                raise LoginThrottled(block, scope)
        try:
            user, token = await self._users.login(username, password)
        except AuthError:
            await self._failed(username, account, client_ip)
            raise
        self._accounts.clear(account)
        await self._audit.record_as(user.username, "auth.login", user.username, {"ip": client_ip})
        return user, token

    async def _failed(self, username: str, account: str, client_ip: str) -> None:
        by_account = self._accounts.failed(account)
        by_address = self._addresses.failed(client_ip)
        target = username[:64]
        await self._audit.record_as(target, "auth.login_failed", target,
                                    {"ip": client_ip, "failures": by_account.failures})
        for failure, scope, key in ((by_account, "account", target), (by_address, "address", client_ip)):
            if failure.locked_for is not None:
                log.warning("sign-in locked", extra={"scope": scope, "seconds": failure.locked_for})
                await self._audit.record_as(target, "auth.locked", key,
                                            {"scope": scope, "ip": client_ip, "seconds": failure.locked_for})


def _account_key(username: str) -> str:
    # "Ana" and "ana" share one counter: case variants must not multiply an attacker's budget.
    return username.casefold()
