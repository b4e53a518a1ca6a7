"""Lighthouse (mobile) on a product page: what does each consent banner add to LCP and TBT?

    .venv/bin/python bench/banner_lcp.py [--runs 5]

Installs its own npm tools in bench/banner_lcp/ on first use (Lighthouse, vanilla-cookieconsent,
osano's cookieconsent), serves four variants of the same product page gzipped from 127.0.0.1 —
no banner, ours (as the app embed block renders it), vanilla-cookieconsent 3.1 and osano 3.1 —
runs Lighthouse against Debian's /usr/bin/chromium, and writes the medians to bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import zlib
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import readme  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TOOLS = Path(__file__).resolve().parent / "banner_lcp"
EXT = ROOT / "extensions" / "consent-banner"
BEGIN, END = "<!-- banner:begin -->", "<!-- banner:end -->"
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-background-networking " \
               "--disable-component-update --disable-sync --no-first-run"

PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Solaires Riviera – Le Petit Lunetier</title>
{head}
<style>body{{font:16px/1.5 Helvetica,Arial,sans-serif;margin:0;color:#222}}header{{padding:12px 16px;border-bottom:1px solid #eee}}
main{{max-width:960px;margin:auto;padding:16px}}img.hero{{width:100%;height:auto;aspect-ratio:1/1;display:block}}
h1{{font-size:1.6rem}}.price{{font-size:1.3rem;font-weight:bold}}button.buy{{padding:12px 24px;background:#111;color:#fff;border:0}}</style>
</head><body>
<header><strong>Le Petit Lunetier</strong> · Optique · Solaires · Accessoires</header>
<main>
<img class="hero" src="/hero.png" width="800" height="800" alt="Solaires Riviera, monture or, verres G15">
<h1>Solaires Riviera</h1><p class="price">145,00 €</p>
<p>Monture en métal doré, verres minéraux G15 polarisés, protection UV400. Livrées avec étui rigide en cuir
et lingette microfibre. Fabriquées en France.</p>
<button class="buy">Ajouter au panier</button>
{body}
</main></body></html>"""


