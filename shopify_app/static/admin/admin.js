/*
 * The privacy desk's script: session tokens, links between pages, JSON forms, reports, job progress.
 *
 * Session token (every write, every API call): `Authorization: Bearer <token>`, never a cookie.
 *   - Inside Shopify admin, App Bridge is loaded and `await shopify.idToken()` gives a fresh token
 *     (App Bridge would also add it to same-origin fetch calls on its own).
 *   - Otherwise (App Bridge not loaded: tests, or the CDN unreachable), the `id_token` of this page's
 *     own URL is used. It is valid for about a minute after the page was loaded.
 * Links marked `data-nav` and filter forms marked `data-nav-form` get a fresh `id_token` added when
 * used; without this script the server sends the browser to the bounce page instead.
 * Nothing is stored in the browser: no cookies, no localStorage, no sessionStorage.
 */
(function () {
  'use strict';

  var POLL_MS = 1500;
  var params = new URLSearchParams(window.location.search);
  var locale = params.get('locale') || '';

  function sessionToken() {
    if (window.shopify && typeof window.shopify.idToken === 'function') {
      return Promise.resolve(window.shopify.idToken()).catch(function () { return params.get('id_token') || ''; });
    }
    return Promise.resolve(params.get('id_token') || '');
  }

  function apiUrl(path) {
    var url = new URL(path, window.location.origin);
    if (locale) url.searchParams.set('locale', locale);
    return url.toString();
  }

  function api(path, options) {
    options = options || {};
    return sessionToken().then(function (token) {
      var headers = Object.assign({ Accept: 'application/json' }, options.headers || {});
      if (token) headers.Authorization = 'Bearer ' + token;
      return fetch(apiUrl(path), Object.assign({}, options, { headers: headers, credentials: 'omit', cache: 'no-store' }));
    });
  }

  function navigate(href) {
    return sessionToken().then(function (token) {
      var url = new URL(href, window.location.href);
      if (token) url.searchParams.set('id_token', token);
      window.location.assign(url.toString());
    });
  }

  // -- messages ------------------------------------------------------------------------------

  function flash(text) {
    var status = document.getElementById('flash');
    if (status) status.textContent = text || '';
  }

  function alertMessage(text) {
    var region = document.getElementById('alert');
    if (region) region.textContent = text || '';
  }

  function clearErrors(form) {
    form.querySelectorAll('[data-error-for]').forEach(function (el) { el.textContent = ''; el.hidden = true; });
    form.querySelectorAll('[aria-invalid]').forEach(function (el) { el.removeAttribute('aria-invalid'); });
    alertMessage('');
  }

  function showErrors(form, fields, summary) {
    var first = null;
    Object.keys(fields).forEach(function (name) {
      var slot = form.querySelector('[data-error-for="' + CSS.escape(name) + '"]');
      if (slot) { slot.textContent = fields[name]; slot.hidden = false; }
      var input = form.elements.namedItem(name);
      if (input && input.setAttribute) {
        input.setAttribute('aria-invalid', 'true');
        if (!first) first = input;
      }
    });
    alertMessage(summary || '');
    if (first && first.focus) first.focus();
  }

  function setBusy(button, busy) {
    if (!button) return;
    if (busy) {
      button.dataset.label = button.textContent;
      if (button.dataset.busyLabel) button.textContent = button.dataset.busyLabel;
      button.setAttribute('aria-busy', 'true');
      button.disabled = true;
    } else {
      if (button.dataset.label) button.textContent = button.dataset.label;
      button.removeAttribute('aria-busy');
      button.disabled = false;
    }
  }

  function errorText(response, body) {
    return (body && body.error) || (response.status + ' ' + response.statusText);
  }

  // -- refreshing the page's content without a reload ------------------------------------------

  function refreshPage(message, focusHeading) {
    return sessionToken().then(function (token) {
      var url = new URL(window.location.href);
      if (token) url.searchParams.set('id_token', token);
      return fetch(url.toString(), { credentials: 'omit', cache: 'no-store' });
    }).then(function (response) {
      if (!response.ok) throw new Error(response.status + ' ' + response.statusText);
      return response.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, 'text/html');
      var fresh = doc.getElementById('page');
      var current = document.getElementById('page');
      if (!fresh || !current) return;
      current.replaceWith(document.adoptNode(fresh));
      document.title = doc.title;
      if (message) flash(message);
      if (focusHeading) {
        var heading = document.querySelector('#page h1');
        if (heading) { heading.tabIndex = -1; heading.focus(); }
      }
      startPolling();
    });
  }

  // -- JSON forms and action buttons ------------------------------------------------------------

  function formData(form) {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && !el.disabled && el.type !== 'submit') data[el.name] = el.value;
    });
    return data;
  }

  function submitJson(form) {
    clearErrors(form);
    flash('');
    var button = form.querySelector('[type="submit"]');
    setBusy(button, true);
    return api(form.dataset.api, {
      method: form.dataset.method || 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(formData(form))
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.ok) {
          if (form.dataset.method === 'PUT') { flash(body.message || ''); return null; }
          return refreshPage(body.message, true);
        }
        if (response.status === 422 && body.fields) { showErrors(form, body.fields, body.error); return null; }
        alertMessage(errorText(response, body));
        return null;
      });
    }).catch(function (error) {
      alertMessage(String(error));
    }).then(function () {
      if (button.isConnected) setBusy(button, false);
    });
  }

  function runAction(button) {
    alertMessage('');
    setBusy(button, true);
    return api(button.dataset.apiAction, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}'
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.ok) return refreshPage(body.message, true);
        alertMessage(errorText(response, body));
        return null;
      });
    }).catch(function (error) {
      alertMessage(String(error));
    }).then(function () {
      if (button.isConnected) setBusy(button, false);
    });
  }

  // -- reports: view inline (sandboxed) or download ----------------------------------------------

  function filenameOf(response, fallback) {
    var match = /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') || '');
    return match ? match[1] : fallback;
  }

  function showReport(button) {
    alertMessage('');
    var url = new URL(button.dataset.report, window.location.origin);
    url.searchParams.set('format', button.dataset.format);
    var download = button.dataset.mode === 'download';
    setBusy(button, true);
    return api(url.pathname + url.search).then(function (response) {
      if (!response.ok) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          alertMessage(errorText(response, body));
        });
      }
      if (download) {
        return response.blob().then(function (blob) {
          var link = document.createElement('a');
          link.href = URL.createObjectURL(blob);
          link.download = filenameOf(response, 'privacy-report.' + button.dataset.format);
          document.body.appendChild(link);
          link.click();
          link.remove();
          setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
        });
      }
      return response.text().then(function (text) {
        var view = document.getElementById('report-view');
        view.replaceChildren();
        if (button.dataset.format === 'html') {
          var frame = document.createElement('iframe');
          frame.setAttribute('sandbox', '');  // no scripts, no same-origin access
          frame.title = view.dataset.frameTitle || 'Report';
          frame.srcdoc = text;
          view.appendChild(frame);
        } else {
          var pre = document.createElement('pre');
          try { pre.textContent = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { pre.textContent = text; }
          pre.tabIndex = 0;
          view.appendChild(pre);
        }
      });
    }).catch(function (error) {
      alertMessage(String(error));
    }).then(function () {
      setBusy(button, false);
    });
  }

  // -- progress of a running job ---------------------------------------------------------------

  function startPolling() {
    var card = document.querySelector('[data-poll]');
    if (!card || card.dataset.polling) return;
    card.dataset.polling = '1';
    var initial = card.dataset.status;
    var checked = card.querySelector('[data-checked]');
    function tick() {
      if (!card.isConnected) return;
      api(card.dataset.poll).then(function (response) {
        if (response.status === 401) return 'stop';  // the page's own token expired (no App Bridge): reload to resume
        if (!response.ok) return null;
        return response.json().then(function (body) {
          if (checked) {
            checked.textContent = (checked.dataset.template || '{time}')
              .replace('{time}', new Date().toLocaleTimeString(document.documentElement.lang || undefined));
          }
          if (body.status !== initial) {
            return refreshPage().then(function () {
              var badge = document.querySelector('#page h1 .badge');
              if (badge) flash(badge.textContent);
              return true;
            });
          }
          return null;
        });
      }).catch(function () { return null; }).then(function (changed) {
        if (!changed && card.isConnected) window.setTimeout(tick, POLL_MS);
      });
    }
    window.setTimeout(tick, POLL_MS);
  }

  // -- wiring (delegated, so content swapped in by refreshPage works too) ----------------------

  document.addEventListener('click', function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    var link = event.target.closest('a[data-nav]');
    if (link) { event.preventDefault(); navigate(link.href); return; }
    var action = event.target.closest('button[data-api-action]');
    if (action) { event.preventDefault(); runAction(action); return; }
    var report = event.target.closest('button[data-report]');
    if (report) { event.preventDefault(); showReport(report); }
  });

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (form.matches('form[data-nav-form]')) {
      event.preventDefault();
      var url = new URL(form.getAttribute('action') || window.location.pathname, window.location.href);
      new FormData(form).forEach(function (value, name) { if (value !== '') url.searchParams.append(name, value); });
      navigate(url.toString());
    } else if (form.matches('form[data-api]')) {
      event.preventDefault();
      submitJson(form);
    }
  });

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', startPolling);
  else startPolling();
})();
