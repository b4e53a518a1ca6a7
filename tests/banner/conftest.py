"""Shared fixtures for the storefront consent banner tests.

A threaded HTTP server on 127.0.0.1 serves a storefront-like page that renders a
simplified version of ``extensions/consent-banner/blocks/consent-banner.liquid``
(the Consent Mode default snippet is taken verbatim from the block, the config is
``sample-config.json``, the text fallbacks come from the locale files through the
same key mapping as the block), plus recording stand-ins for
``Shopify.loadFeatures`` / ``Shopify.customerPrivacy`` and ``gtag``, two blocked
scripts and the consent proof endpoint.

Every request that does not go to 127.0.0.1 is aborted (and recorded).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import pytest

from tests.browser import guard_network

ROOT = Path(__file__).resolve().parents[2]
EXT = ROOT / "extensions" / "consent-banner"
ASSETS = EXT / "assets"
LIQUID = EXT / "blocks" / "consent-banner.liquid"
ARTIFACTS = ROOT / "tests" / "artifacts"
ENDPOINT = "/apps/privacy/consent"
PAGE_PATH = "/products/sunglasses"


def load_sample_config() -> dict:
    return json.loads((EXT / "sample-config.json").read_text(encoding="utf-8"))


def liquid_default_snippet() -> str:
    """The inline Consent Mode v2 default <script> of the block, verbatim."""
    m = re.search(r"<script>(.*?)</script>", LIQUID.read_text(encoding="utf-8"), re.S)
    assert m, "consent-banner.liquid has no inline <script>"
    return m.group(1)


def liquid_i18n_mapping() -> dict[str, str]:
    """JS text key -> locale key, exactly as the block renders #pc-consent-i18n."""
    src = LIQUID.read_text(encoding="utf-8")
    pairs = re.findall(r'"(\w+)":\s*\{\{\s*\'consent_banner\.(\w+)\'\s*\|\s*t\s*\|\s*json\s*\}\}', src)
    return dict(pairs)


def locale(lang: str) -> dict:
    name = "en.default.json" if lang == "en" else f"{lang}.json"
    return json.loads((EXT / "locales" / name).read_text(encoding="utf-8"))


def i18n_fallbacks(lang: str) -> dict:
    strings = locale(lang)["consent_banner"]
    return {js: strings[key] for js, key in liquid_i18n_mapping().items()}


def script_json(obj) -> str:
    """JSON safe to inline inside <script> (as Shopify's json filter output is)."""
    return json.dumps(obj, ensure_ascii=False).replace("</", "<\\/")


