"""``make dev``: run web, worker and scheduler from the Procfile, with whatever is missing provided.

- Redis: the one at ``REDIS_URL`` if it answers, else a private ``redis-server``.
- Shopify: with no ``SHOPIFY_API_KEY``/``SHOPIFY_API_SECRET``, demo mode: the bundled
  Admin API double with the demo shop, and a printed URL that opens the admin as that shop.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import jwt

from devtools.redis_server import RedisServer, answers, free_port
from shopify_app.settings import DEFAULT_REDIS_URL, Settings

ROOT = Path(__file__).resolve().parent.parent
DEMO_SHOP = "demo-shop.myshopify.com"


def demo_url(settings: Settings, port: int) -> str:
    now = int(time.time())
    # A long-lived token is fine here: it is signed with the demo secret, which only the double knows.
    token = jwt.encode({"iss": f"https://{DEMO_SHOP}/admin", "dest": f"https://{DEMO_SHOP}", "aud": settings.api_key,
                        "sub": "1", "exp": now + 8 * 3600, "nbf": now - 5, "iat": now, "jti": str(now),
                        "sid": "demo"}, settings.api_secret, algorithm="HS256")
    query = urlencode({"shop": DEMO_SHOP, "host": "ZGVtbw", "embedded": "1", "id_token": token})
    return f"http://127.0.0.1:{port}/?{query}"


def main() -> int:
    env = dict(os.environ)
    # The Procfile names gunicorn, python and alembic: take them from this virtualenv.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    children: list[subprocess.Popen[bytes]] = []
    redis_url = env.get("REDIS_URL", DEFAULT_REDIS_URL)
    private_redis = None
    if not answers(redis_url):
        private_redis = RedisServer(persistent=True).start()
        env["REDIS_URL"] = private_redis.url
        print(f"Started a private Redis at {private_redis.url}")
    demo = not (env.get("SHOPIFY_API_KEY") or env.get("SHOPIFY_API_SECRET"))
    if demo:
        env["DEMO_MODE"] = "1"
        settings = Settings.from_env(env)  # generates the demo secret into instance/
        double_port = free_port()
        children.append(subprocess.Popen([sys.executable, "-m", "devtools.admin_double", "--port", str(double_port),
                                          "--api-key", settings.api_key, "--api-secret", settings.api_secret],
                                         cwd=ROOT, env=env))
        env["SHOPIFY_SHOP_URL_TEMPLATE"] = f"http://127.0.0.1:{double_port}/{{shop}}"
    settings = Settings.from_env(env)
    port = int(env.setdefault("PORT", "5000"))
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True)
    if demo:
        print("\nDemo mode (no Shopify credentials). Open the admin as the demo shop:\n")
        print(f"  {demo_url(settings, port)}\n")
    try:
        return subprocess.call([sys.executable, "-m", "honcho", "start", "web", "worker", "scheduler"], cwd=ROOT, env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            child.terminate()
        if private_redis:
            private_redis.stop()


if __name__ == "__main__":
    sys.exit(main())