def hero_png(size: int = 800) -> bytes:
    """A gradient PNG of realistic weight (the product photo, and the LCP element)."""
    rows = b"".join(b"\x00" + bytes(v for x in range(size) for v in (x * 255 // size, y * 255 // size, ((x >> 3) ^ (y >> 3)) & 255))
                    for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")


def variants() -> dict[str, dict[str, str]]:
    config = json.loads((EXT / "sample-config.json").read_text())
    block = (EXT / "blocks" / "consent-banner.liquid").read_text()
    consent_default = block[block.index("<script>"):block.index("</script>") + len("</script>")]
    vcc_config = ("CookieConsent.run({categories:{necessary:{enabled:true,readOnly:true},analytics:{}},"
                  "language:{default:'fr',translations:{fr:{consentModal:{title:'Cookies',description:"
                  "'Nous utilisons des cookies.',acceptAllBtn:'Tout accepter',acceptNecessaryBtn:'Tout refuser',"
                  "showPreferencesBtn:'Personnaliser'},preferencesModal:{title:'Préférences',sections:[]}}}}});")
    return {
        "none": {"head": "", "body": ""},
        "ours": {
            "head": consent_default + '<script type="application/json" id="pc-consent-config">'
                    + json.dumps(config) + "</script>"
                    + '<link rel="stylesheet" href="/ours/consent-banner.css">'
                    + '<script src="/ours/consent-banner.js" defer></script>',
            "body": "",
        },
        # The other two as their documentation installs them: stylesheet and script in <head>.
        "vanilla-cookieconsent 3.1": {
            "head": '<link rel="stylesheet" href="/vcc/cookieconsent.css"><script src="/vcc/cookieconsent.umd.js">'
                    '</script>',
            "body": f"<script>{vcc_config}</script>",
        },
        "osano cookieconsent 3.1": {
            "head": '<link rel="stylesheet" href="/osano/cookieconsent.min.css">'
                    '<script src="/osano/cookieconsent.min.js"></script>',
            "body": '<script>window.cookieconsent.initialise({type:"opt-in",content:{message:'
                    '"Nous utilisons des cookies.",allow:"Tout accepter",deny:"Tout refuser"}});</script>',
        },
    }


def build_site(directory: Path) -> dict[str, str]:
    (directory / "hero.png").write_bytes(hero_png())
    for name, source in {"ours": EXT / "assets", "vcc": TOOLS / "node_modules/vanilla-cookieconsent/dist",
                         "osano": TOOLS / "node_modules/cookieconsent/build"}.items():
        (directory / name).mkdir()
        for file in source.iterdir():
            if file.suffix in (".js", ".css"):
                (directory / name / file.name).write_bytes(file.read_bytes())
    pages = {}
    for index, (label, parts) in enumerate(variants().items()):
        (directory / f"page{index}.html").write_text(PAGE.format(**parts))
        pages[label] = f"page{index}.html"
    return pages


class GzipHandler(SimpleHTTPRequestHandler):
    """Static files, gzipped like a CDN would serve them."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        compress = path.suffix in (".html", ".js", ".css") and "gzip" in self.headers.get("Accept-Encoding", "")
        body = gzip.compress(data, 6) if compress else data
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if compress:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        self.wfile.write(body)


def lighthouse(url: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(["node", str(TOOLS / "node_modules/lighthouse/cli/index.js"), url, "--quiet",
                        "--only-categories=performance", "--output=json", f"--output-path={out.name}",
                        f"--chrome-flags={CHROME_FLAGS}"], check=True, env={**os.environ, "CHROME_PATH":
                                                                             "/usr/bin/chromium"})
        report = json.loads(Path(out.name).read_text())
    audits = report["audits"]
    return {"lcp": audits["largest-contentful-paint"]["numericValue"],
            "tbt": audits["total-blocking-time"]["numericValue"],
            "cls": audits["cumulative-layout-shift"]["numericValue"],
            "score": report["categories"]["performance"]["score"] * 100}


def gzip_size(paths: list[Path]) -> int:
    return sum(len(gzip.compress(p.read_bytes(), 9)) for p in paths)


def write_readme(rows: list[str], runs: int) -> None:
    section = "\n".join([
        BEGIN, "## Consent banner: Lighthouse on a product page", "",
        f"Command: `.venv/bin/python bench/banner_lcp.py --runs {runs}` · {dt.date.today()} · "
        f"{readme.machine()} · Lighthouse 13.5 (mobile, simulated throttling) "
        "on Debian's Chromium · each page served gzipped from 127.0.0.1 · medians of the runs.", "",
        "| banner | JS+CSS gzip | LCP ms | Δ LCP vs none | TBT ms | CLS | score | Δ score |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |", *rows, "",
        "Ours is the app embed block as rendered (Consent Mode default and configuration inline in the page, "
        "`defer` script, one stylesheet). The banner is a fixed overlay, so it shifts nothing (CLS 0), and the "
        "product photo stays the LCP element.", END])
    readme.write_section(BEGIN, END, section)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not (TOOLS / "node_modules" / "lighthouse").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=TOOLS, check=True)
    sizes = {"none": 0, "ours": gzip_size([EXT / "assets/consent-banner.js", EXT / "assets/consent-banner.css"]),
             "vanilla-cookieconsent 3.1": gzip_size([TOOLS / "node_modules/vanilla-cookieconsent/dist/cookieconsent.umd.js",
                                                    TOOLS / "node_modules/vanilla-cookieconsent/dist/cookieconsent.css"]),
             "osano cookieconsent 3.1": gzip_size([TOOLS / "node_modules/cookieconsent/build/cookieconsent.min.js",
                                                  TOOLS / "node_modules/cookieconsent/build/cookieconsent.min.css"])}
    with tempfile.TemporaryDirectory() as site:
        pages = build_site(Path(site))
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(GzipHandler, directory=site))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        results: dict[str, dict[str, float]] = {}
        for label, page in pages.items():
            samples = [lighthouse(f"http://127.0.0.1:{server.server_port}/{page}") for _ in range(args.runs)]
            results[label] = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
            print(label, results[label], flush=True)
        server.shutdown()
    base = results["none"]
    rows = [f"| {label} | {sizes[label] / 1024:.1f} KB | {r['lcp']:.0f} | {r['lcp'] - base['lcp']:+.0f} | "
            f"{r['tbt']:.0f} | {r['cls']:.3f} | {r['score']:.0f} | {r['score'] - base['score']:+.0f} |"
            for label, r in results.items()]
    write_readme(rows, args.runs)
    print("\n".join(rows))
    print(platform.platform())


if __name__ == "__main__":
    main()
