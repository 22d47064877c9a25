/*
 * 亲客服 (Qinkefu) buyer chat widget.
 *
 * Embed:  <script src="{gateway}/widget/widget.js" data-gateway="{gateway}"
 *                 data-buyer-token="..." data-product-id="P001" defer></script>
 * or call window.QinkefuWidget.init({gateway, buyerToken, productId}) from the page.
 *
 * Plain ES2019, no dependencies besides the socket.io-client browser build served by the gateway.
 * Security rule: message data only ever reaches the DOM through textContent / setAttribute.
 */
(() => {
  'use strict';

  if (window.QinkefuWidget) return; // loaded twice: keep the first instance

  const KEY_SESSION = 'qkf_session_id';
  const KEY_OWNER = 'qkf_session_owner'; // whose conversation KEY_SESSION is ('' = not logged in)
  const KEY_DRAFT = 'qkf_draft';
  const KEY_OUTBOX = 'qkf_outbox';
  const RETRY_UNAVAILABLE_MS = 3000;
  // The message length limit comes from the gateway (/widget/strings max_chars), defined once there.
  function maxLen() {
    const n = Number(state.strings.max_chars);
    return Number.isFinite(n) && n > 0 ? n : 100000;
  }
  const MAX_PHOTO_BYTES = 5 * 1024 * 1024;
  const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'];
  const ROLES = ['buyer', 'bot', 'agent', 'system'];
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const ICONS = {
    chat: 'M20 2H4c-1.1 0-2 .9-2 2v18l4-4h14c1.1 0 2-.9 2-2V4c0-1.1-.9-2-2-2z',
    close: 'M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z',
    send: 'M2.01 21 23 12 2.01 3 2 10l15 2-15 2z',
    photo: 'M21 19V5c0-1.1-.9-2-2-2H5c-1.1 0-2 .9-2 2v14c0 1.1.9 2 2 2h14c1.1 0 2-.9 2-2zM8.5 13.5l2.5 3.01L14.5 12l4.5 6H5l3.5-4.5z',
  };

  // The <script> tag that loaded us (captured now: currentScript is only set while executing).
  const ownScript = document.currentScript ||
    Array.from(document.querySelectorAll('script[src]')).reverse()
      .find((s) => /\/widget\.js(?:[?#]|$)/.test(s.src)) || null;

  const state = {
    started: null,       // promise of the running init
    config: null,        // {gateway, buyerToken, productId}
    gateway: '',         // absolute gateway URL without trailing slash
    gatewayOrigin: '',
    sessionId: '',
    strings: {},
    ui: null,            // DOM references, set by buildUi()
    socket: null,
    isOpen: false,
    wantOpen: false,     // open() called before the UI existed
    unread: 0,
    offline: false,
    hasConnected: false,
    composing: false,
    uploading: false,
    byId: new Map(),       // server message id -> bubble element
    byClientId: new Map(), // buyer client_id -> bubble element
    settled: new Set(),    // client_ids whose ack has been handled
    retrying: new Set(),   // client_ids sent again because the shop was briefly unavailable
  };

  // ---------------------------------------------------------------- storage helpers
  // localStorage can throw (private mode, quota); fall back to memory for this page.
  const memoryStore = {};
  const store = {
    get(key) {
      if (Object.prototype.hasOwnProperty.call(memoryStore, key)) return memoryStore[key];
      try { return window.localStorage.getItem(key); } catch (e) { return null; }
    },
    set(key, value) {
      try { window.localStorage.setItem(key, value); delete memoryStore[key]; } catch (e) { memoryStore[key] = value; }
    },
    remove(key) {
      delete memoryStore[key];
      try { window.localStorage.removeItem(key); } catch (e) { /* nothing to do */ }
    },
  };

  function uuid() {
    const c = window.crypto;
    if (c && typeof c.randomUUID === 'function') {
      try { return c.randomUUID(); } catch (e) { /* insecure context: fall through */ }
    }
    const bytes = new Uint8Array(16);
    if (c && typeof c.getRandomValues === 'function') c.getRandomValues(bytes);
    else for (let i = 0; i < 16; i += 1) bytes[i] = Math.floor(Math.random() * 256);
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // The buyer a token names (its first part); '' when not logged in. Only for choosing the
  // conversation: the gateway checks the token itself.
  function ownerOf(token) {
    return typeof token === 'string' && token.split('.').length === 3 ? token.split('.')[0] : '';
  }

  // A conversation belongs to one identity: when the buyer changes or logs out, a new one starts
  // and nothing of the old one (outbox, draft) is carried over.
  function newSession(owner) {
    const id = uuid();
    store.set(KEY_SESSION, id);
    store.set(KEY_OWNER, owner);
    store.remove(KEY_OUTBOX);
    store.remove(KEY_DRAFT);
    return id;
  }

  function loadSessionId(owner) {
    const id = store.get(KEY_SESSION);
    if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id) || (store.get(KEY_OWNER) || '') !== owner) return newSession(owner);
    return id;
  }

  function identityHeaders() {
    return state.config && state.config.buyerToken ? { 'X-Buyer-Token': state.config.buyerToken } : {};
  }

  // The outbox is re-read from storage every time, so several tabs share it safely.
  function readOutbox() {
    try {
      const list = JSON.parse(store.get(KEY_OUTBOX) || '[]');
      return Array.isArray(list) ? list.filter((m) => m && typeof m.client_id === 'string') : [];
    } catch (e) {
      return [];
    }
  }
  function writeOutbox(list) {
    if (list.length) store.set(KEY_OUTBOX, JSON.stringify(list));
    else store.remove(KEY_OUTBOX);
  }
  function addToOutbox(item) {
    const list = readOutbox().filter((m) => m.client_id !== item.client_id);
    list.push(item);
    writeOutbox(list);
  }
  function removeFromOutbox(clientId) {
    const list = readOutbox();
    const rest = list.filter((m) => m.client_id !== clientId);
    if (rest.length !== list.length) writeOutbox(rest);
  }

  // ---------------------------------------------------------------- strings and formatting
  function t(key) {
    const value = state.strings[key];
    return typeof value === 'string' && value ? value : key;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  }

  function formatTime(ts) {
    if (!ts) return '';
    const d = new Date(ts);
    if (Number.isNaN(d.getTime())) return '';
    const pad = (n) => String(n).padStart(2, '0');
    const values = {
      year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate(),
      hour: pad(d.getHours()), minute: pad(d.getMinutes()),
    };
    const today = d.toDateString() === new Date().toDateString();
    // Formats fall back to neutral numeric patterns rather than the bare key name.
    const template = today
      ? (state.strings.today_format || '{hour}:{minute}')
      : (state.strings.date_format || '{month}/{day} {hour}:{minute}');
    return fill(String(template), values);
  }

  // Only gateway-hosted, site-relative (resolved against the gateway) or inline images are shown.
  function safeImageUrl(url) {
    if (typeof url !== 'string') return null;
    const u = url.trim();
    if (!u || /[\s\\]/.test(u.replace(/^data:[^,]*,/, ''))) return null;
    if (/^data:image\//i.test(u)) return u;
    if (u.startsWith('/') && !u.startsWith('//')) return state.gatewayOrigin + u;
    const origin = state.gatewayOrigin;
    if (u === origin || u.startsWith(`${origin}/`) || u.startsWith(`${origin}?`)) return u;
    return null;
  }

  // ---------------------------------------------------------------- DOM helpers
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach((name) => {
      const value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === 'text') node.textContent = String(value);
      else if (name === 'class') node.className = value;
      else node.setAttribute(name, value === true ? '' : String(value));
    });
    (children || []).forEach((child) => { if (child) node.appendChild(child); });
    return node;
  }

  function icon(name) {
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('class', 'qkf-icon');
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  function imageEl(src, alt, className) {
    const img = el('img', { class: className, src, alt: alt || '', loading: 'lazy', decoding: 'async' });
    img.addEventListener('load', scrollToBottom);
    return img;
  }

  // ---------------------------------------------------------------- loading resources
  function domReady() {
    if (document.readyState !== 'loading') return Promise.resolve();
    return new Promise((resolve) => document.addEventListener('DOMContentLoaded', resolve, { once: true }));
  }

  function addStylesheet(href) {
    return new Promise((resolve) => {
      if (Array.from(document.querySelectorAll('link[rel="stylesheet"]')).some((l) => l.href === href)) {
        resolve();
        return;
      }
      const link = el('link', { rel: 'stylesheet', href });
      link.addEventListener('load', () => resolve());
      link.addEventListener('error', () => resolve()); // unstyled beats invisible
      setTimeout(resolve, 3000);
      (document.head || document.documentElement).appendChild(link);
    });
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = el('script', { src, async: true });
      script.addEventListener('load', () => resolve());
      script.addEventListener('error', () => reject(new Error(`cannot load ${src}`)));
      (document.head || document.documentElement).appendChild(script);
    });
  }

  async function getJson(url, headers) {
    const response = await fetch(url, { headers: Object.assign({ Accept: 'application/json' }, headers || {}) });
    if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
    return response.json();
  }

  // ---------------------------------------------------------------- UI construction
  function buildUi() {
    const launcher = el('button', {
      type: 'button', class: 'qkf-launcher', 'data-testid': 'qkf-launcher',
      'aria-label': t('launcher_label'), 'aria-expanded': 'false', 'aria-controls': 'qkf-panel',
    }, [icon('chat')]);
    const badge = el('span', { class: 'qkf-badge', 'data-testid': 'qkf-badge', role: 'img', hidden: true });

    const title = el('h2', { id: 'qkf-title', class: 'qkf-title', text: t('title') });
    const offline = el('div', { class: 'qkf-offline', role: 'status', 'data-testid': 'qkf-offline', text: t('offline'), hidden: true });
    const notice = el('div', { class: 'qkf-notice', 'aria-live': 'polite', 'data-testid': 'qkf-reconnected', hidden: true });
    const log = el('div', {
      class: 'qkf-log', role: 'log', 'aria-live': 'polite', 'aria-label': t('log_label'),
      'data-testid': 'qkf-log', tabindex: '0',
    });
    const dots = el('span', { class: 'qkf-dots', 'aria-hidden': 'true' }, [el('span'), el('span'), el('span')]);
    const typing = el('div', { class: 'qkf-typing', 'data-testid': 'qkf-typing', 'aria-live': 'polite', hidden: true },
      [el('span', { class: 'qkf-typing-text', text: t('typing') }), dots]);

    const input = el('textarea', {
      id: 'qkf-input', class: 'qkf-input', 'data-testid': 'qkf-input', rows: '1', maxlength: String(maxLen()),
      'aria-label': t('input_label'), placeholder: t('input_placeholder'), autocomplete: 'off',
    });
    const attach = el('button', { type: 'button', class: 'qkf-attach', 'data-testid': 'qkf-attach', 'aria-label': t('attach_label') }, [icon('photo')]);
    const send = el('button', { type: 'button', class: 'qkf-send', 'data-testid': 'qkf-send', 'aria-label': t('send') }, [icon('send')]);
    const file = el('input', { type: 'file', class: 'qkf-file', 'data-testid': 'qkf-file', accept: PHOTO_TYPES.join(','), tabindex: '-1', 'aria-hidden': 'true', hidden: true });
    const composer = el('div', { class: 'qkf-composer' }, [input, attach, send, file]);
    // The close button comes last in the DOM (Tab order) but sits in the header visually.
    const closeBtn = el('button', { type: 'button', class: 'qkf-close', 'data-testid': 'qkf-close', 'aria-label': t('close_label') }, [icon('close')]);

    const panel = el('div', {
      id: 'qkf-panel', class: 'qkf-panel', 'data-testid': 'qkf-panel', role: 'dialog',
      'aria-labelledby': 'qkf-title', hidden: true,
    }, [el('div', { class: 'qkf-header' }, [title]), offline, notice, log, typing, composer, closeBtn]);

    const root = el('div', { id: 'qkf-root', class: 'qkf-root' }, [
      el('div', { class: 'qkf-launcher-wrap' }, [launcher, badge]), panel,
    ]);
    document.body.appendChild(root);
    state.ui = { root, launcher, badge, panel, offline, notice, log, typing, input, attach, send, file, closeBtn };

    // Events
    launcher.addEventListener('click', () => (state.isOpen ? close() : open()));
    closeBtn.addEventListener('click', () => close());
    root.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape' || !state.isOpen) return;
      if (state.composing || event.isComposing || event.keyCode === 229) return; // Esc cancels the IME first
      event.preventDefault();
      close();
    });
    input.addEventListener('compositionstart', () => { state.composing = true; });
    input.addEventListener('compositionend', () => { state.composing = false; });
    input.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter' || event.shiftKey) return; // Shift+Enter: newline
      if (state.composing || event.isComposing || event.keyCode === 229) return; // Enter confirms IME text
      event.preventDefault();
      submitInput();
    });
    input.addEventListener('input', () => { saveDraft(); autosize(); });
    send.addEventListener('click', () => submitInput());
    attach.addEventListener('click', () => { if (!state.uploading) file.click(); });
    file.addEventListener('change', () => {
      const chosen = file.files && file.files[0];
      file.value = ''; // allow picking the same file again
      if (chosen) uploadPhoto(chosen);
    });

    input.value = (store.get(KEY_DRAFT) || '').slice(0, maxLen());
    setUnread(0);
  }

  function autosize() {
    const { input } = state.ui;
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
  }

  function scrollToBottom() {
    if (state.ui) state.ui.log.scrollTop = state.ui.log.scrollHeight;
  }

  // ---------------------------------------------------------------- open / close / badge
  function open() {
    if (!state.ui) { state.wantOpen = true; return; }
    const { root, panel, launcher, input } = state.ui;
    state.isOpen = true;
    panel.hidden = false;
    root.classList.add('qkf-root--open');
    launcher.setAttribute('aria-expanded', 'true');
    setUnread(0);
    autosize();
    scrollToBottom();
    input.focus();
  }

  function close() {
    if (!state.ui) { state.wantOpen = false; return; }
    if (!state.isOpen) return;
    const { root, panel, launcher } = state.ui;
    state.isOpen = false;
    panel.hidden = true;
    root.classList.remove('qkf-root--open');
    launcher.setAttribute('aria-expanded', 'false');
    launcher.focus();
  }

  function setUnread(count) {
    state.unread = count;
    const { badge } = state.ui;
    badge.hidden = count <= 0;
    badge.textContent = count > 99 ? '99+' : String(count);
    const label = t('unread_label');
    badge.setAttribute('aria-label', label.includes('{count}') ? fill(label, { count }) : `${label} ${count}`);
  }

  function setOffline(on) {
    state.offline = on;
    if (!state.ui) return;
    state.ui.offline.hidden = !on;
    if (on) state.ui.notice.hidden = true;
  }

  let noticeTimer = 0;
  function showNotice(text) {
    const { notice } = state.ui;
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { notice.hidden = true; }, 2500);
  }

  function setTyping(on) {
    if (!state.ui) return;
    state.ui.typing.hidden = !on;
    if (on) scrollToBottom();
  }

  // ---------------------------------------------------------------- rendering messages
  function normalize(raw) {
    if (!raw || typeof raw !== 'object') return null;
    const str = (v) => (v === null || v === undefined ? '' : String(v));
    return {
      id: str(raw.id),
      role: ROLES.includes(raw.role) ? raw.role : 'bot',
      text: typeof raw.text === 'string' ? raw.text : '',
      buttons: Array.isArray(raw.buttons) ? raw.buttons : [],
      card: raw.card && typeof raw.card === 'object' ? raw.card : null,
      image: typeof raw.image === 'string' ? raw.image : '',
      // A reply sent a while after the question quotes it (the buyer's stored message).
      quote: raw.quote && typeof raw.quote === 'object' && typeof raw.quote.text === 'string' && raw.quote.text
        ? { id: str(raw.quote.message_id), text: raw.quote.text } : null,
      client_id: str(raw.client_id),
      ts: str(raw.ts),
    };
  }

  function clearQuickReplies() {
    state.ui.log.querySelectorAll('.qkf-quick-replies').forEach((node) => node.remove());
  }

  function renderQuickReplies(buttons) {
    const valid = buttons.filter((b) => b && typeof b.title === 'string' && b.title.trim());
    if (!valid.length) return null;
    const box = el('div', { class: 'qkf-quick-replies' });
    valid.forEach((b) => {
      const button = el('button', { type: 'button', class: 'qkf-quick-reply', 'data-testid': 'qkf-quick-reply', text: b.title });
      button.addEventListener('click', () => {
        clearQuickReplies();
        const message = { text: b.title };
        if (b.payload !== undefined && b.payload !== null && b.payload !== '') message.payload = String(b.payload);
        sendMessage(message);
        state.ui.input.focus();
      });
      box.appendChild(button);
    });
    return box;
  }

  function cardLine(className, value) {
    if (value === undefined || value === null || value === '') return null;
    return el('div', { class: className, text: value });
  }

  function renderCard(card) {
    if (card.type === 'product') {
      const src = safeImageUrl(card.image);
      const hasPrice = card.price !== undefined && card.price !== null && card.price !== '';
      const body = el('div', { class: 'qkf-card-body' }, [
        cardLine('qkf-card-title', card.name),
        hasPrice ? cardLine('qkf-card-price', `\u00a5${card.price}`) : null,
        cardLine(`qkf-card-stock ${card.in_stock ? 'qkf-card-stock--in' : 'qkf-card-stock--out'}`, card.stock_label),
      ]);
      return el('div', {
        class: 'qkf-card qkf-card--product', 'data-testid': 'qkf-product-card',
        'data-product-id': card.product_id, 'data-in-stock': card.in_stock ? 'true' : 'false',
      }, [src ? imageEl(src, card.name ? String(card.name) : '', 'qkf-card-image') : null, body]);
    }
    if (card.type === 'order') {
      const when = formatTime(card.last_event_time) || card.last_event_time;
      return el('div', { class: 'qkf-card qkf-card--order', 'data-testid': 'qkf-order-card', 'data-order-id': card.order_id }, [
        cardLine('qkf-card-order-id', card.order_id),
        cardLine('qkf-card-items', card.items),
        cardLine('qkf-card-status', card.status_label),
        cardLine('qkf-card-courier', card.courier),
        cardLine('qkf-card-event', card.last_event),
        cardLine('qkf-card-event-time', when),
      ]);
    }
    return null; // unknown card types are ignored
  }

  // The question a late reply answers, above the reply; activating it shows the question itself.
  function renderQuote(quote) {
    const text = quote.text.length > 60 ? `${quote.text.slice(0, 59)}…` : quote.text;
    const box = el('button', { type: 'button', class: 'qkf-quote', 'data-testid': 'qkf-quote', 'aria-label': `${t('quote_label')}${quote.text}` });
    box.appendChild(el('span', { class: 'qkf-quote-label', text: t('quote_label') }));
    box.appendChild(el('span', { class: 'qkf-quote-text', 'data-testid': 'qkf-quote-text', text }));
    box.addEventListener('click', () => {
      const asked = quote.id ? state.byId.get(quote.id) : null;
      if (!asked) return;
      asked.scrollIntoView({ block: 'center', behavior: 'smooth' });
      asked.setAttribute('data-highlight', 'true');
      setTimeout(() => asked.removeAttribute('data-highlight'), 1600);
    });
    return box;
  }

  // Builds one bubble and appends it to the log. opts.pending marks an unacked buyer message;
  // opts.local marks a client-side system line (does not disturb the quick replies).
  function renderMessage(msg, opts) {
    const options = opts || {};
    const { role } = msg;
    const node = el('div', {
      class: `qkf-msg qkf-msg--${role}`, 'data-testid': 'qkf-msg', 'data-role': role,
      'data-id': msg.id || null, 'data-client-id': role === 'buyer' && msg.client_id ? msg.client_id : null,
      'data-pending': options.pending ? 'true' : null,
    });
    const bubble = el('div', { class: 'qkf-bubble' });
    if (msg.quote) bubble.appendChild(renderQuote(msg.quote));
    if (msg.text) bubble.appendChild(el('div', { class: 'qkf-text', 'data-testid': 'qkf-text', text: msg.text }));
    const src = safeImageUrl(msg.image);
    if (src) bubble.appendChild(imageEl(src, t('attach_label'), 'qkf-image'));
    if (msg.card) {
      const card = renderCard(msg.card);
      if (card) bubble.appendChild(card);
    }
    node.appendChild(bubble);
    node.appendChild(el('time', { class: 'qkf-time', 'data-testid': 'qkf-time', datetime: msg.ts || null, text: formatTime(msg.ts) }));

    if (!options.local) {
      clearQuickReplies(); // only the newest message's quick replies stay active
      if (role !== 'buyer' && msg.buttons.length) {
        const replies = renderQuickReplies(msg.buttons);
        if (replies) node.appendChild(replies);
      }
    }
    state.ui.log.appendChild(node);
    if (msg.id) state.byId.set(msg.id, node);
    if (role === 'buyer' && msg.client_id) state.byClientId.set(msg.client_id, node);
    scrollToBottom();
    return node;
  }

  function addSystemLine(text) {
    renderMessage(normalize({ role: 'system', text, ts: new Date().toISOString() }), { local: true });
  }

  function markSent(clientId, id) {
    const node = state.byClientId.get(clientId);
    if (!node) return;
    node.removeAttribute('data-pending');
    node.removeAttribute('data-failed');
    if (id) {
      node.setAttribute('data-id', id);
      state.byId.set(id, node);
    }
  }

  function markFailed(clientId) {
    const node = state.byClientId.get(clientId);
    if (!node) return;
    node.removeAttribute('data-pending');
    node.setAttribute('data-failed', 'true');
  }

  // Handles a Message from the server (live event or history). Never renders one twice.
  function ingest(raw, countUnread) {
    const msg = normalize(raw);
    if (!msg) return;
    if (msg.id && state.byId.has(msg.id)) return;
    if (msg.client_id && state.byClientId.has(msg.client_id)) {
      // Echo of a buyer message already on screen: the server has it, so it is delivered.
      markSent(msg.client_id, msg.id);
      removeFromOutbox(msg.client_id);
      return;
    }
    if (msg.client_id) removeFromOutbox(msg.client_id);
    if (msg.role === 'bot' || msg.role === 'agent') setTyping(false);
    renderMessage(msg);
    if (countUnread && msg.role !== 'buyer' && !state.isOpen) setUnread(state.unread + 1);
  }

  async function loadHistory(countUnread) {
    let data;
    try {
      data = await getJson(`${state.gateway}/api/history?session_id=${encodeURIComponent(state.sessionId)}`, identityHeaders());
    } catch (e) {
      return; // history is best effort; live messages still work
    }
    const list = data && Array.isArray(data.messages) ? data.messages.slice() : [];
    if (list.every((m) => m && !Number.isNaN(Date.parse(m.ts)))) {
      list.sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts)); // stable: oldest first
    }
    list.forEach((m) => ingest(m, countUnread));
  }

  // Messages still in the outbox (sent before a reload, or by another tab) show as pending.
  function renderOutbox() {
    readOutbox().forEach((item) => {
      if (state.byClientId.has(item.client_id)) return;
      renderMessage(normalize({ role: 'buyer', text: item.text, image: item.image, client_id: item.client_id, ts: item.ts }), { pending: true });
    });
  }

  // ---------------------------------------------------------------- sending
  function sendMessage(message) {
    const item = { client_id: uuid(), text: message.text || '', product_id: state.config.productId || null };
    if (message.payload) item.payload = message.payload;
    if (message.image) item.image = message.image;
    const ts = new Date().toISOString();
    addToOutbox(Object.assign({ ts }, item)); // ts only used to redraw after a reload
    renderMessage(normalize({ role: 'buyer', text: item.text, image: item.image, client_id: item.client_id, ts }), { pending: true });
    emitItem(item);
  }

  function emitItem(item) {
    const { socket } = state;
    if (!socket || !socket.connected) return; // the (re)connect handler flushes the outbox
    const wire = { client_id: item.client_id, text: item.text || '', product_id: item.product_id || null };
    if (item.payload) wire.payload = item.payload;
    if (item.image) wire.image = item.image;
    socket.emit('buyer_message', wire, (response) => onAck(item, response));
  }

  function onAck(item, response) {
    if (state.settled.has(item.client_id)) return; // a re-emit may be acked twice
    if (response && response.error === 'unavailable') {
      // The shop's database is briefly down: the message stays in the outbox and is sent again.
      if (!state.retrying.has(item.client_id) && response.message) addSystemLine(String(response.message));
      state.retrying.add(item.client_id);
      setTimeout(() => emitItem(item), RETRY_UNAVAILABLE_MS);
      return;
    }
    state.retrying.delete(item.client_id);
    state.settled.add(item.client_id);
    removeFromOutbox(item.client_id);
    if (response && response.ok) {
      markSent(item.client_id, response.id === undefined || response.id === null ? '' : String(response.id));
      return;
    }
    markFailed(item.client_id);
    const message = response && typeof response.message === 'string' && response.message ? response.message : t('send_failed');
    addSystemLine(message);
    // Give rejected text back to the buyer so nothing typed is lost.
    const { input } = state.ui;
    if (item.text && !item.payload && !input.value) {
      input.value = item.text;
      saveDraft();
      autosize();
    }
  }

  function flushOutbox() {
    readOutbox().forEach((item) => { if (!state.settled.has(item.client_id)) emitItem(item); });
  }

  function saveDraft() {
    const { value } = state.ui.input;
    if (value) store.set(KEY_DRAFT, value);
    else store.remove(KEY_DRAFT);
  }

  function submitInput() {
    const { input } = state.ui;
    const text = input.value.trim().slice(0, maxLen());
    if (!text) return;
    sendMessage({ text });
    // The message is now in the durable outbox, so the draft can go.
    input.value = '';
    store.remove(KEY_DRAFT);
    autosize();
    input.focus();
  }

  async function uploadPhoto(file) {
    if (!PHOTO_TYPES.includes(file.type)) { addSystemLine(t('photo_wrong_type')); return; }
    if (file.size > MAX_PHOTO_BYTES) { addSystemLine(t('photo_too_large')); return; }
    const { attach } = state.ui;
    state.uploading = true;
    attach.setAttribute('aria-busy', 'true');
    attach.setAttribute('aria-disabled', 'true');
    try {
      const form = new FormData();
      form.append('session_id', state.sessionId);
      form.append('photo', file, file.name);
      const response = await fetch(`${state.gateway}/api/upload`, { method: 'POST', body: form, headers: identityHeaders() });
      const data = await response.json().catch(() => null);
      if (!response.ok || !data || !data.ok || typeof data.url !== 'string' || !data.url) throw new Error('upload');
      sendMessage({ text: '', image: data.url });
    } catch (e) {
      addSystemLine(t('upload_failed'));
    } finally {
      state.uploading = false;
      attach.removeAttribute('aria-busy');
      attach.removeAttribute('aria-disabled');
    }
  }

  // ---------------------------------------------------------------- socket.io
  function connect() {
    if (typeof window.io !== 'function') { setOffline(true); return; }
    const socket = window.io(state.gateway, {
      path: '/socket.io',
      transports: ['websocket', 'polling'],
      query: { conversation: state.sessionId }, // the load balancer keeps a conversation on one gateway
      auth: {
        session_id: state.sessionId,
        buyer_token: state.config.buyerToken || null,
        product_id: state.config.productId || null,
      },
    });
    state.socket = socket;
    api.socket = socket;

    socket.on('connect', () => {
      const wasOffline = state.offline;
      const isReconnect = state.hasConnected;
      state.hasConnected = true;
      setOffline(false);
      if (wasOffline) showNotice(t('reconnected'));
      flushOutbox();
      if (isReconnect) loadHistory(true); // pick up anything missed while away
    });
    socket.on('disconnect', () => { setOffline(true); setTyping(false); });
    socket.on('connect_error', (err) => {
      if (err && err.message === 'session_not_yours') {
        // This conversation belongs to another identity: start our own and connect again.
        state.sessionId = newSession(ownerOf(state.config.buyerToken));
        socket.auth.session_id = state.sessionId;
        socket.io.opts.query = { conversation: state.sessionId };
        socket.connect();
        return;
      }
      setOffline(true);
    });
    socket.on('message', (raw) => ingest(raw, true));
    socket.on('typing', (data) => setTyping(Boolean(data && data.on)));
    socket.on('notice', (data) => { if (data && typeof data.text === 'string') addSystemLine(data.text); });
  }

  // ---------------------------------------------------------------- init
  async function start() {
    const cssReady = addStylesheet(`${state.gateway}/widget/widget.css`);
    const ioReady = typeof window.io === 'function'
      ? Promise.resolve()
      : loadScript(`${state.gateway}/widget/vendor/socket.io.min.js`);
    ioReady.catch(() => { /* reported below by connect() */ });
    const stringsReady = getJson(`${state.gateway}/widget/strings`)
      .then((s) => { if (s && typeof s === 'object' && !Array.isArray(s)) state.strings = s; })
      .catch(() => { /* fall back to key names */ });

    await Promise.all([cssReady, stringsReady, domReady()]);
    buildUi();
    autosize();
    if (state.wantOpen) open();

    await loadHistory(false);
    renderOutbox();
    try { await ioReady; } catch (e) { /* connect() shows the offline banner */ }
    connect();
  }

  function init(options) {
    if (state.started) return state.started;
    const opts = options || {};
    const data = ownScript ? ownScript.dataset : {};
    let scriptOrigin = window.location.origin;
    try { if (ownScript && ownScript.src) scriptOrigin = new URL(ownScript.src, window.location.href).origin; } catch (e) { /* keep page origin */ }
    const gatewayUrl = new URL(String(opts.gateway || data.gateway || scriptOrigin), window.location.href);
    state.gateway = gatewayUrl.href.replace(/[?#].*$/, '').replace(/\/+$/, '');
    state.gatewayOrigin = gatewayUrl.origin;
    state.config = {
      gateway: state.gateway,
      buyerToken: opts.buyerToken || data.buyerToken || '',
      productId: opts.productId || data.productId || '',
    };
    state.sessionId = loadSessionId(ownerOf(state.config.buyerToken));
    state.started = start().catch((err) => {
      if (window.console) window.console.error('[qinkefu]', err);
    });
    return state.started;
  }

  const api = { init, open, close, socket: null };
  window.QinkefuWidget = api;

  // Auto-init when the script tag carries configuration (data-gateway, data-buyer-token, ...).
  if (ownScript && Object.keys(ownScript.dataset).length) init();
})();
