/* Consent banner, vanilla JS (defer). Keep < 10,000 bytes. See ../README.md */
((w, d) => {
'use strict';
const json = (id) => { try { return JSON.parse(d.getElementById(id).textContent); } catch {} };
const el = d.getElementById('pc-consent-config');
const cfg = w.PrivacyConsentConfig || json('pc-consent-config');
if (!cfg?.texts || w.__pcLoaded) return;
w.__pcLoaded = 1;
const ds = el?.dataset || {};
const lang = /^fr/i.test(d.documentElement.lang) ? 'fr' : 'en';
// app texts (lang, then en) over locale fallbacks
const T = Object.assign({}, json('pc-consent-i18n'), cfg.texts.en, cfg.texts[lang]);
const gpc = navigator.globalPrivacyControl === true;
const days = cfg.expiryDays || 182;
const preview = ds.preview === 'true';
const loc = (v) => (v && typeof v === 'object' ? v[lang] || v.en : v || '');
const all = (v) => ({ analytics: v, marketing: v, preferences: v });
let state = read(), cp, banner, dialog, fab, opener;

// Consent Mode v2 default, unless the Liquid block already pushed it
const dl = (w.dataLayer = w.dataLayer || []);
if (!w.gtag) w.gtag = function () { dl.push(arguments); };
if (!dl.some((e) => e && e[0] === 'consent' && e[1] === 'default')) {
  w.gtag('consent', 'default', { ad_storage: 'denied', analytics_storage: 'denied',
    ad_user_data: 'denied', ad_personalization: 'denied', wait_for_update: 500 });
}

function read() {
  const m = d.cookie.match(/(?:^|; )pc_consent=([^;]*)/);
  try { return m && JSON.parse(decodeURIComponent(m[1])); } catch {}
}
function valid(s) {
  return !!(s?.c && s.rev === cfg.revision && Date.now() - s.ts < days * 864e5);
}
function uuid() {
  const c = w.crypto;
  return c.randomUUID ? c.randomUUID() : '10000000-1000-4000-8000-100000000000'.replace(/[018]/g,
    (x) => (x ^ (c.getRandomValues(new Uint8Array(1))[0] & (15 >> (x / 4)))).toString(16));
}

// element builder; text only via textContent
function h(tag, attrs, kids) {
  const e = d.createElement(tag);
  for (const k in attrs) {
    const v = attrs[k];
    if (k === 'text') e.textContent = v || '';
    else if (k === 'onclick') e.onclick = v;
    else if (v) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids || []) if (c) e.append(c);
  return e;
}
const btn = (text, cls, onclick) => h('button', { type: 'button', class: cls, text, onclick });
const policy = () => cfg.policyUrl && h('a', { href: cfg.policyUrl, text: T.policy });

// gtag update; run <script type=text/plain data-consent="cat.."> once all its cats are granted
function apply(c) {
  const g = (v) => (v ? 'granted' : 'denied');
  w.gtag('consent', 'update', { analytics_storage: g(c.analytics), ad_storage: g(c.marketing),
    ad_user_data: g(c.marketing), ad_personalization: g(c.marketing) });
  d.querySelectorAll('script[type="text/plain"][data-consent]').forEach((s) => {
    if (!s.dataset.consent.split(/\s+/).every((k) => c[k])) return;
    const n = d.createElement('script');
    for (const a of s.attributes) if (a.name !== 'type') n.setAttribute(a.name, a.value);
    if (s.dataset.type) n.type = s.dataset.type;
    n.async = false;
    n.text = s.text;
    s.replaceWith(n);
  });
}

// expire cookies of refused categories ("_ga_*" = prefix), on this host and parent domains
function purge(c) {
  const host = location.hostname.split('.');
  for (const cat of cfg.categories || []) if (!cat.required && !c[cat.id]) for (const k of cat.cookies || []) {
    const p = k.name.replace(/\*$/, '');
    for (const kv of d.cookie.split('; ')) {
      const n = kv.split('=')[0];
      if (p === k.name ? n === p : n.startsWith(p)) host.forEach((_, i) => {
        d.cookie = n + '=;max-age=0;path=/' + (i ? ';domain=.' + host.slice(i).join('.') : '');
      });
    }
  }
}

function privacy(fn) {
  const S = w.Shopify;
  if (cp || !S?.loadFeatures) return fn(cp);
  S.loadFeatures([{ name: 'consent-tracking-api', version: '0.1' }], (err) => {
    cp = !err && S.customerPrivacy;
    fn(cp);
  });
}

function choose(action, v) {
  const m = !!v.marketing && !gpc;
  const c = { analytics: !!v.analytics, marketing: m, preferences: !!v.preferences, sale_of_data: m };
  state = { id: state?.id || uuid(), rev: cfg.revision, ts: Date.now(), c, gpc };
  d.cookie = 'pc_consent=' + encodeURIComponent(JSON.stringify(state)) + '; max-age=' + days * 86400 +
    '; path=/; SameSite=Lax' + (location.protocol === 'https:' ? '; Secure' : '');
  purge(c);
  apply(c);
  privacy((api) => api?.setTrackingConsent?.({ ...c }, () => {}));
  if (cfg.endpoint) {
    fetch(cfg.endpoint, { method: 'POST', keepalive: true, headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ visitor_id: state.id, action, choices: c, revision: cfg.revision,
        text_hash: cfg.textHash, language: lang, gpc, page: location.pathname }) }).catch(() => {});
  }
  const back = dialog && opener;
  if (banner) banner.remove();
  banner = null;
  closePrefs(1);
  showFab();
  (back?.isConnected ? back : fab || d.body).focus();
  d.dispatchEvent(new CustomEvent('pc:consent', { detail: c }));
}

