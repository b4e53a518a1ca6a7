"""``/healthz``: is the database reachable, and Redis?"""

from __future__ import annotations

from flask import Blueprint, jsonify
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from shopify_app import db
from shopify_app.web.context import redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    checks = {"database": True, "redis": True}
    try:
        db.session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        checks["database"] = False
    try:
        redis().ping()
    except RedisError:
        checks["redis"] = False
    # Redis being down degrades (jobs wait for the sweeper); the database being down is fatal.
    return jsonify(checks), 200 if checks["database"] else 503
