/*
 * 亲客服 (Qinkefu) staff consoles: what the agent console (/agent) and the trainer console
 * (/trainer) share. Loaded by both pages before their own script; defines window.QinkefuStaff.
 *
 * Plain modern JavaScript, no dependencies. Security rule: server data only ever reaches the DOM
 * through textContent / setAttribute / property assignment (never innerHTML).
 */
(() => {
  'use strict';

  if (window.QinkefuStaff) return;

  // el('button', {class: 'x', text: 'y', 'data-testid': 'z', onclick: fn}, child, ...)
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (value === null || value === undefined || value === false) return;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = String(value);
      else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
      else if (key === 'hidden' || key === 'disabled' || key === 'value' || key === 'checked' || key === 'selected') node[key] = value;
      else node.setAttribute(key, value === true ? '' : String(value));
    });
    children.flat(Infinity).forEach((child) => {
      if (child === null || child === undefined || child === false) return;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  // One path segment of an API URL.
  const segment = (value) => encodeURIComponent(String(value));

  // A UI string with its {name} placeholders filled from ``values`` (unknown names stay as they are).
  const fill = (template, values) => String(template).replace(/\{(\w+)\}/g, (whole, name) => (
    Object.prototype.hasOwnProperty.call(values || {}, name) ? String(values[name]) : whole));

  // Thrown by api() on a 401: the console has already gone back to the login form.
  class AuthError extends Error {}

  /*
   * The parts of a console that both consoles have: UI strings, JSON calls with the console's
   * HttpOnly cookie, the login form, logout and boot. ``options``:
   *   prefix      'agent' | 'trainer': URLs under /{prefix}, element ids and test ids {prefix}-…
   *   root        the element the console renders into
   *   state       the console's state; this uses and sets its strings, view ('login' | 'console'
   *               | null), me ({username, role}) and dom
   *   start()     builds the console once someone is logged in (state.me is set)
   *   stop()      tears the console down (timers, sockets) and resets its state
   *   loginError  {class, testid} extra class and the test id of the login form's error line
   *   onStrings() optional, called once the UI strings have been fetched
   */
  function createConsole(options) {
    const { prefix, root, state, start, stop } = options;
    const base = `/${prefix}`;
    const loginError = options.loginError || {};

    // The UI string for a key; a missing string falls back to ``fallback`` or the key itself.
    const t = (key, fallback) => {
      const value = state.strings[key];
      return typeof value === 'string' && value ? value : (fallback || key);
    };

    // Log unexpected failures without bothering the user; auth errors are already handled.
    function quiet(err) {
      if (!(err instanceof AuthError)) console.warn(`[${prefix}]`, err); // eslint-disable-line no-console
    }

    function onUnauthorized() {
      if (state.view === 'login') return;
      stop();
      showLogin();
    }

    // JSON request; a 401 (except on the login call itself) drops back to the login form.
    async function api(path, method = 'GET', body) {
      const request = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
      if (method !== 'GET') {
        request.headers['Content-Type'] = 'application/json';
        request.body = JSON.stringify(body || {});
      }
      const res = await fetch(path, request);
      let data = null;
      try { data = await res.json(); } catch (_) { data = null; }
      if (res.status === 401 && path !== `${base}/login`) {
        onUnauthorized();
        throw new AuthError('unauthorized');
      }
      return { status: res.status, ok: res.ok, data: data && typeof data === 'object' ? data : {} };
    }

    function showLogin() {
      state.view = 'login';
      const user = el('input', { id: `${prefix}-user`, name: 'username', autocomplete: 'username', required: true, 'data-testid': `${prefix}-login-user` });
      const pass = el('input', { id: `${prefix}-pass`, name: 'password', type: 'password', autocomplete: 'current-password', required: true, 'data-testid': `${prefix}-login-password` });
      const error = el('p', {
        class: ['staff-login-error', loginError.class].filter(Boolean).join(' '),
        role: 'alert',
        hidden: true,
        'data-testid': loginError.testid || `${prefix}-login-error`,
      });
      const submit = el('button', { type: 'submit', class: 'staff-btn staff-btn-primary', text: t('login'), 'data-testid': `${prefix}-login-submit` });

      const form = el('form', { class: 'staff-login-form', novalidate: true },
        el('h1', { text: t('login_title') }),
        el('label', { for: user.id, text: t('username') }), user,
        el('label', { for: pass.id, text: t('password') }), pass,
        error, submit);

      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        submit.disabled = true;
        error.hidden = true;
        try {
          const res = await api(`${base}/login`, 'POST', { username: user.value.trim(), password: pass.value });
          if (res.ok) {
            state.me = res.data;
            start();
            return;
          }
        } catch (err) {
          quiet(err);
        }
        error.textContent = t('login_failed');
        error.hidden = false;
        submit.disabled = false;
        pass.select();
      });

      state.dom = {};
      root.replaceChildren(el('main', { class: 'staff-login' }, form));
      root.removeAttribute('aria-busy');
      user.focus();
    }

    async function logout() {
      try {
        await fetch(`${base}/logout`, { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      } catch (err) {
        quiet(err);
      }
      stop();
      showLogin();
    }

    // The strings and the logged-in user (if the cookie is still good), then console or login.
    async function boot() {
      const getJson = (path) => fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then((r) => (r.ok ? r.json() : null));
      const stringsReady = getJson(`${base}/strings`)
        .then((s) => { if (s && typeof s === 'object' && !Array.isArray(s)) state.strings = s; })
        .catch(quiet);
      const meReady = getJson(`${base}/api/me`).catch(() => null);
      const [, me] = await Promise.all([stringsReady, meReady]);
      if (options.onStrings) options.onStrings();
      if (me && typeof me === 'object' && me.username) {
        state.me = me;
        start();
      } else {
        showLogin();
      }
    }

    function run() {
      if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
      else boot();
    }

    return { t, api, quiet, showLogin, logout, run };
  }

  window.QinkefuStaff = Object.freeze({ el, segment, fill, AuthError, createConsole });
})();