const both = () => [btn(T.acceptAll, 'pc-p', () => choose('accept_all', all(true))),
  btn(T.rejectAll, 'pc-p', () => choose('reject_all', all(false)))];
const refuse = () => choose('close', all(false));

function showBanner() {
  if (banner) return;
  banner = h('div', { id: 'pc-banner', class: 'pc pc-' + (ds.position || 'bottom'), role: 'region',
    'aria-label': T.title }, [
    h('h2', { text: T.title }),
    h('p', { text: T.description + ' ' }, [policy()]),
    h('div', { class: 'pc-b' }, [...both(), btn(T.customize, 'pc-s', openPrefs)]),
    h('button', { type: 'button', class: 'pc-x', 'aria-label': T.close, title: T.close, text: '\u00d7',
      onclick: refuse })
  ]);
  banner.onkeydown = (e) => { if (e.key === 'Escape') refuse(); };
  d.body.prepend(banner); // first in tab order; fixed: no layout shift
}

function showFab() {
  if (fab || ds.settingsButton === 'false') return;
  fab = btn(T.settings, 'pc pc-f', openPrefs);
  d.body.append(fab);
}

function table(cat) {
  if (!(cat.cookies || []).length) return null;
  const th = (text) => h('th', { scope: 'col', text });
  const td = (text) => h('td', { text });
  return h('table', { class: 'pc-t' }, [
    h('thead', 0, [h('tr', 0, [th(T.cookie), th(T.purpose), th(T.lifetime)])]),
    h('tbody', 0, cat.cookies.map((k) => h('tr', 0, [td(k.name), td(loc(k.purpose)), td(loc(k.lifetime))])))
  ]);
}

function openPrefs(e) {
  if (e) e.preventDefault();
  if (dialog) return;
  opener = d.activeElement;
  const cur = valid(state) ? state.c : {};
  const rows = (cfg.categories || []).map((cat) => {
    const t = T[cat.id] || {}, req = cat.required, off = gpc && cat.id === 'marketing', id = 'pc-' + cat.id;
    return h('div', { class: 'pc-c' }, [
      h('label', { class: 'pc-l' }, [
        h('input', { type: 'checkbox', role: 'switch', 'data-c': cat.id, checked: req || (!off && cur[cat.id]),
          disabled: req || off, 'aria-describedby': id }),
        h('span', { text: t.title || cat.id }),
        req && h('em', { text: T.alwaysOn })
      ]),
      h('p', { id, text: t.description }),
      off && h('p', { class: 'pc-n', text: T.gpc }),
      table(cat)
    ]);
  });
  const save = () => {
    const v = {};
    box.querySelectorAll('input[data-c]').forEach((i) => { v[i.dataset.c] = i.checked; });
    choose('custom', v);
  };
  const box = h('div', { class: 'pc pc-d', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'pc-dt',
    tabindex: '-1' }, [
    h('h2', { id: 'pc-dt', text: T.settings }),
    h('p', { text: T.description + ' ' }, [policy()]),
    ...rows,
    h('div', { class: 'pc-b' }, [...both(), btn(T.save, 'pc-p', save)])
  ]);
  // modal: Tab trapped, Escape closes, focus back to opener
  box.onkeydown = (e) => {
    if (e.key === 'Escape') { e.stopPropagation(); return closePrefs(); }
    if (e.key !== 'Tab') return;
    const f = box.querySelectorAll('a[href],button,input:not([disabled])'), a = f[0], z = f[f.length - 1];
    const at = d.activeElement;
    if (e.shiftKey ? at === a || at === box : at === z) { e.preventDefault(); (e.shiftKey ? z : a).focus(); }
  };
  dialog = h('div', { class: 'pc-o' }, [box]);
  dialog.onclick = (e) => { if (e.target === dialog) closePrefs(); };
  d.body.append(dialog);
  box.focus();
}

function closePrefs(keepFocus) {
  if (!dialog) return;
  dialog.remove();
  dialog = null;
  if (!keepFocus && opener?.isConnected) opener.focus();
  opener = null;
}

d.addEventListener('click', (e) => {
  if (e.target.closest?.('a[href="#cookie-settings"],[data-cookie-settings]')) openPrefs(e);
});
w.addEventListener('hashchange', () => { if (location.hash === '#cookie-settings') openPrefs(); });
w.PrivacyConsent = { open: openPrefs, get: () => (valid(state) ? state.c : null) };

const stored = valid(state);
if (stored) apply(gpc ? { ...state.c, marketing: false } : state.c); // GPC turned on since: honour it
function start() {
  if (location.hash === '#cookie-settings') openPrefs();
  if (stored && !preview) return showFab();
  privacy((api) => {
    if (preview || !api?.shouldShowBanner || api.shouldShowBanner()) return showBanner();
    // no banner needed (region, or Shopify holds a choice): reuse Shopify's choice, else run nothing
    const v = api.currentVisitorConsent?.() || {};
    const y = (k) => v[k] === 'yes' || v[k] === true;
    if (y('analytics') || y('marketing') || y('preferences')) {
      apply({ analytics: y('analytics'), marketing: y('marketing') && !gpc, preferences: y('preferences') });
      showFab();
    }
  });
}
// after load: the banner never competes with the page's own rendering
if (d.readyState === 'complete') start(); else w.addEventListener('load', start);
})(window, document);
