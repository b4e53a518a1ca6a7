"""The only code that talks HTTP to Shopify: token exchange, refresh, code grant, GraphQL and
the download of bulk operations' result files.

One pooled ``httpx.Client`` per process, explicit timeouts, and retries with
backoff on 429, 5xx, timeouts and GraphQL ``THROTTLED`` errors. Between calls it
honours ``extensions.cost.throttleStatus`` so a long pagination never runs the
shop's bucket dry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from shopify_app.errors import ShopifyApiError, ShopifyUnauthorizedError
from shopify_app.settings import API_VERSION, Settings

log = logging.getLogger(__name__)

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"
ACCESS_TOKEN_HEADER = "X-Shopify-Access-Token"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclasses.dataclass(frozen=True)
class OfflineToken:
    access_token: str
    scope: str
    expires_at: dt.datetime | None
    refresh_token: str | None
    refresh_token_expires_at: dt.datetime | None

    @classmethod
    def from_json(cls, body: dict[str, Any], *, now: dt.datetime | None = None) -> OfflineToken:
        current = now or dt.datetime.now(dt.UTC)

        def at(seconds: Any) -> dt.datetime | None:
            return current + dt.timedelta(seconds=int(seconds)) if seconds else None

        if not isinstance(body.get("access_token"), str):
            raise ShopifyApiError("Token endpoint answered without an access_token.")
        return cls(
            access_token=body["access_token"],
            scope=str(body.get("scope", "")),
            expires_at=at(body.get("expires_in")),
            refresh_token=body.get("refresh_token"),
            refresh_token_expires_at=at(body.get("refresh_token_expires_in")),
        )


@dataclasses.dataclass(frozen=True)
class GraphQLResult:
    """``data`` may be partial: ``errors`` then say what could not be read (e.g. ACCESS_DENIED)."""

    data: dict[str, Any]
    errors: tuple[dict[str, Any], ...] = ()
    cost: dict[str, Any] | None = None


class IncompletePagesError(ShopifyApiError):
    """A connection's pages stopped before its end: a page that should follow came back without the connection
    (its owner deleted meanwhile, say, or access to it refused), or the page before it gave no cursor to it.

    The pages read before it are right; the rest could not be read.
    """


@dataclasses.dataclass
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.25
    max_delay: float = 10.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay) * (0.5 + random.random() / 2)


class ShopifyAdminClient:
    """Calls to one app's shops. Thread-safe; share one per process."""

    def __init__(self, settings: Settings, *, timeout: float = 10.0, retry: RetryPolicy | None = None) -> None:
        self._settings = settings
        self._retry = retry or RetryPolicy()
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            headers={"User-Agent": "privacy-consent-app/1.0", "Accept": "application/json"},
        )
        self._buckets: dict[str, float] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> ShopifyAdminClient:
        return cls(settings, timeout=settings.shopify_timeout_seconds,
                   retry=RetryPolicy(base_delay=settings.shopify_retry_base_delay))

    def close(self) -> None:
        self._http.close()

    # -- tokens -----------------------------------------------------------------

    def exchange_session_token(self, shop: str, session_token: str) -> OfflineToken:
        """Token exchange for an expiring offline token (``expiring=1``)."""
        return self._token_request(shop, {
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "subject_token": session_token,
            "subject_token_type": ID_TOKEN_TYPE,
            "requested_token_type": OFFLINE_TOKEN_TYPE,
            "expiring": "1",
        })

    def refresh_offline_token(self, shop: str, refresh_token: str) -> OfflineToken:
        return self._token_request(shop, {"grant_type": "refresh_token", "refresh_token": refresh_token})

    def exchange_authorization_code(self, shop: str, code: str) -> OfflineToken:
        return self._token_request(shop, {"code": code, "expiring": "1"})

    def _token_request(self, shop: str, fields: dict[str, str]) -> OfflineToken:
        url = f"{self._settings.shop_base_url(shop)}/admin/oauth/access_token"
        body = {"client_id": self._settings.api_key, "client_secret": self._settings.api_secret, **fields}
        response = self._send(lambda: self._http.post(url, json=body))
        if response.status_code != 200:
            raise ShopifyApiError(f"Token request for {shop} failed with HTTP {response.status_code}.")
        return OfflineToken.from_json(response.json())

    # -- GraphQL ----------------------------------------------------------------

    def graphql(self, shop: str, access_token: str, query: str, variables: dict[str, Any] | None = None) -> GraphQLResult:
        """Run one document; retry throttling and server errors; raise on errors that leave no data."""
        url = f"{self._settings.shop_base_url(shop)}/admin/api/{API_VERSION}/graphql.json"
        headers = {ACCESS_TOKEN_HEADER: access_token, "Content-Type": "application/json"}
        payload = {"query": query, "variables": variables or {}}
        for attempt in range(1, self._retry.max_attempts + 1):
            self._wait_for_bucket(shop)
            response = self._send(lambda: self._http.post(url, json=payload, headers=headers))
            if response.status_code == 401:
                raise ShopifyUnauthorizedError(f"Shopify refused the access token of {shop} (HTTP 401).")
            if response.status_code != 200:
                raise ShopifyApiError(f"GraphQL call to {shop} failed with HTTP {response.status_code}.")
            body = response.json()
            cost = (body.get("extensions") or {}).get("cost")
            self._remember_bucket(shop, cost)
            errors = tuple(body.get("errors") or ())
            if any(_error_code(e) == "THROTTLED" for e in errors) and attempt < self._retry.max_attempts:
                self._retry.sleep(self._throttle_delay(cost, attempt))
                continue
            if errors and not body.get("data"):
                raise ShopifyApiError("GraphQL error: " + "; ".join(str(e.get("message")) for e in errors))
            return GraphQLResult(data=body.get("data") or {}, errors=errors, cost=cost)
        raise ShopifyApiError(f"GraphQL call to {shop} still throttled after {self._retry.max_attempts} attempts.")

    def pages(
        self, shop: str, access_token: str, query: str, variables: dict[str, Any], path: tuple[str, ...],
        *, after: str | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], GraphQLResult]]:
        """Each page of the connection at ``path`` (from ``after`` on), following ``pageInfo.endCursor``: its nodes
        and the answer they came in, whose ``errors`` say what of the page could not be read.

        No page if the first answer has no connection and no error (its owner does not exist). A page that cannot
        be read raises :class:`IncompletePagesError`: stopping there silently would pass a part for the whole.
        """
        cursor = after
        where = ".".join(path)
        while True:
            result = self.graphql(shop, access_token, query, {**variables, "after": cursor})
            connection: Any = result.data
            for key in path:
                connection = (connection or {}).get(key)
            if connection is None:
                if cursor is None and not result.errors:
                    return
                problems = "; ".join(f"{_error_code(e) or 'ERROR'}: {e.get('message', '')}" for e in result.errors)
                page = "the first page" if cursor is None else "the next page"
                raise IncompletePagesError(f"Shopify answered {page} of {where} without it"
                                           + (f" ({problems})." if problems else "."))
            yield list(connection.get("nodes") or ()), result
            page_info = connection.get("pageInfo") or {}
            if not page_info.get("hasNextPage"):
                return
            cursor = page_info.get("endCursor")
            if not cursor:  # going on without one would start again from the first page
                raise IncompletePagesError(f"Shopify said more of {where} follows, but gave no cursor to it.")

    def paginate(
        self, shop: str, access_token: str, query: str, variables: dict[str, Any], path: tuple[str, ...],
        *, after: str | None = None,
    ) -> Iterator[tuple[dict[str, Any], GraphQLResult]]:
        """Every node of the connection at ``path`` (from ``after`` on), with its page's answer (see :meth:`pages`)."""
        for nodes, result in self.pages(shop, access_token, query, variables, path, after=after):
            for node in nodes:
                yield node, result

    def download(self, url: str) -> str:
        """GET a bulk operation's result file, with the same retries as the API calls.

        The URL is a signed link to Shopify's storage, valid for seven days: it needs no
        credentials, so the access token is not sent (it must not leave Shopify's API).
        """
        if httpx.URL(url).scheme not in ("https", "http"):
            raise ShopifyApiError("Shopify gave a result URL that is not HTTP(S).")
        response = self._send(lambda: self._http.get(url, headers={"Accept": "application/jsonl, */*"}))
        if response.status_code != 200:
            raise ShopifyApiError(f"Result file download failed with HTTP {response.status_code}.")
        return response.text

    # -- transport --------------------------------------------------------------

    def _send(self, request: Callable[[], httpx.Response]) -> httpx.Response:
        last_error: str = ""
        for attempt in range(1, self._retry.max_attempts + 1):
            try:
                response = request()
            except httpx.TransportError as exc:  # timeouts, refused connections, resets
                last_error = type(exc).__name__
                log.warning("Shopify request failed (%s), attempt %d", last_error, attempt)
            else:
                if response.status_code not in RETRYABLE_STATUS:
                    return response
                last_error = f"HTTP {response.status_code}"
                log.warning("Shopify answered %s, attempt %d", last_error, attempt)
                if attempt < self._retry.max_attempts:
                    self._retry.sleep(self._retry.delay(attempt, _retry_after(response)))
                continue
            if attempt < self._retry.max_attempts:
                self._retry.sleep(self._retry.delay(attempt))
        raise ShopifyApiError(f"Shopify unavailable after {self._retry.max_attempts} attempts ({last_error}).")

    def _throttle_delay(self, cost: dict[str, Any] | None, attempt: int) -> float:
        status = (cost or {}).get("throttleStatus") or {}
        try:
            missing = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])  # type: ignore[index]
            return self._retry.delay(attempt, max(missing, 0.0) / float(status["restoreRate"]) + 0.05)
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            return self._retry.delay(attempt)

    def _remember_bucket(self, shop: str, cost: dict[str, Any] | None) -> None:
        status = (cost or {}).get("throttleStatus") or {}
        available, restore = status.get("currentlyAvailable"), status.get("restoreRate")
        requested = (cost or {}).get("requestedQueryCost")
        if isinstance(available, (int, float)) and isinstance(restore, (int, float)) and restore > 0:
            with self._lock:
                # The next call is most often the next page of the same query: wait until the
                # bucket holds what this one asked for, so it is not sent only to be throttled.
                needed = float(requested) if isinstance(requested, (int, float)) else 0.0
                wait = max(needed - float(available), 0.0) / float(restore)
                self._buckets[shop] = time.monotonic() + wait

    def _wait_for_bucket(self, shop: str) -> None:
        with self._lock:
            ready_at = self._buckets.get(shop, 0.0)
        pause = ready_at - time.monotonic()
        if pause > 0:
            self._retry.sleep(min(pause, self._retry.max_delay))


def _error_code(error: dict[str, Any]) -> str | None:
    return (error.get("extensions") or {}).get("code")


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None
