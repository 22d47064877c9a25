/*
 * 亲客服 (Qinkefu) agent console.
 *
 * A shop agent reviews the bot's suggested replies (send / edit / reject), answers buyers who
 * asked for a human and takes conversations over. Served at /agent; talks to /agent/api/* and the
 * "/agent" socket.io namespace (authenticated by the HttpOnly cookie set at login).
 *
 * Plain ES2019, no dependencies besides the socket.io-client browser build served by the gateway
 * and staff.js (the helpers both staff consoles share), which the page loads first.
 * Security rule: server data only ever reaches the DOM through textContent / setAttribute.
 * UI text comes from GET /agent/strings; a missing string falls back to its key.
 */
(() => {
  'use strict';

  const POLL_MS = 5000;       // fallback queue refresh when the socket is quiet or down
  const SHORT_TEXT = 40;      // characters of buyer text shown in a queue item
  const SLA_RANK = { green: 0, amber: 1, red: 2 };
  const EDITABLE = 'textarea, input, select, [contenteditable="true"]';

  const root = document.getElementById('agent-root');
  if (!root) return;

  const state = {
    strings: {},
    view: null,          // 'login' | 'console'
    me: null,            // {username, role}
    queue: { conversations: [], sla: {} }, // the buyer list: one row per conversation
    queueAt: 0,          // Date.now() when the queue was fetched (base for local timers)
    metrics: null,
    intents: [],
    labels: {},          // intent -> its Chinese name
    sel: null,           // {sessionId} of the open conversation
    selRow: null,        // its last known buyer-list row
    session: null,       // GET /agent/api/sessions/{id} of the selection (messages, pending drafts)
    context: null,       // GET /agent/api/sessions/{id}/context (orders, viewed product)
    sessionSeq: 0,       // guards against out-of-order session responses
    mode: null,          // null | 'edit' | 'reject'
    drafts: { edit: '', reject: '', free: '' },
    busy: false,         // an action request is in flight
    socket: null,
    intervals: [],
    dom: {},
    seen: null,          // session id -> unread count at the last poll (for notifications)
    phrases: [],         // quick phrases: [{id, title, text}]
    phraseVariables: [],
    phraseQuery: '',
    phraseEditing: false,
    search: null,        // {query, results} while search results replace the buyer list
    sound: (() => { try { return window.localStorage.getItem('qkf-agent-sound') === '1'; } catch (_) { return false; } })(),
    audio: null,
    baseTitle: document.title,
  };

  // ---------------------------------------------------------------- shared staff helpers (staff.js)
  const { el, segment } = window.QinkefuStaff;
  const staff = window.QinkefuStaff.createConsole({
    prefix: 'agent',
    root,
    state,
    start: startConsole,
    stop: stopConsole,
  });
  const { t, api, quiet, logout } = staff;

  // ---------------------------------------------------------------- small helpers
  const shorten = (text, max) => {
    const s = String(text || '').replace(/\s+/g, ' ').trim();
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
  };
  const fixed2 = (n) => (Number.isFinite(Number(n)) && n !== null ? Number(n).toFixed(2) : '–');
  const pad2 = (n) => String(n).padStart(2, '0');

  // 75 -> "1:15", 3725 -> "1:02:05"
  function duration(seconds) {
    const s = Math.max(0, Math.floor(Number(seconds) || 0));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h ? `${h}:${pad2(m)}:${pad2(s % 60)}` : `${m}:${pad2(s % 60)}`;
  }

  // Seconds with the localised unit; the unit string may carry a {n} placeholder.
  function secondsText(n) {
    const unit = t('seconds');
    const num = Number.isFinite(Number(n)) && n !== null ? String(Math.round(Number(n) * 10) / 10) : '–';
    return unit.includes('{n}') ? unit.replace('{n}', num) : `${num} ${unit}`;
  }

  // Server SLA, escalated locally as the timer runs past the amber / red thresholds.
  function slaFor(serverSla, seconds) {
    const { amber, red } = state.queue.sla || {};
    let local = 'green';
    if (Number.isFinite(red) && seconds >= red) local = 'red';
    else if (Number.isFinite(amber) && seconds >= amber) local = 'amber';
    const server = SLA_RANK[serverSla] === undefined ? 'green' : serverSla;
    return SLA_RANK[local] > SLA_RANK[server] ? local : server;
  }

  const elapsed = () => (state.queueAt ? (Date.now() - state.queueAt) / 1000 : 0);
  
  // ---------------------------------------------------------------- notices
  function notice(text) {
    const box = state.dom.notice;
    if (!box) return;
    box.textContent = text || ''; // the live region stays in the DOM; CSS collapses it when empty
  }

  function failNotice(res) {
    notice(res.data.error ? String(res.data.error) : `HTTP ${res.status}`);
  }

  // ---------------------------------------------------------------- names shown to agents
  // The buyer's name, else 访客 + a short id (never a bare UUID).
  function buyerName(row) {
    if (row && row.buyer_name) return String(row.buyer_name);
    if (row && row.buyer_id) return String(row.buyer_id);
    const id = String((row && row.session_id) || '').replace(/[^A-Za-z0-9]/g, '');
    return `${t('visitor')} ${id.slice(0, 6)}`;
  }

  // An intent in Chinese (from the shop's intent names), the English name on hover.
  function intentEl(intent, attrs) {
    const name = intent ? String(intent) : '';
    return el('span', Object.assign({ class: 'agent-intent-name', title: name || null, 'data-intent': name || null, text: name ? (state.labels[name] || name) : '–' }, attrs || {}));
  }
  const intentText = (intent) => (intent ? `${state.labels[intent] || intent}（${intent}）` : '–');

  // ---------------------------------------------------------------- console shell
  function startConsole() {
    state.view = 'console';
    const dom = state.dom;
    dom.metrics = el('div', { class: 'agent-metrics', role: 'group', 'aria-label': t('metrics_title'), 'data-testid': 'agent-metrics' });
    dom.queue = el('ul', { class: 'agent-list', 'aria-label': t('buyer_list'), 'data-testid': 'agent-queue' });
    dom.notice = el('div', { class: 'agent-notice', role: 'status', 'aria-live': 'polite', 'data-testid': 'agent-notice' });
    dom.detail = el('section', { class: 'agent-detail', 'aria-live': 'off', 'data-testid': 'agent-detail' });
    dom.sideContext = el('div', { class: 'agent-side-context' });
    dom.phrases = el('section', { class: 'agent-side-phrases', 'aria-label': t('phrases'), 'data-testid': 'agent-phrase-box' });
    dom.side = el('aside', { class: 'agent-side', 'aria-label': t('buyer_info'), 'data-testid': 'agent-side' }, dom.sideContext, dom.phrases);

    const sound = el('input', { type: 'checkbox', id: 'agent-sound', checked: state.sound, 'data-testid': 'agent-sound' });
    sound.addEventListener('change', () => {
      state.sound = sound.checked;
      try { window.localStorage.setItem('qkf-agent-sound', state.sound ? '1' : '0'); } catch (_) { /* private mode */ }
      if (state.sound) beep();
    });
    const alerts = el('span', { class: 'agent-alerts' },
      ('Notification' in window && window.Notification.permission === 'default')
        ? el('button', { type: 'button', class: 'staff-btn staff-btn-light', 'data-testid': 'agent-notify-on', text: t('notify_on'), onclick: askNotifications })
        : null,
      el('label', { class: 'agent-sound-label', for: 'agent-sound' }, sound, ` ${t('sound')}`));

    const header = el('header', { class: 'staff-header' },
      el('h1', { class: 'staff-title', text: t('title') }),
      dom.metrics,
      alerts,
      el('div', { class: 'staff-user' },
        el('span', { class: 'agent-username', text: (state.me && state.me.username) || '' }),
        el('button', { type: 'button', class: 'staff-btn staff-btn-light', text: t('logout'), 'data-testid': 'agent-logout', onclick: logout })));

    dom.searchBox = el('div', { class: 'agent-search-results', hidden: true, 'data-testid': 'agent-search-results' });
    const nav = el('nav', { class: 'agent-nav', 'aria-label': t('buyer_list') },
      renderSearchForm(), dom.searchBox,
      dom.listTitle = el('h2', { text: t('buyer_list') }), dom.queue,
      el('p', { class: 'agent-keys', text: t('keys_help') }));

    const main = el('main', { class: 'agent-main' }, dom.notice, dom.detail);

    root.replaceChildren(el('div', { class: 'agent-shell' }, header, el('div', { class: 'agent-body' }, nav, main, dom.side)));
    root.removeAttribute('aria-busy');
    renderMetrics();
    renderQueue();
    renderDetail();
    renderSide();
    renderPhrases();

    refreshQueue();
    refreshMetrics();
    loadIntents();
    loadPhrases();
    connectSocket();
    state.intervals.push(setInterval(() => { refreshQueue(); refreshMetrics(); }, POLL_MS));
    state.intervals.push(setInterval(tickTimers, 1000));
  }

  function stopConsole() {
    state.intervals.forEach(clearInterval);
    state.intervals = [];
    if (state.socket) {
      state.socket.removeAllListeners();
      state.socket.disconnect();
      state.socket = null;
    }
    document.title = state.baseTitle;
    Object.assign(state, {
      view: null, me: null, queue: { conversations: [], sla: {} }, queueAt: 0, metrics: null,
      sel: null, selRow: null, session: null, context: null, mode: null, drafts: { edit: '', reject: '', free: '' }, busy: false, dom: {},
      seen: null, search: null,
    });
  }

  // ---------------------------------------------------------------- live updates
  function connectSocket() {
    if (typeof window.io !== 'function') return; // vendor script missing: polling still works
    const socket = window.io('/agent', { path: '/socket.io', transports: ['websocket', 'polling'], withCredentials: true });
    state.socket = socket;
    socket.on('connect', () => { refreshQueue(); refreshMetrics(); }); // catch up after (re)connecting
    socket.on('queue_changed', () => { refreshQueue(); refreshMetrics(); });
    socket.on('suggestion', () => refreshQueue());
    socket.on('handled', (data) => {
      const cur = currentSuggestion();
      if (!data || !cur || String(data.id) !== String(cur.id)) return;
      if (data.handled_by && state.me && data.handled_by === state.me.username) return; // our own action
      notice(`${t('handled_by')} ${data.handled_by || ''}`.trim());
      loadSession();
    });
    socket.on('buyer_message', (data) => {
      if (!data || !data.message || !state.session) return;
      if (String(data.session_id) !== String(state.session.session_id)) return;
      appendMessage(data.message);
    });
  }

  // Coalesce refreshes: at most one request in flight, one more queued behind it.
  let queueRun = null;
  let queueAgain = false;
  function refreshQueue() {
    if (queueRun) { queueAgain = true; return queueRun; }
    queueRun = (async () => {
      do {
        queueAgain = false;
        try {
          const res = await api('/agent/api/queue');
          if (res.ok && state.view === 'console') applyQueue(res.data);
        } catch (err) { quiet(err); }
      } while (queueAgain && state.view === 'console');
    })().finally(() => { queueRun = null; });
    return queueRun;
  }

  async function refreshMetrics() {
    try {
      const res = await api('/agent/api/metrics');
      if (res.ok && state.view === 'console') { state.metrics = res.data; renderMetrics(); }
    } catch (err) { quiet(err); }
  }

  async function loadIntents() {
    try {
      const res = await api('/agent/api/intents');
      if (res.ok && Array.isArray(res.data.intents)) {
        state.intents = res.data.intents.map(String);
        state.labels = res.data.labels && typeof res.data.labels === 'object' ? res.data.labels : {};
        renderQueue();
        renderDetail();
      }
    } catch (err) { quiet(err); }
  }

  // What makes a row worth reloading the open conversation for.
  const rowKey = (row) => (row ? `${(row.suggestion_ids || []).join(',')}|${row.taken_over_by || ''}|${row.human_requested}` : '');

  function applyQueue(data) {
    state.queue = {
      conversations: Array.isArray(data.conversations) ? data.conversations : [],
      sla: data.sla && typeof data.sla === 'object' ? data.sla : {},
    };
    state.queueAt = Date.now();
    alertNewWaiting();

    const sel = state.sel;
    if (sel) {
      const fresh = findRow(sel.sessionId);
      const mine = state.session && state.me && state.session.taken_over_by === state.me.username;
      if (fresh) {
        const before = rowKey(state.selRow);
        state.selRow = fresh;
        if (before !== rowKey(fresh)) loadSession();
      } else if (!mine && !sel.pinned) {
        state.sel = null; // answered (by us or someone else): move on to the next buyer
      }
    }

    renderQueue();
    if (!state.sel) {
      const next = state.queue.conversations.find((r) => r.waiting_seconds !== null) || null;
      if (next) selectRow(next);
      else { state.selRow = null; state.session = null; state.context = null; renderDetail(); renderSide(); }
    }
  }

  const findRow = (sessionId) => state.queue.conversations.find((r) => String(r.session_id) === String(sessionId)) || null;

  // ---------------------------------------------------------------- notifications
  // A buyer starts waiting (a new row, or more unread in one): tab title, notification, sound.
  function alertNewWaiting() {
    const rows = state.queue.conversations.filter((r) => r.waiting_seconds !== null);
    const total = rows.reduce((n, r) => n + (Number(r.unread) || 0), 0);
    document.title = total ? `(${total}) ${state.baseTitle}` : state.baseTitle;
    const before = state.seen;
    state.seen = new Map(rows.map((r) => [String(r.session_id), Number(r.unread) || 0]));
    if (!before) return; // the first load is not news
    const fresh = rows.filter((r) => (Number(r.unread) || 0) > (before.get(String(r.session_id)) || 0));
    if (!fresh.length) return;
    if (state.sound) beep();
    if ('Notification' in window && window.Notification.permission === 'granted' && document.hidden) {
      const row = fresh[0];
      try {
        const note = new window.Notification(t('new_waiting'), { body: `${buyerName(row)}：${shorten(row.last_text, SHORT_TEXT)}`, tag: 'qkf-agent' });
        note.onclick = () => { window.focus(); selectRow(row); note.close(); };
      } catch (err) { quiet(err); }
    }
  }

  async function askNotifications(event) {
    try {
      await window.Notification.requestPermission();
    } catch (err) { quiet(err); }
    if (event && event.target) event.target.remove();
  }

  // A short two-tone chime made by the browser (no sound file).
  function beep() {
    try {
      const Audio = window.AudioContext || window.webkitAudioContext;
      if (!Audio) return;
      const audio = state.audio || (state.audio = new Audio());
      [[880, 0], [660, 0.15]].forEach(([hz, at]) => {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.frequency.value = hz;
        gain.gain.setValueAtTime(0.15, audio.currentTime + at);
        gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + at + 0.14);
        osc.connect(gain).connect(audio.destination);
        osc.start(audio.currentTime + at);
        osc.stop(audio.currentTime + at + 0.15);
      });
    } catch (err) { quiet(err); }
  }

  // ---------------------------------------------------------------- header metrics
  function renderMetrics() {
    const box = state.dom.metrics;
    if (!box) return;
    const m = state.metrics || {};
    const totals = { accepted: 0, edited: 0, rejected: 0 };
    Object.values(m.per_intent || {}).forEach((row) => {
      Object.keys(totals).forEach((k) => { totals[k] += Number(row && row[k]) || 0; });
    });
    let share = Number(m.auto_send_share);
    share = Number.isFinite(share) && m.auto_send_share !== null ? share : null;
    if (share !== null && share <= 1) share *= 100; // a fraction 0..1 (a value above 1 is taken as a percentage)

    const item = (label, value) => el('span', { class: 'agent-metric' },
      el('span', { class: 'agent-metric-label', text: label }), ' ', el('strong', { text: value }));
    box.replaceChildren(
      el('span', { class: 'staff-visually-hidden', text: t('metrics_title') }),
      item(t('accepted'), totals.accepted),
      item(t('edited'), totals.edited),
      item(t('rejected'), totals.rejected),
      item(t('median_review'), m.median_review_seconds === null || m.median_review_seconds === undefined ? '–' : secondsText(m.median_review_seconds)),
      item(t('auto_send_share'), share === null ? '–' : `${Math.round(share * 10) / 10}%`));
  }

  // ---------------------------------------------------------------- buyer list
  function slaBadge(sla) {
    return el('span', { class: `agent-sla agent-sla-${sla}`, text: t(`sla_${sla}`) });
  }

  function timer(seconds) {
    return el('span', { class: 'agent-timer', 'data-base': Number(seconds) || 0, text: duration(seconds) });
  }

  function renderQueue() {
    const { queue } = state.dom;
    if (!queue) return;
    const active = document.activeElement;
    const focusKey = active && root.contains(active) && active.dataset ? active.dataset.sessionId : null;
    const now = elapsed();

    queue.replaceChildren(...state.queue.conversations.map((r) => {
      const waits = r.waiting_seconds !== null && r.waiting_seconds !== undefined;
      const sla = waits ? slaFor(r.sla, (Number(r.waiting_seconds) || 0) + now) : 'none';
      const unread = Number(r.unread) || 0;
      return el('li', null, el('button', {
        type: 'button',
        class: `agent-item agent-item-${sla}`,
        'data-testid': 'agent-buyer-row',
        'data-session-id': r.session_id,
        'data-sla': sla,
        'aria-current': isSelected(r.session_id) ? 'true' : null,
        onclick: () => selectRow(r),
      },
      el('span', { class: 'agent-item-top' },
        el('strong', { class: 'agent-item-name', 'data-testid': 'agent-buyer-name', text: buyerName(r) }),
        unread ? el('span', { class: 'agent-unread', 'data-testid': 'agent-unread', 'aria-label': `${unread} ${t('unread')}`, text: String(unread) }) : null,
        waits ? slaBadge(sla) : null),
      el('span', { class: 'agent-item-text', text: shorten(r.last_text, SHORT_TEXT) }),
      el('span', { class: 'agent-item-meta' },
        waits ? timer(r.waiting_seconds) : null,
        r.intent ? [waits ? ' · ' : '', intentEl(r.intent)] : null,
        r.human_requested ? ` · ${t('wants_human')}` : '',
        r.taken_over_by ? ` · ${t('taken_over_by')} ${r.taken_over_by}` : '')));
    }));
    if (!state.queue.conversations.length) queue.append(el('li', { class: 'agent-empty', text: t('empty_queue') }));

    // Keep keyboard focus on the same row across re-renders.
    if (focusKey) {
      const again = queue.querySelector(`[data-session-id="${CSS.escape(focusKey)}"]`);
      if (again) again.focus();
    }
  }

  // Every second: advance the waiting timers and escalate SLA badges locally.
  function tickTimers() {
    const now = elapsed();
    root.querySelectorAll('.agent-item').forEach((item) => {
      const clock = item.querySelector('.agent-timer');
      if (!clock) return;
      const seconds = Number(clock.dataset.base) + now;
      clock.textContent = duration(seconds);
      const sla = slaFor(item.dataset.sla, seconds);
      if (sla !== item.dataset.sla) {
        item.dataset.sla = sla;
        item.className = `agent-item agent-item-${sla}`;
        const badge = item.querySelector('.agent-sla');
        if (badge) badge.replaceWith(slaBadge(sla));
      }
    });
  }

  // ---------------------------------------------------------------- selection
  const isSelected = (sessionId) => Boolean(state.sel && String(state.sel.sessionId) === String(sessionId));

  // ``pinned``: opened from the search results, kept open though it waits for nobody.
  function selectRow(row, pinned) {
    if (isSelected(row.session_id)) return;
    state.sel = { sessionId: row.session_id, pinned: Boolean(pinned) };
    state.selRow = row;
    state.session = null;
    state.context = null;
    state.mode = null;
    state.drafts = { edit: '', reject: '', free: '' };
    root.querySelectorAll('.agent-nav .agent-item').forEach((node) => {
      if (isSelected(node.dataset.sessionId)) node.setAttribute('aria-current', 'true'); else node.removeAttribute('aria-current');
    });
    renderDetail();
    renderSide();
    loadSession();
    loadContext();
  }

  // ArrowUp / ArrowDown through the buyer list.
  function moveSelection(delta) {
    const list = state.queue.conversations;
    if (!list.length) return;
    const index = state.sel ? list.findIndex((r) => isSelected(r.session_id)) : -1;
    const next = index < 0 ? (delta > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, index + delta));
    const inQueue = state.dom.queue && state.dom.queue.contains(document.activeElement);
    selectRow(list[next]);
    if (inQueue) {
      const button = state.dom.queue.querySelector(`[data-session-id="${CSS.escape(String(list[next].session_id))}"]`);
      if (button) button.focus();
    }
  }

  async function loadSession() {
    const sel = state.sel;
    if (!sel) return;
    const seq = ++state.sessionSeq;
    try {
      const res = await api(`/agent/api/sessions/${segment(sel.sessionId)}`);
      if (seq !== state.sessionSeq || state.sel !== sel) return; // selection moved on meanwhile
      if (res.ok) {
        const before = currentSuggestion();
        state.session = res.data;
        const after = currentSuggestion();
        if (!before || !after || String(before.id) !== String(after.id)) {
          state.mode = null; // the draft being edited or rejected is gone
          state.drafts.edit = '';
          state.drafts.reject = '';
        }
        renderDetail();
      } else failNotice(res);
    } catch (err) { quiet(err); }
  }

  async function loadContext() {
    const sel = state.sel;
    if (!sel) return;
    try {
      const res = await api(`/agent/api/sessions/${segment(sel.sessionId)}/context`);
      if (state.sel !== sel) return;
      state.context = res.ok ? res.data : { error: true };
      renderSide();
    } catch (err) { quiet(err); }
  }

  const takenOverBy = () => {
    if (state.session) return state.session.taken_over_by || null;
    return (state.selRow && state.selRow.taken_over_by) || null;
  };
  // The draft under review: the conversation's oldest waiting one.
  const currentSuggestion = () => {
    const pending = state.session && Array.isArray(state.session.pending) ? state.session.pending : [];
    return pending.length ? pending[0] : null;
  };
  const hasSuggestion = () => Boolean(state.sel && currentSuggestion());

  // ---------------------------------------------------------------- detail pane
  function renderMessage(msg) {
    const role = ['buyer', 'bot', 'agent', 'system'].includes(msg.role) ? msg.role : 'system';
    const item = el('li', { class: `agent-msg agent-msg-${role}`, 'data-message-id': msg.id, 'data-role': role, 'data-testid': 'agent-msg' },
      el('span', { class: 'agent-msg-role', text: t(`role_${role}`, role) }),
      msg.quote && msg.quote.text ? el('span', { class: 'agent-msg-quote', text: shorten(msg.quote.text, 60) }) : null,
      msg.text ? el('p', { class: 'agent-msg-text', text: msg.text }) : null);
    if (typeof msg.image === 'string' && msg.image.startsWith('/uploads/')) {
      item.append(el('img', { class: 'agent-photo', src: msg.image, alt: t('photos'), loading: 'lazy' }));
    }
    if (msg.card) item.append(renderCard(msg.card));
    return item;
  }

  function appendMessage(msg) {
    if (!state.session) return;
    const messages = state.session.messages || (state.session.messages = []);
    if (msg.id !== undefined && messages.some((m) => m.id === msg.id)) return;
    messages.push(msg);
    const list = state.dom.conversation;
    if (list) {
      list.append(renderMessage(msg));
      list.scrollTop = list.scrollHeight;
    }
    if (msg.role === 'buyer' && state.dom.latest) state.dom.latest.textContent = msg.text || t('photos');
  }

  // Same-origin paths only (the shop's product pictures, uploaded photos).
  const safeImage = (url) => (typeof url === 'string' && url.startsWith('/') && !url.startsWith('//') ? url : null);

  // A card as the buyer sees it in the widget: a product (picture, name, price, stock) or an
  // order (number, items, state, courier, last tracking event).
  function renderCard(card) {
    if (!card || typeof card !== 'object') return el('div', { class: 'agent-card', text: String(card) });
    const line = (cls, value) => (value === null || value === undefined || value === '' ? null : el('div', { class: cls, text: String(value) }));
    if (card.type === 'product') {
      const src = safeImage(card.image);
      return el('div', { class: 'agent-card agent-card-product', 'data-testid': 'agent-product-card', 'data-product-id': card.product_id },
        src ? el('img', { class: 'agent-card-image', src, alt: String(card.name || '') }) : null,
        el('div', { class: 'agent-card-body' },
          line('agent-card-title', card.name),
          card.price !== undefined && card.price !== null && card.price !== '' ? line('agent-card-price', `¥${card.price}`) : null,
          line(`agent-card-stock ${card.in_stock ? 'agent-card-stock-in' : 'agent-card-stock-out'}`, card.stock_label)));
    }
    if (card.type === 'order') {
      return el('div', { class: 'agent-card agent-card-order', 'data-testid': 'agent-order-card', 'data-order-id': card.order_id },
        line('agent-card-title', card.order_id ? `${t('order_no')} ${card.order_id}` : null),
        line('agent-card-items', card.items),
        line('agent-card-status', card.status_label),
        line('agent-card-courier', card.courier),
        line('agent-card-event', [card.last_event, card.last_event_time].filter(Boolean).join(' · ')));
    }
    return null; // unknown card types: the widget ignores them too
  }

  function renderReply(reply) {
    const article = el('article', { class: 'agent-reply', 'data-testid': 'agent-reply' },
      reply.text ? el('p', { class: 'agent-reply-text', text: reply.text }) : null);
    if (Array.isArray(reply.buttons) && reply.buttons.length) {
      article.append(el('ul', { class: 'agent-chips' }, reply.buttons.map((b) => el('li', { text: b.title || b.payload || '' }))));
    }
    if (reply.card) article.append(renderCard(reply.card));
    const values = reply.values && typeof reply.values === 'object' ? reply.values : {};
    const sources = reply.sources && typeof reply.sources === 'object' ? reply.sources : {};
    const names = Array.from(new Set([...Object.keys(values), ...Object.keys(sources)]));
    if (reply.response || names.length) {
      const show = (v) => (v === null || v === undefined ? '–' : (typeof v === 'object' ? JSON.stringify(v) : String(v)));
      article.append(el('details', { class: 'agent-reply-details' },
        el('summary', { text: t('template_details') }),
        reply.response ? el('p', { class: 'agent-reply-meta' }, `${t('template')}: `, el('code', { text: reply.response })) : null,
        names.length ? el('table', { class: 'agent-values', 'data-testid': 'agent-values' },
          el('thead', null, el('tr', null, el('td'), el('th', { scope: 'col', text: t('value') }), el('th', { scope: 'col', text: t('source') }))),
          el('tbody', null, names.map((name) => el('tr', null,
            el('th', { scope: 'row' }, el('code', { text: name })),
            el('td', { text: show(values[name]) }),
            el('td', { text: show(sources[name]) }))))) : null));
    }
    return article;
  }

  function renderSuggestion(s) {
    const next = (Array.isArray(s.ranking) ? s.ranking : []).filter((r) => r && r.intent !== s.intent).slice(0, 2);
    const count = state.session && Array.isArray(state.session.pending) ? state.session.pending.length : 1;
    return el('section', { class: 'agent-suggestion', 'aria-label': t('replies'), 'data-suggestion-id': s.id },
      el('h3', null, t('buyer_said'), count > 1 ? el('span', { class: 'agent-more', 'data-testid': 'agent-pending-count', text: ` · ${count} ${t('pending_count')}` }) : null),
      el('p', { class: 'agent-buyer-text', 'data-testid': 'agent-buyer-text', text: s.buyer_text || '' }),
      el('p', { class: 'agent-intent-line' },
        `${t('intent')}: `, intentEl(s.intent, { 'data-testid': 'agent-intent', class: 'agent-intent-name agent-intent-main' }),
        ` · ${t('confidence')}: `, el('span', { 'data-testid': 'agent-confidence', text: fixed2(s.confidence) }),
        next.length ? [` · ${t('next_intents')}: `, next.map((r, i) => [i ? '、' : '', intentEl(r.intent), ` (${fixed2(r.confidence)})`])] : null),
      el('h3', { text: t('replies') }),
      (Array.isArray(s.replies) ? s.replies : []).map(renderReply));
  }

  // The action bar stays at the bottom of the pane while the conversation and drafts scroll.
  function renderActions() {
    const bar = el('div', { class: 'staff-actions agent-actions', 'data-testid': 'agent-actions' });
    const busy = state.busy;
    if (hasSuggestion()) {
      bar.append(
        el('button', { type: 'button', class: 'staff-btn staff-btn-primary', disabled: busy, 'data-testid': 'agent-send', onclick: sendSuggestion },
          t('send'), el('kbd', { text: 'Enter' })),
        el('button', { type: 'button', class: 'staff-btn', disabled: busy, 'aria-expanded': String(state.mode === 'edit'), 'data-testid': 'agent-edit', onclick: openEdit },
          t('edit'), el('kbd', { text: 'E' })),
        el('button', { type: 'button', class: 'staff-btn staff-btn-danger', disabled: busy, 'aria-expanded': String(state.mode === 'reject'), 'data-testid': 'agent-reject', onclick: openReject },
          t('reject'), el('kbd', { text: 'R' })));
    }
    const owner = takenOverBy();
    bar.append(owner
      ? el('button', { type: 'button', class: 'staff-btn', disabled: busy, 'data-testid': 'agent-handback', onclick: toggleTakeover }, t('handback'), el('kbd', { text: 'T' }))
      : el('button', { type: 'button', class: 'staff-btn', disabled: busy, 'data-testid': 'agent-takeover', onclick: toggleTakeover }, t('takeover'), el('kbd', { text: 'T' })));
    return bar;
  }

  function renderEditPanel() {
    const area = el('textarea', { id: 'agent-edit-text', rows: 4, class: 'agent-textarea', 'data-testid': 'agent-edit-text', value: state.drafts.edit });
    area.addEventListener('input', () => { state.drafts.edit = area.value; });
    area.addEventListener('keydown', (e) => {
      if (phrasePickerKey(e, area, 'edit')) return;
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submitEdit(); }
      if (e.key === 'Escape') closePanel();
    });
    return el('div', { class: 'agent-panel', 'data-testid': 'agent-edit-panel' },
      el('label', { for: 'agent-edit-text', text: t('edit') }), area, phraseHelp(area, 'edit'),
      el('div', { class: 'staff-actions' },
        el('button', { type: 'button', class: 'staff-btn staff-btn-primary', disabled: state.busy, 'data-testid': 'agent-edit-submit', onclick: submitEdit },
          t('submit_edit'), el('kbd', { text: 'Ctrl+Enter' })),
        el('button', { type: 'button', class: 'staff-btn', onclick: closePanel, text: t('cancel') })));
  }

  function renderRejectPanel() {
    const s = currentSuggestion() || {};
    const known = new Set(state.intents);
    const extra = [s.intent, ...(s.ranking || []).map((r) => r && r.intent)].filter((i) => i && !known.has(i));
    const select = el('select', { id: 'agent-reject-intent', class: 'agent-select', 'data-testid': 'agent-reject-intent' },
      el('option', { value: '', text: t('choose_intent') }),
      [...state.intents, ...new Set(extra)].map((intent) => el('option', { value: intent, text: intentText(intent) })));
    select.value = state.drafts.reject;
    select.addEventListener('change', () => { state.drafts.reject = select.value; });
    select.addEventListener('keydown', (e) => { if (e.key === 'Escape') closePanel(); });
    // The confirm button sits beside the list, so it is on screen as soon as the panel is.
    return el('div', { class: 'agent-panel agent-reject-panel', 'data-testid': 'agent-reject-panel' },
      el('label', { for: 'agent-reject-intent', text: t('choose_intent') }),
      el('div', { class: 'agent-reject-row' }, select,
        el('button', { type: 'button', class: 'staff-btn staff-btn-danger', disabled: state.busy, 'data-testid': 'agent-reject-submit', onclick: submitReject, text: t('confirm_reject') }),
        el('button', { type: 'button', class: 'staff-btn', onclick: closePanel, text: t('cancel') })));
  }

  function renderTakeoverPanel(owner) {
    const area = el('textarea', { id: 'agent-free-text', rows: 3, class: 'agent-textarea', placeholder: t('free_text_placeholder'), 'data-testid': 'agent-free-text', value: state.drafts.free });
    area.addEventListener('input', () => { state.drafts.free = area.value; });
    area.addEventListener('keydown', (e) => {
      if (phrasePickerKey(e, area, 'free')) return;
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); sendFreeText(); }
    });
    const messages = (state.session && state.session.messages) || [];
    const latest = [...messages].reverse().find((m) => m.role === 'buyer');
    state.dom.latest = el('p', { class: 'agent-buyer-text', 'data-testid': 'agent-latest-buyer-text', text: latest ? (latest.text || t('photos')) : '–' });
    return el('div', { class: 'agent-panel agent-takeover', 'data-testid': 'agent-takeover-panel' },
      el('p', { class: 'agent-owner', text: `${t('taken_over_by')} ${owner}` }),
      el('h3', { text: t('latest_buyer_text') }), state.dom.latest,
      el('label', { for: 'agent-free-text', class: 'staff-visually-hidden', text: t('free_text_placeholder') }), area, phraseHelp(area, 'free'),
      el('div', { class: 'staff-actions' },
        el('button', { type: 'button', class: 'staff-btn staff-btn-primary', disabled: state.busy, 'data-testid': 'agent-free-send', onclick: sendFreeText }, t('free_send'), el('kbd', { text: 'Ctrl+Enter' }))));
  }

  // Rebuilds the whole detail pane; drafts live in state and focus is restored by test id.
  function renderDetail() {
    const detail = state.dom.detail;
    if (!detail) return;
    const active = document.activeElement;
    const focusId = active && detail.contains(active) ? active.getAttribute('data-testid') : null;
    const caret = focusId && active.tagName === 'TEXTAREA' ? [active.selectionStart, active.selectionEnd] : null;
    const sel = state.sel;
    const current = currentSuggestion();

    if (current) detail.setAttribute('data-suggestion-id', current.id); else detail.removeAttribute('data-suggestion-id');
    if (sel) detail.setAttribute('data-session-id', sel.sessionId); else detail.removeAttribute('data-session-id');
    state.dom.conversation = null;
    state.dom.latest = null;

    if (!sel) {
      detail.replaceChildren(el('p', { class: 'agent-empty', text: t('empty_queue') }));
      return;
    }

    const session = state.session;
    const who = buyerName(Object.assign({ session_id: sel.sessionId }, state.selRow || {}, session ? { buyer_id: session.buyer_id, buyer_name: session.buyer_name } : {}));
    const conversation = el('ol', { class: 'agent-conversation', tabindex: '0', 'aria-label': t('conversation'), 'data-testid': 'agent-conversation' },
      session ? (session.messages || []).map(renderMessage) : el('li', { class: 'agent-empty', text: '…' }));
    state.dom.conversation = conversation;

    const parts = [
      el('div', { class: 'agent-detail-head' },
        el('h2', { class: 'agent-detail-title' }, `${t('conversation')} · `, el('span', { 'data-testid': 'agent-detail-buyer', text: who })),
        el('span', { class: 'agent-exports' }, ['csv', 'jsonl'].map((kind) => el('a', {
          class: 'staff-btn staff-btn-small', 'data-testid': `agent-export-${kind}`, download: '',
          href: `/agent/api/export?format=${kind}&session_id=${encodeURIComponent(sel.sessionId)}`, text: t(`export_${kind}`),
        })))),
      conversation,
    ];
    const owner = takenOverBy();
    if (owner) parts.push(renderTakeoverPanel(owner)); // chatting comes first while taken over
    if (current) parts.push(renderSuggestion(current));
    else if (!owner && state.selRow && state.selRow.last_text) {
      parts.push(el('section', { class: 'agent-suggestion' },
        el('h3', { text: t('buyer_said') }),
        el('p', { class: 'agent-buyer-text', 'data-testid': 'agent-buyer-text', text: state.selRow.last_text })));
    }

    const photos = session && Array.isArray(session.photos) ? session.photos : [];
    if (photos.length) {
      parts.push(el('section', { class: 'agent-photos' }, el('h3', { text: t('photos') }),
        el('div', { class: 'agent-photo-row' }, photos.map((url, i) => (typeof url === 'string' && url.startsWith('/uploads/')
          ? el('a', { href: url, target: '_blank', rel: 'noopener' }, el('img', { class: 'agent-photo', src: url, alt: `${t('photos')} ${i + 1}`, loading: 'lazy' }))
          : el('span', { class: 'agent-card', text: String(url) }))))));
    }

    parts.push(renderActions());
    if (current && state.mode === 'edit') parts.push(renderEditPanel());
    if (current && state.mode === 'reject') parts.push(renderRejectPanel());

    detail.replaceChildren(...parts);
    conversation.scrollTop = conversation.scrollHeight;
    if (focusId) {
      const again = detail.querySelector(`[data-testid="${CSS.escape(focusId)}"]`);
      if (again) {
        again.focus();
        if (caret && again.tagName === 'TEXTAREA') again.setSelectionRange(caret[0], caret[1]);
        // a quick-phrase search in progress survives the re-render
        if (again.phrasePicker && slashQuery(again)) updatePicker(again, again.phrasePicker, focusId === 'agent-edit-text' ? 'edit' : 'free');
      }
    }
  }

  // ---------------------------------------------------------------- beside the chat
  function renderSide() {
    const side = state.dom.sideContext;
    if (!side) return;
    const ctx = state.context;
    const parts = [el('h2', { text: t('buyer_info') })];
    if (!state.sel) {
      side.replaceChildren(...parts);
      return;
    }
    if (!ctx) {
      parts.push(el('p', { class: 'agent-empty', text: '…' }));
    } else if (ctx.error) {
      parts.push(el('p', { class: 'agent-empty', text: t('shop_down') }));
    } else {
      const product = ctx.product;
      parts.push(el('h3', { text: t('viewing') }));
      parts.push(product ? el('div', { class: 'agent-side-product', 'data-testid': 'agent-viewed-product' },
        safeImage(product.image) ? el('img', { class: 'agent-card-image', src: safeImage(product.image), alt: String(product.name || '') }) : null,
        el('div', { class: 'agent-card-body' },
          el('div', { class: 'agent-card-title', text: product.name }),
          el('div', { class: 'agent-card-price', text: `¥${product.price}` }),
          el('div', { class: `agent-card-stock ${product.in_stock ? 'agent-card-stock-in' : 'agent-card-stock-out'}`, text: product.in_stock ? t('in_stock') : t('out_of_stock') })))
        : el('p', { class: 'agent-empty', text: t('no_product') }));
      parts.push(el('h3', { text: t('orders') }));
      const orders = Array.isArray(ctx.orders) ? ctx.orders : [];
      parts.push(orders.length ? el('ul', { class: 'agent-orders', 'data-testid': 'agent-orders' }, orders.map((o) => el('li', { class: 'agent-order', 'data-testid': 'agent-order', 'data-order-id': o.order_id },
        el('div', { class: 'agent-order-top' },
          el('span', { class: 'agent-order-id', text: o.order_id }),
          el('span', { class: `agent-order-status agent-order-${o.status}`, 'data-testid': 'agent-order-status', text: o.status_label })),
        el('ul', { class: 'agent-order-items' }, (o.items || []).map((i) => el('li', { text: `${i.name}（${i.color} ${i.size}）×${i.qty}` }))),
        o.courier || o.tracking_no ? el('div', { class: 'agent-order-track', 'data-testid': 'agent-order-tracking', text: `${o.courier || ''} ${o.tracking_no || ''}`.trim() }) : null,
        o.last_event ? el('div', { class: 'agent-order-event', text: `${o.last_event.description}${o.last_event.location ? ` · ${o.last_event.location}` : ''} · ${shortTime(o.last_event.at)}` }) : null,
        el('button', { type: 'button', class: 'staff-btn staff-btn-small', 'data-testid': 'agent-order-insert', text: t('insert_order'), onclick: () => insertText(`${t('order_no')} ${o.order_id}`) }))))
        : el('p', { class: 'agent-empty', 'data-testid': 'agent-no-orders', text: ctx.buyer_id ? t('no_orders') : t('visitor_no_orders') }));
    }
    side.replaceChildren(...parts);
  }

  // "12-05 14:03" in the agent's time zone.
  function shortTime(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    return `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  }

  // Into the open edit box (edit or take-over), at the caret.
  function insertText(text) {
    const area = state.dom.detail && state.dom.detail.querySelector('[data-testid="agent-free-text"], [data-testid="agent-edit-text"]');
    if (!area) { notice(t('open_editor_first')); return; }
    const start = area.selectionStart ?? area.value.length;
    const end = area.selectionEnd ?? area.value.length;
    area.value = `${area.value.slice(0, start)}${text}${area.value.slice(end)}`;
    area.dispatchEvent(new Event('input'));
    area.focus();
    area.setSelectionRange(start + text.length, start + text.length);
  }

  // ---------------------------------------------------------------- search and export
  function renderSearchForm() {
    const q = el('input', { type: 'search', class: 'agent-input', name: 'q', maxlength: 64, placeholder: t('search_placeholder'), 'aria-label': t('search'), 'data-testid': 'agent-search-q' });
    const from = el('input', { type: 'date', class: 'agent-input', name: 'from', 'aria-label': t('search_from'), title: t('search_from'), 'data-testid': 'agent-search-from' });
    const to = el('input', { type: 'date', class: 'agent-input', name: 'to', 'aria-label': t('search_to'), title: t('search_to'), 'data-testid': 'agent-search-to' });
    const form = el('form', { class: 'agent-search', role: 'search', 'data-testid': 'agent-search' },
      el('div', { class: 'agent-search-row' }, q, el('button', { type: 'submit', class: 'staff-btn staff-btn-small', 'data-testid': 'agent-search-go', text: t('search_go') })),
      el('div', { class: 'agent-search-row' }, from, '–', to));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      runSearch({ q: q.value.trim(), from: from.value, to: to.value }).catch(quiet);
    });
    return form;
  }

  async function runSearch(query) {
    const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v));
    const res = await api(`/agent/api/search?${params}`);
    if (!res.ok) { notice(res.data.message || String(res.data.error || res.status)); return; }
    notice('');
    state.search = { query, results: Array.isArray(res.data.conversations) ? res.data.conversations : [] };
    renderSearch();
  }

  function renderSearch() {
    const box = state.dom.searchBox;
    if (!box) return;
    const search = state.search;
    box.hidden = !search;
    if (state.dom.listTitle) state.dom.listTitle.hidden = Boolean(search);
    if (state.dom.queue) state.dom.queue.hidden = Boolean(search);
    if (!search) { box.replaceChildren(); return; }
    const { from, to } = search.query;
    const exportLinks = from && to ? el('p', { class: 'agent-exports' }, `${t('export_range')}：`, ['csv', 'jsonl'].map((kind) => el('a', {
      class: 'staff-btn staff-btn-small', download: '', 'data-testid': `agent-export-range-${kind}`,
      href: `/agent/api/export?${new URLSearchParams({ format: kind, from, to })}`, text: t(`export_${kind}`),
    }))) : null;
    box.replaceChildren(
      el('div', { class: 'agent-phrase-head' }, el('h2', { text: t('search_results') }),
        el('button', { type: 'button', class: 'staff-btn staff-btn-small', 'data-testid': 'agent-search-clear', text: t('search_clear'), onclick: () => { state.search = null; renderSearch(); } })),
      ...(exportLinks ? [exportLinks] : []),
      el('ul', { class: 'agent-list' }, search.results.length ? search.results.map((r) => el('li', null, el('button', {
        type: 'button', class: 'agent-item agent-item-none', 'data-testid': 'agent-search-row', 'data-session-id': r.session_id,
        onclick: () => selectRow(Object.assign({ last_text: '' }, findRow(r.session_id) || {}, r), true),
      },
      el('span', { class: 'agent-item-top' }, el('strong', { class: 'agent-item-name', text: buyerName(r) })),
      el('span', { class: 'agent-item-meta' }, `${shortTime(r.last_at)} · ${r.matched_messages} ${t('search_messages')}`,
        (r.intents || []).slice(0, 3).map((i) => [' · ', intentEl(i)])))))
        : el('li', { class: 'agent-empty', text: t('search_none') })));
  }

  // ---------------------------------------------------------------- quick phrases (快捷短语)
  async function loadPhrases() {
    try {
      const res = await api('/agent/api/phrases');
      if (res.ok && Array.isArray(res.data.phrases)) {
        state.phrases = res.data.phrases;
        state.phraseVariables = Array.isArray(res.data.variables) ? res.data.variables : [];
        renderPhrases();
      }
    } catch (err) { quiet(err); }
  }

  // The order the conversation is about: the latest one named in it (text or card), else the newest.
  function conversationOrder() {
    const orders = (state.context && Array.isArray(state.context.orders)) ? state.context.orders : [];
    const messages = (state.session && state.session.messages) || [];
    for (let i = messages.length - 1; i >= 0; i -= 1) {
      const m = messages[i];
      const named = orders.find((o) => (m.text && m.text.includes(o.order_id)) || (m.card && m.card.order_id === o.order_id));
      if (named) return named;
    }
    return orders[0] || null;
  }

  // {variables} filled from the open conversation; one with no value stays visible as {name}.
  function fillPhrase(text) {
    const order = conversationOrder();
    const product = state.context && state.context.product;
    const row = Object.assign({ session_id: state.sel ? state.sel.sessionId : '' }, state.selRow || {},
      state.session ? { buyer_id: state.session.buyer_id, buyer_name: state.session.buyer_name } : {});
    const values = {
      buyer: state.session && (state.session.buyer_name || state.session.buyer_id) ? buyerName(row) : '',
      order_id: order ? order.order_id : '',
      order_status: order ? order.status_label : '',
      courier: order && order.courier ? order.courier : '',
      tracking_no: order && order.tracking_no ? order.tracking_no : '',
      product: product ? product.name : (order && order.items && order.items[0] ? order.items[0].name : ''),
      agent: (state.me && state.me.username) || '',
    };
    return String(text).replace(/\{(\w+)\}/g, (whole, name) => (values[name] ? String(values[name]) : whole));
  }

  const phraseMatches = (query) => {
    const q = String(query || '').trim().toLowerCase();
    return (state.phrases || []).filter((p) => !q || p.title.toLowerCase().includes(q) || p.text.toLowerCase().includes(q));
  };

  // "/query" just before the caret (at the start or after a space or line break), else null.
  function slashQuery(area) {
    const before = area.value.slice(0, area.selectionStart ?? area.value.length);
    const found = /(^|\s)\/([^\s/]*)$/.exec(before);
    return found ? { query: found[2], start: before.length - found[2].length - 1 } : null;
  }

  function phraseHelp(area, which) {
    const picker = el('ul', { class: 'agent-phrase-picker', role: 'listbox', hidden: true, 'aria-label': t('phrases'), 'data-testid': 'agent-phrase-picker' });
    area.setAttribute('aria-autocomplete', 'list');
    area.addEventListener('input', () => updatePicker(area, picker, which));
    area.addEventListener('blur', () => setTimeout(() => { picker.hidden = true; }, 150));
    area.phrasePicker = picker;
    return el('div', { class: 'agent-phrase-wrap' }, picker, el('p', { class: 'agent-hint', text: t('phrases_help') }));
  }

  function updatePicker(area, picker, which) {
    const slash = slashQuery(area);
    const found = slash ? phraseMatches(slash.query).slice(0, 8) : [];
    if (!slash) { picker.hidden = true; return; }
    picker.replaceChildren(...(found.length ? found.map((p, i) => el('li', {
      role: 'option', class: 'agent-phrase-option', 'data-testid': 'agent-phrase-option', 'aria-selected': i === 0 ? 'true' : 'false',
      onmousedown: (e) => { e.preventDefault(); pickPhrase(area, p, which); },
    }, el('strong', { text: p.title }), ' ', el('span', { text: shorten(fillPhrase(p.text), 50) })))
      : [el('li', { class: 'agent-empty', text: t('phrases_none') })]));
    picker.hidden = false;
  }

  function pickPhrase(area, phrase, which) {
    const slash = slashQuery(area);
    const caret = area.selectionStart ?? area.value.length;
    const start = slash ? slash.start : caret;
    const text = fillPhrase(phrase.text);
    area.value = `${area.value.slice(0, start)}${text}${area.value.slice(caret)}`;
    state.drafts[which] = area.value;
    area.focus();
    area.setSelectionRange(start + text.length, start + text.length);
    if (area.phrasePicker) area.phrasePicker.hidden = true;
  }

  // Keys while the picker is open: ↑↓ choose, Enter / Tab insert, Escape close. True when handled.
  function phrasePickerKey(e, area, which) {
    const picker = area.phrasePicker;
    if (!picker || picker.hidden) return false;
    const options = [...picker.querySelectorAll('[role="option"]')];
    const index = options.findIndex((o) => o.getAttribute('aria-selected') === 'true');
    if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); picker.hidden = true; return true; }
    if (!options.length) return false;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = (index + (e.key === 'ArrowDown' ? 1 : -1) + options.length) % options.length;
      options.forEach((o, i) => o.setAttribute('aria-selected', i === next ? 'true' : 'false'));
      return true;
    }
    if ((e.key === 'Enter' && !e.isComposing) || e.key === 'Tab') {
      e.preventDefault();
      const slash = slashQuery(area);
      const found = phraseMatches(slash ? slash.query : '').slice(0, 8);
      const chosen = found[Math.max(0, index)];
      if (chosen) pickPhrase(area, chosen, which);
      return true;
    }
    return false;
  }

  // The list beside the chat: search, insert, and (管理) add / edit / delete.
  function renderPhrases() {
    const box = state.dom.phrases;
    if (!box) return;
    const search = el('input', { type: 'search', class: 'agent-input', placeholder: t('phrases_search'), 'aria-label': t('phrases_search'), 'data-testid': 'agent-phrase-search', value: state.phraseQuery || '' });
    const list = el('ul', { class: 'agent-phrases', 'data-testid': 'agent-phrases' });
    const fillList = () => {
      const found = phraseMatches(state.phraseQuery);
      list.replaceChildren(...(found.length ? found.map((p) => (state.phraseEditing ? phraseEditor(p) : el('li', { class: 'agent-phrase', 'data-testid': 'agent-phrase', 'data-phrase-id': p.id },
        el('div', { class: 'agent-phrase-top' }, el('strong', { text: p.title }),
          el('button', { type: 'button', class: 'staff-btn staff-btn-small', 'data-testid': 'agent-phrase-insert', text: t('phrase_insert'), onclick: () => insertText(fillPhrase(p.text)) })),
        el('p', { class: 'agent-phrase-text', text: p.text }))))
        : [el('li', { class: 'agent-empty', text: t('phrases_none') })]));
    };
    search.addEventListener('input', () => { state.phraseQuery = search.value; fillList(); });
    fillList();
    box.replaceChildren(
      el('div', { class: 'agent-phrase-head' }, el('h2', { text: t('phrases') }),
        el('button', { type: 'button', class: 'staff-btn staff-btn-small', 'aria-pressed': String(Boolean(state.phraseEditing)), 'data-testid': 'agent-phrase-manage',
          text: state.phraseEditing ? t('phrases_done') : t('phrases_manage'), onclick: () => { state.phraseEditing = !state.phraseEditing; renderPhrases(); } })),
      ...(state.phraseEditing ? [phraseEditor(null)] : []),
      search, list);
  }

  // One phrase's form (null: a new one).
  function phraseEditor(phrase) {
    const title = el('input', { class: 'agent-input', maxlength: 32, 'aria-label': t('phrase_title'), placeholder: t('phrase_title'), 'data-testid': 'agent-phrase-title', value: phrase ? phrase.title : '' });
    const help = t('phrase_text').replace('{variables}', (state.phraseVariables || []).map((v) => `{${v}}`).join(' '));
    const text = el('textarea', { class: 'agent-textarea', rows: 3, maxlength: 500, 'aria-label': help, placeholder: help, 'data-testid': 'agent-phrase-text', value: phrase ? phrase.text : '' });
    const save = async () => {
      const body = { title: title.value, text: text.value };
      const res = phrase ? await api(`/agent/api/phrases/${segment(phrase.id)}`, 'PUT', body) : await api('/agent/api/phrases', 'POST', body);
      if (!res.ok) { notice(res.data.message || String(res.data.error || res.status)); return; }
      notice('');
      await loadPhrases();
    };
    const remove = async () => {
      const res = await api(`/agent/api/phrases/${segment(phrase.id)}`, 'DELETE');
      if (!res.ok) { failNotice(res); return; }
      await loadPhrases();
    };
    return el(phrase ? 'li' : 'div', { class: 'agent-phrase agent-phrase-form', 'data-testid': phrase ? 'agent-phrase' : 'agent-phrase-new', 'data-phrase-id': phrase ? phrase.id : null },
      title, text,
      el('div', { class: 'staff-actions' },
        el('button', { type: 'button', class: 'staff-btn staff-btn-primary staff-btn-small', 'data-testid': 'agent-phrase-save', text: phrase ? t('phrase_save') : t('phrase_add'), onclick: () => save().catch(quiet) }),
        phrase ? el('button', { type: 'button', class: 'staff-btn staff-btn-danger staff-btn-small', 'data-testid': 'agent-phrase-delete', text: t('phrase_delete'), onclick: () => remove().catch(quiet) }) : null));
  }

  function focusTestId(id) {
    const node = state.dom.detail && state.dom.detail.querySelector(`[data-testid="${id}"]`);
    if (node) node.focus();
  }

  // ---------------------------------------------------------------- actions
  function openEdit() {
    if (!hasSuggestion()) return;
    if (state.mode !== 'edit') {
      state.mode = 'edit';
      state.drafts.edit = (currentSuggestion().replies || []).map((r) => r.text || '').filter(Boolean).join('\n');
      renderDetail();
    }
    focusTestId('agent-edit-text');
    revealPanel();
  }

  function openReject() {
    if (!hasSuggestion()) return;
    if (state.mode !== 'reject') {
      state.mode = 'reject';
      renderDetail();
      if (!state.intents.length) loadIntents();
    }
    focusTestId('agent-reject-intent');
    revealPanel();
  }

  // The open panel (with its confirm button) scrolled into view.
  function revealPanel() {
    const panel = state.dom.detail && state.dom.detail.querySelector('[data-testid="agent-reject-panel"], [data-testid="agent-edit-panel"]');
    if (panel) panel.scrollIntoView({ block: 'nearest' });
  }

  function closePanel() {
    state.mode = null;
    renderDetail();
  }

  // POST an action on the current draft; 409 means another agent got there first.
  async function suggestionAction(verb, body) {
    const current = currentSuggestion();
    if (!current || state.busy) return;
    state.busy = true;
    renderDetail();
    try {
      const res = await api(`/agent/api/suggestions/${segment(current.id)}/${verb}`, 'POST', body);
      state.busy = false;
      if (res.ok || res.status === 409) {
        if (res.ok) notice('');
        else notice(`${t('handled_by')} ${res.data.handled_by || ''}`.trim());
        state.mode = null;
        await loadSession();
        await refreshQueue();
        renderDetail();
        refreshMetrics();
        return;
      }
      failNotice(res);
    } catch (err) {
      state.busy = false;
      quiet(err);
    }
    if (state.view === 'console') renderDetail();
  }

  const sendSuggestion = () => suggestionAction('send');

  function submitEdit() {
    const text = state.drafts.edit.trim();
    if (!text) { focusTestId('agent-edit-text'); return; }
    suggestionAction('edit', { text });
  }

  function submitReject() {
    if (!state.drafts.reject) { focusTestId('agent-reject-intent'); return; }
    suggestionAction('reject', { intent: state.drafts.reject });
  }

  // POST to the selected session and reload it afterwards.
  async function sessionAction(path, body) {
    const sel = state.sel;
    if (!sel || state.busy) return null;
    state.busy = true;
    renderDetail();
    let res = null;
    try {
      res = await api(`/agent/api/sessions/${segment(sel.sessionId)}/${path}`, 'POST', body);
      if (!res.ok) failNotice(res);
    } catch (err) { quiet(err); }
    state.busy = false;
    if (state.view !== 'console') return null;
    renderDetail();
    if (state.sel === sel) await loadSession();
    return res && res.ok ? res : null;
  }

  async function toggleTakeover() {
    if (!state.sel) return;
    const handingBack = Boolean(takenOverBy());
    const ok = await sessionAction(handingBack ? 'handback' : 'takeover');
    if (ok) {
      notice('');
      refreshQueue();
      if (!handingBack) focusTestId('agent-free-text');
    }
  }

  async function sendFreeText() {
    const text = state.drafts.free.trim();
    if (!text) { focusTestId('agent-free-text'); return; }
    const sent = text;
    const ok = await sessionAction('messages', { text });
    if (ok && state.drafts.free.trim() === sent) {
      state.drafts.free = '';
      const area = state.dom.detail.querySelector('[data-testid="agent-free-text"]');
      if (area) area.value = '';
    }
    if (ok) { focusTestId('agent-free-text'); refreshQueue(); }
  }

  // ---------------------------------------------------------------- keyboard shortcuts
  document.addEventListener('keydown', (e) => {
    if (state.view !== 'console' || e.defaultPrevented) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const target = e.target instanceof Element ? e.target : null;
    if (target && target.closest(EDITABLE)) return;

    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      moveSelection(e.key === 'ArrowDown' ? 1 : -1);
      return;
    }
    if (e.key === 'Enter') {
      // Enter on a button activates it, except on the already selected buyer row (= send).
      const button = target && target.closest('button, a[href], summary');
      if (button && !(button.dataset.sessionId && isSelected(button.dataset.sessionId))) return;
      e.preventDefault();
      sendSuggestion();
      return;
    }
    if (e.repeat) return;
    const key = e.key.toLowerCase();
    if (key === 'e') { e.preventDefault(); openEdit(); }
    else if (key === 'r') { e.preventDefault(); openReject(); }
    else if (key === 't') { e.preventDefault(); toggleTakeover(); }
  });

  // ---------------------------------------------------------------- boot
  staff.run();
})();