def _noise_png(width: int = 640, height: int = 360) -> bytes:
    """High-entropy PNG hero image (Chrome ignores low-entropy images as LCP candidates)."""
    import random
    import struct
    import zlib

    rnd = random.Random(1)
    raw = b"".join(b"\x00" + rnd.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")


HERO_PNG = _noise_png()

STAND_INS = """
window.__rec = { stc: [], lf: 0, ssb: 0, gtag: [] };
window.__pageStart = performance.now();
(function () {
  var q = new URLSearchParams(location.search);
  var show = q.get('show');
  // Recording gtag: every call is logged and forwarded to dataLayer.
  window.dataLayer = window.dataLayer || [];
  window.gtag = function () {
    window.__rec.gtag.push(JSON.parse(JSON.stringify([].slice.call(arguments))));
    window.dataLayer.push(arguments);
  };
  if (q.get('lf') === '0') return;
  // Stand-in for Shopify's storefront Customer Privacy API.
  window.Shopify = {
    loadFeatures: function (features, cb) {
      window.__rec.lf++;
      window.__rec.features = features;
      var api = {
        setTrackingConsent: function (consent, done) {
          window.__rec.stc.push(consent);
          setTimeout(function () { done && done(); }, 0);
        }
      };
      // currentVisitorConsent: ?spc=analytics,marketing -> 'yes' for those, 'no' for the others; absent -> ''
      var spc = q.get('spc');
      api.currentVisitorConsent = function () {
        var v = {};
        ['analytics', 'marketing', 'preferences', 'sale_of_data'].forEach(function (k) {
          v[k] = spc === null ? '' : (spc.split(',').indexOf(k) >= 0 ? 'yes' : 'no');
        });
        return v;
      };
      if (show !== 'none') {
        api.shouldShowBanner = function () { window.__rec.ssb++; return show !== '0'; };
      }
      setTimeout(function () { window.Shopify.customerPrivacy = api; cb(null); }, 5);
    }
  };
})();
"""

BODY = """
<header><nav aria-label="Main"><a href="/">Home</a> <a href="/collections/all">Shop</a>
<a href="/products/other">Other product</a></nav></header>
<main id="main">
  <img src="/hero.png" width="640" height="360" alt="Tortoiseshell glasses on a wooden table">
  <h1>Le Petit Lunetier: handmade French eyewear, designed in Paris and built to last for years</h1>
  <p>Our frames are cut from bio-acetate and assembled by hand in the Jura. Each pair comes with a
  two-year guarantee, free adjustments in our Paris workshop and free returns within thirty days.</p>
  <div style="height:1800px"></div>
</main>
<footer>
  <a href="#cookie-settings">Cookie settings</a>
  <button type="button" data-cookie-settings>Manage cookies</button>
</footer>
<script type="text/plain" data-consent="analytics">window.__analyticsRan = (window.__analyticsRan || 0) + 1;</script>
<script type="text/plain" data-consent="marketing" src="/blocked/marketing.js"></script>
"""


def render_page(query: dict[str, str]) -> str:
    lang = query.get("lang", "fr")
    cfg = load_sample_config()
    if "rev" in query:
        cfg["revision"] = int(query["rev"])
    head = [
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">',
        "<title>Le Petit Lunetier</title>",
        f"<script>{STAND_INS}</script>",
    ]
    if query.get("mode") == "headless":
        # Headless storefront: only the server endpoint's script (config prepended), no Liquid.
        head.append('<link rel="stylesheet" href="/ext/assets/consent-banner.css">')
        head.append(f'<script defer src="/storefront/consent-banner.js?shop=demo&rev={cfg["revision"]}"></script>')
    else:
        attrs = ""
        if "position" in query:
            attrs += f' data-position="{query["position"]}"'
        if "settings_button" in query:
            attrs += f' data-settings-button="{query["settings_button"]}"'
        head += [
            f"<script>{liquid_default_snippet()}</script>",
            "" if query.get("noconfig") else
            f'<script type="application/json" id="pc-consent-config"{attrs}>{script_json(cfg)}</script>',
            f'<script type="application/json" id="pc-consent-i18n">{script_json(i18n_fallbacks("fr" if lang.startswith("fr") else "en"))}</script>',
            '<link rel="stylesheet" href="/ext/assets/consent-banner.css">',
            '<script defer src="/ext/assets/consent-banner.js"></script>',
        ]
    return (
        f'<!doctype html><html lang="{lang}"><head>{"".join(head)}</head>'
        f'<body style="margin:0;font:16px/1.5 Georgia,serif"><style>img{{max-width:100%;height:auto}}</style>'
        f'{BODY}</body></html>'
    )


@dataclass
class Recorder:
    posts: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item):
        with self.lock:
            self.posts.append(item)

    def clear(self):
        with self.lock:
            self.posts.clear()


class Handler(BaseHTTPRequestHandler):
    recorder: Recorder

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path.startswith("/ext/assets/"):
            f = ASSETS / url.path.rsplit("/", 1)[-1]
            if not f.is_file():
                return self._send(404)
            ctype = "text/css" if f.suffix == ".css" else "text/javascript"
            return self._send(200, f.read_bytes(), ctype + "; charset=utf-8")
        if url.path == "/storefront/consent-banner.js":
            cfg = load_sample_config()
            cfg["revision"] = int(query.get("rev", cfg["revision"]))
            js = f"window.PrivacyConsentConfig={script_json(cfg)};\n" + (ASSETS / "consent-banner.js").read_text("utf-8")
            return self._send(200, js.encode(), "text/javascript; charset=utf-8")
        if url.path == "/blocked/marketing.js":
            return self._send(200, b"window.__marketingRan = (window.__marketingRan || 0) + 1;", "text/javascript")
        if url.path == "/hero.png":
            return self._send(200, HERO_PNG, "image/png")
        if url.path == "/favicon.ico":
            return self._send(404)
        return self._send(200, render_page(query).encode("utf-8"))

    def do_POST(self):
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if url.path != ENDPOINT:
            return self._send(404)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"_invalid": raw.decode("utf-8", "replace")}
        self.recorder.add({"body": body, "content_type": self.headers.get("Content-Type"),
                           "cookie": self.headers.get("Cookie")})
        self._send(204)


