"""Single-use ``state`` values for the authorization-code grant (non-embedded installs)."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import update
from sqlalchemy.orm import Session

from shopify_app import db
from shopify_app.models import OAuthState, utcnow

STATE_LIFETIME = dt.timedelta(minutes=10)


def create_state(session: Session, shop_domain: str) -> str:
    state = secrets.token_urlsafe(32)
    session.add(OAuthState(state=state, shop_domain=shop_domain))
    session.commit()
    return state


def consume_state(session: Session, state: str, shop_domain: str) -> bool:
    """True once for a state issued to this shop less than 10 minutes ago; False ever after."""
    now = utcnow()
    db.begin_write(session)
    result = session.execute(
        update(OAuthState)
        .where(OAuthState.state == state, OAuthState.shop_domain == shop_domain, OAuthState.used_at.is_(None),
               OAuthState.created_at > now - STATE_LIFETIME)
        .values(used_at=now)
    )
    session.commit()
    return result.rowcount == 1
