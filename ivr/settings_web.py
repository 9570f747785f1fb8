"""Settings of the web server (``IVR_HTTP__*``) and of its logins (``IVR_AUTH__*``); loaded as
sections of :class:`ivr.settings.Settings`."""

from __future__ import annotations

from pydantic import BaseModel, Field, IPvAnyNetwork, model_validator


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8080
    public_base_url: str = "http://127.0.0.1:8080"
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (IPs or CIDRs, as a JSON
    # list in IVR_HTTP__TRUSTED_PROXIES). Empty: nobody's, every per-IP limit uses the peer address.
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)
    # Flood guard, before any routing or body parsing: requests per second one client address may
    # send, and at once; past it the answer is 429 with Retry-After (0 turns it off). /health,
    # /ready and /metrics have a bucket of their own, so a flood does not blind the monitoring.
    flood_rate: float = Field(default=100.0, ge=0)
    flood_burst: int = Field(default=300, ge=1)


class AuthSettings(BaseModel):
    token_ttl_hours: float = 12.0
    # argon2id cost (OWASP-recommended defaults); tests lower them to stay fast.
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    # Hashing runs in its own thread pool (never on the event loop): this many workers, and at most
    # this many hashes running or waiting; past that a login is answered 503 with Retry-After.
    hash_workers: int = Field(default=2, ge=1, le=32)
    hash_max_pending: int = Field(default=16, ge=1, le=1024)
    # Login throttling (per account and per client IP): after a failure wait delay*2^(n-1) seconds
    # (capped), after max_failures a lock of lock_minutes, doubling with each further lock (capped).
    login_max_failures_account: int = Field(default=5, ge=1)
    login_max_failures_address: int = Field(default=20, ge=1)
    login_free_failures_address: int = Field(default=5, ge=0)  # an address's first failures cause no delay
    login_delay_seconds: float = Field(default=1.0, ge=0)
    login_max_delay_seconds: float = Field(default=30.0, ge=0)
    login_lock_minutes: float = Field(default=15.0, gt=0)
    login_max_lock_minutes: float = Field(default=24 * 60.0, gt=0)
    login_forget_minutes: float = Field(default=60.0, gt=0)  # a record lives this long after its last block
    login_throttle_max_entries: int = Field(default=10_000, ge=10)  # memory bound of each throttle map

    @model_validator(mode="after")
    def _pool_fits(self) -> AuthSettings:
        if self.hash_max_pending < self.hash_workers:
            raise ValueError("auth.hash_max_pending must be at least auth.hash_workers")
        return self