@dataclass
class Server:
    base: str
    recorder: Recorder

    @property
    def posts(self) -> list[dict]:
        with self.recorder.lock:
            return [p["body"] for p in self.recorder.posts]

    def url(self, path: str = PAGE_PATH, **query) -> str:
        q = "&".join(f"{k}={quote(str(v))}" for k, v in query.items())
        return f"{self.base}{path}" + (f"?{q}" if q else "")


@pytest.fixture(scope="session")
def _http_server():
    recorder = Recorder()
    handler = type("BoundHandler", (Handler,), {"recorder": recorder})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", recorder)
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def server(_http_server):
    _http_server.recorder.clear()
    return _http_server


@pytest.fixture(scope="session")
def browser(chromium):
    return chromium  # the session's one browser (tests/conftest.py)


@pytest.fixture
def blocked_requests():
    return []


@pytest.fixture
def context(browser, blocked_requests):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-FR")
    ctx.set_default_timeout(5000)
    guard_network(ctx, blocked_requests)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context, blocked_requests):
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    yield p
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not blocked_requests, f"requests left 127.0.0.1: {blocked_requests}"


# ---------------------------------------------------------------- helpers


def rec(page) -> dict:
    return page.evaluate("window.__rec")


def consent_calls(page, kind: str) -> list[dict]:
    """gtag('consent', kind, {...}) calls, from dataLayer (works with or without the recording gtag)."""
    return page.evaluate(
        """(kind) => (window.dataLayer || [])
            .filter(e => e && e[0] === 'consent' && e[1] === kind)
            .map(e => JSON.parse(JSON.stringify(e[2])))""",
        kind,
    )


def stored_consent(context) -> dict | None:
    from urllib.parse import unquote

    for c in context.cookies():
        if c["name"] == "pc_consent":
            return {"cookie": c, "value": json.loads(unquote(c["value"]))}
    return None


def post_after(page, action):
    """Run ``action`` and return the JSON body of the consent POST it triggers."""
    with page.expect_response(lambda r: r.request.method == "POST" and urlparse(r.url).path == ENDPOINT) as resp:
        action()
    return json.loads(resp.value.request.post_data)


def wait_tracking_calls(page, n: int):
    page.wait_for_function("n => window.__rec.stc.length >= n", arg=n)
    return rec(page)["stc"]


def active_text(page) -> str:
    return page.evaluate("(document.activeElement && (document.activeElement.innerText || '')).trim()")


def axe_serious(page, selector: str) -> list[dict]:
    axe = ROOT / "node_modules" / "axe-core" / "axe.min.js"
    if not axe.exists():
        pytest.skip("node_modules missing: run `npm ci` to install axe-core")
    page.add_script_tag(path=str(axe))
    violations = page.evaluate(
        """async (sel) => (await axe.run({ include: [[sel]] }, { resultTypes: ['violations'] })).violations
            .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                         nodes: v.nodes.map(n => n.target.join(' ')) }))""",
        selector,
    )
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def screenshot(page, name: str):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


@pytest.fixture(scope="session")
def bt():
    """Banner test helpers (a fixture, so test modules never import conftest)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        guard_network=guard_network, rec=rec, consent_calls=consent_calls, stored_consent=stored_consent, post_after=post_after,
        wait_tracking_calls=wait_tracking_calls, active_text=active_text, axe_serious=axe_serious,
        screenshot=screenshot, sample_config=load_sample_config, i18n_fallbacks=i18n_fallbacks,
        liquid_default_snippet=liquid_default_snippet, liquid_i18n_mapping=liquid_i18n_mapping, locale=locale,
        ROOT=ROOT, EXT=EXT, ASSETS=ASSETS, LIQUID=LIQUID, PAGE_PATH=PAGE_PATH, ENDPOINT=ENDPOINT,
    )
