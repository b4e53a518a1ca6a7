"""Out-of-process controls of the double: ``/_double/<action>`` (JSON in, JSON out).

=====================================  =========================================================
``GET  /_double/health``               ``{"ok": true, "shop_url_template": ...}``
``POST /_double/fail_next``            ``{"kind", "times"=1, "retry_after"=1.0, "delay"=0,
                                       "endpoint"="graphql"|"token"|"download"}``
``POST /_double/fail_next_bulk``       ``{"kind", "times"=1}``: the next bulk operations end
                                       badly (kinds in :data:`.bulk.BULK_FAILURE_KINDS`)
``GET  /_double/bulk_operations``      ``?shop=...`` -> every bulk operation, as
                                       ``bulkOperation`` shows it
``POST /_double/bulk_timing``          ``{"queued_seconds"?, "objects_per_second"?,
                                       "min_running_seconds"?}``
``POST /_double/expire_bulk_files``    ``{"shop"}``: result URLs answer 403, as after 7 days
``POST /_double/seed``                 ``{"shop", "customers": n, "orders_each": m}`` or
                                       ``{"shop", "demo": true}`` -> ``{"shop", "customer_ids"}``
``GET  /_double/requests``             every API request received
``GET  /_double/mutations``            ``[{"shop", "field", "variables"}]``
``GET  /_double/validation_errors``    rejected documents
``GET  /_double/token_grants``         ``[{"shop", "grant", "expiring"}]``
``POST /_double/latency``              ``{"seconds": 0.05}``
``POST /_double/authorization_code``   ``{"shop"}`` -> ``{"code"}``
``POST /_double/access_token``         ``{"shop", "expiring"=false}`` -> ``{"access_token"}``
``POST /_double/expire_access_tokens`` ``{"shop"}``
``POST /_double/scopes``               ``{"shop", "scopes": [...]}``
``POST /_double/protected_data``       ``{"shop", "level"?, "name"?, "email"?, "phone"?,
                                       "address"?}``
``POST /_double/app_embed``            ``{"shop", "enabled", "handle"="consent-banner"}``
``GET  /_double/customer``             ``?shop=...&id=...`` -> stored customer
``POST /_double/reset_records``        clears requests/mutations/validation errors
=====================================  =========================================================
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from .seed import DEMO_SHOP

if TYPE_CHECKING:
    from .server import AdminApiDouble

__all__ = ["handle_control"]


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                    mimetype="application/json")


def handle_control(double: AdminApiDouble, action: str, request: Request) -> Response:
    params: dict[str, Any] = dict(request.args)
    if request.method == "POST":
        body = request.get_json(silent=True, force=True)
        if isinstance(body, dict):
            params.update(body)
    shop = str(params.get("shop") or DEMO_SHOP)
    try:
        return _json(_dispatch(double, action, params, shop))
    except KeyError as exc:
        return _json({"error": f"unknown action or missing parameter: {exc}"}, 404)
    except (ValueError, TypeError) as exc:
        return _json({"error": str(exc)}, 400)


def _dispatch(double: AdminApiDouble, action: str, p: dict[str, Any], shop: str) -> Any:
    if action == "health":
        return {"ok": True, "shop_url_template": double.shop_url_template}
    if action == "fail_next":
        double.fail_next(str(p["kind"]), int(p.get("times", 1)),
                         retry_after=float(p.get("retry_after", 1.0)),
                         delay=float(p.get("delay", 0.0)),
                         endpoint=str(p.get("endpoint", "graphql")))
        return {"ok": True}
    if action == "seed":
        if p.get("demo"):
            double.seed_demo_shop(shop)
            return {"shop": shop, "customer_ids": [c["id"] for c in double.customers(shop)]}
        created = double.seed_customers(shop, int(p.get("customers", 0)),
                                        int(p.get("orders_each", 0)))
        return {"shop": shop, "customer_ids": [c["id"] for c in created]}
    if action == "fail_next_bulk":
        double.fail_next_bulk_operation(str(p["kind"]), int(p.get("times", 1)))
        return {"ok": True}
    if action == "bulk_operations":
        return double.bulk.operations(shop)
    if action == "bulk_timing":
        for name in ("queued_seconds", "objects_per_second", "min_running_seconds"):
            if name in p:
                setattr(double.bulk, name, float(p[name]))
        return {name: getattr(double.bulk, name)
                for name in ("queued_seconds", "objects_per_second", "min_running_seconds")}
    if action == "expire_bulk_files":
        double.bulk.expire_files(shop)
        return {"ok": True}
    if action == "requests":
        return double.requests
    if action == "mutations":
        return [record._asdict() for record in double.mutations]
    if action == "validation_errors":
        return double.validation_errors
    if action == "token_grants":
        return double.token_grants
    if action == "latency":
        double.latency = float(p.get("seconds", p.get("latency", 0.0)))
        return {"latency": double.latency}
    if action == "authorization_code":
        return {"code": double.issue_authorization_code(shop)}
    if action == "access_token":
        return {"access_token": double.issue_access_token(shop,
                                                          expiring=bool(p.get("expiring")))}
    if action == "expire_access_tokens":
        double.expire_access_tokens(shop)
        return {"ok": True}
    if action == "scopes":
        double.set_scopes(shop, p["scopes"])
        return {"scopes": double.scopes(shop)}
    if action == "protected_data":
        double.set_protected_data_access(
            shop, p.get("level"), **{k: bool(p[k]) for k in ("name", "email", "phone", "address")
                                     if k in p})
        return {"ok": True}
    if action == "app_embed":
        double.set_app_embed(shop, bool(p["enabled"]), str(p.get("handle", "consent-banner")))
        return {"ok": True}
    if action == "customer":
        return double.customer(shop, str(p["id"]))
    if action == "reset_records":
        double.reset_records()
        return {"ok": True}
    raise KeyError(action)
