"""What every browser test shares: a tab may only reach 127.0.0.1."""

from __future__ import annotations

from urllib.parse import urlsplit


def guard_network(context, blocked: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Abort (and record in ``blocked``) every request of ``context`` that does not go to 127.0.0.1."""

    def guard(route):  # type: ignore[no-untyped-def]
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
