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
    queue: { suggestions: [], waiting: [], sla: {} },
    queueAt: 0,          // Date.now() when the queue was fetched (base for local timers)
    metrics: null,
    intents: [],
    sel: null,           // {kind: 'suggestion', id, sessionId} | {kind: 'session', sessionId}
    selItem: null,       // last known Suggestion / Waiting object of the selection
    session: null,       // GET /agent/api/sessions/{id} of the selection
    sessionSeq: 0,       // guards against out-of-order session responses
    mode: null,          // null | 'edit' | 'reject'
    drafts: { edit: '', reject: '', free: '' },
    busy: false,         // an action request is in flight
    socket: null,
    intervals: [],
    dom: {},
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
  const byWaitDesc = (a, b) => (Number(b.waiting_seconds) || 0) - (Number(a.waiting_seconds) || 0);

  // ---------------------------------------------------------------- notices
  function notice(text) {
    const box = state.dom.notice;
    if (!box) return;
    box.textContent = text || ''; // the live region stays in the DOM; CSS collapses it when empty
  }

  function failNotice(res) {
    notice(res.data.error ? String(res.data.error) : `HTTP ${res.status}`);
  }

  // ---------------------------------------------------------------- console shell
  function startConsole() {
    state.view = 'console';
    const dom = state.dom;
    dom.metrics = el('div', { class: 'agent-metrics', role: 'group', 'aria-label': t('metrics_title'), 'data-testid': 'agent-metrics' });
    dom.queue = el('ul', { class: 'agent-list', 'aria-label': t('queue_title'), 'data-testid': 'agent-queue' });
    dom.waiting = el('ul', { class: 'agent-list', 'aria-label': t('waiting_title'), 'data-testid': 'agent-waiting' });
    dom.notice = el('div', { class: 'agent-notice', role: 'status', 'aria-live': 'polite', 'data-testid': 'agent-notice' });
    dom.detail = el('section', { class: 'agent-detail', 'aria-live': 'off', 'data-testid': 'agent-detail' });

    const header = el('header', { class: 'staff-header' },
      el('h1', { class: 'staff-title', text: t('title') }),
      dom.metrics,
      el('div', { class: 'staff-user' },
        el('span', { class: 'agent-username', text: (state.me && state.me.username) || '' }),
        el('button', { type: 'button', class: 'staff-btn staff-btn-light', text: t('logout'), 'data-testid': 'agent-logout', onclick: logout })));

    const nav = el('nav', { class: 'agent-nav', 'aria-label': t('queue_title') },
      el('h2', { text: t('queue_title') }), dom.queue,
      el('h2', { text: t('waiting_title') }), dom.waiting,
      el('p', { class: 'agent-keys', text: t('keys_help') }));

    const main = el('main', { class: 'agent-main' }, dom.notice, dom.detail);

    root.replaceChildren(el('div', { class: 'agent-shell' }, header, el('div', { class: 'agent-body' }, nav, main)));
    root.removeAttribute('aria-busy');
    renderMetrics();
    renderQueue();
    renderDetail();

    refreshQueue();
    refreshMetrics();
    loadIntents();
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
    Object.assign(state, {
      view: null, me: null, queue: { suggestions: [], waiting: [], sla: {} }, queueAt: 0, metrics: null,
      sel: null, selItem: null, session: null, mode: null, drafts: { edit: '', reject: '', free: '' }, busy: false, dom: {},
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
      if (!data || !state.sel || state.sel.kind !== 'suggestion') return;
      if (String(data.id) !== String(state.sel.id)) return;
      if (data.handled_by && state.me && data.handled_by === state.me.username) return; // our own action
      notice(`${t('handled_by')} ${data.handled_by || ''}`.trim());
      refreshQueue();
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
        if (state.mode === 'reject') renderDetail();
      }
    } catch (err) { quiet(err); }
  }

  function applyQueue(data) {
    state.queue = {
      suggestions: (Array.isArray(data.suggestions) ? data.suggestions : []).slice().sort(byWaitDesc),
      waiting: (Array.isArray(data.waiting) ? data.waiting : []).slice().sort(byWaitDesc),
      sla: data.sla && typeof data.sla === 'object' ? data.sla : {},
    };
    state.queueAt = Date.now();

    const sel = state.sel;
    if (sel && sel.kind === 'suggestion') {
      const fresh = state.queue.suggestions.find((s) => String(s.id) === String(sel.id));
      if (fresh) {
        const before = (state.selItem && state.selItem.taken_over_by) || null;
        state.selItem = fresh;
        // Someone took the session over (or handed it back): reload it to update the controls.
        if (before !== (fresh.taken_over_by || null)) loadSession();
      } else if (state.session && state.me && state.session.taken_over_by === state.me.username) {
        // The suggestion is gone but we are chatting with this buyer: keep the conversation open.
        state.sel = { kind: 'session', sessionId: sel.sessionId };
        state.mode = null;
        renderDetail();
      } else {
        state.sel = null;
      }
    } else if (sel && sel.kind === 'session') {
      const fresh = state.queue.waiting.find((w) => String(w.session_id) === String(sel.sessionId));
      if (fresh) state.selItem = fresh;
    }

    renderQueue();
    if (!state.sel) {
      if (state.queue.suggestions.length) selectSuggestion(state.queue.suggestions[0]);
      else { state.selItem = null; state.session = null; renderDetail(); }
    }
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

  // ---------------------------------------------------------------- queue lists
  function slaBadge(sla) {
    return el('span', { class: `agent-sla agent-sla-${sla}`, text: t(`sla_${sla}`) });
  }

  function timer(seconds) {
    return el('span', { class: 'agent-timer', 'data-base': Number(seconds) || 0, text: duration(seconds) });
  }

  function renderQueue() {
    const { queue, waiting } = state.dom;
    if (!queue) return;
    const active = document.activeElement;
    const focusKey = active && root.contains(active) && active.dataset ? (active.dataset.suggestionId || active.dataset.sessionId) : null;
    const now = elapsed();

    queue.replaceChildren(...state.queue.suggestions.map((s) => {
      const sla = slaFor(s.sla, (Number(s.waiting_seconds) || 0) + now);
      const selected = isSelected('suggestion', s.id);
      return el('li', null, el('button', {
        type: 'button',
        class: `agent-item agent-item-${sla}`,
        'data-testid': 'agent-queue-item',
        'data-suggestion-id': s.id,
        'data-sla': sla,
        'aria-current': selected ? 'true' : null,
        onclick: () => selectSuggestion(s),
      },
      el('span', { class: 'agent-item-top' }, el('strong', { class: 'agent-item-intent', text: s.intent || '–' }), slaBadge(sla)),
      el('span', { class: 'agent-item-text', text: shorten(s.buyer_text, SHORT_TEXT) }),
      el('span', { class: 'agent-item-meta' }, timer(s.waiting_seconds), s.taken_over_by ? ` · ${t('taken_over_by')} ${s.taken_over_by}` : '')));
    }));
    if (!state.queue.suggestions.length) queue.append(el('li', { class: 'agent-empty', text: t('empty_queue') }));

    waiting.replaceChildren(...state.queue.waiting.map((w) => {
      const sla = slaFor(w.sla, (Number(w.waiting_seconds) || 0) + now);
      return el('li', null, el('button', {
        type: 'button',
        class: `agent-item agent-item-${sla}`,
        'data-testid': 'agent-waiting-item',
        'data-session-id': w.session_id,
        'data-sla': sla,
        'aria-current': isSelected('session', w.session_id) ? 'true' : null,
        onclick: () => selectSession(w),
      },
      el('span', { class: 'agent-item-top' }, el('strong', { class: 'agent-item-intent', text: w.buyer_id || w.session_id }), slaBadge(sla)),
      el('span', { class: 'agent-item-text', text: shorten(w.last_text, SHORT_TEXT) }),
      el('span', { class: 'agent-item-meta' }, timer(w.waiting_seconds))));
    }));
    if (!state.queue.waiting.length) waiting.append(el('li', { class: 'agent-empty', text: t('empty_queue') }));

    // Keep keyboard focus on the same item across re-renders.
    if (focusKey) {
      const again = root.querySelector(`.agent-nav [data-suggestion-id="${CSS.escape(focusKey)}"], .agent-nav [data-session-id="${CSS.escape(focusKey)}"]`);
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
        item.querySelector('.agent-sla').replaceWith(slaBadge(sla));
      }
    });
  }

  // ---------------------------------------------------------------- selection
  function isSelected(kind, id) {
    const sel = state.sel;
    if (!sel || sel.kind !== kind) return false;
    return String(kind === 'suggestion' ? sel.id : sel.sessionId) === String(id);
  }

  function resetSelection(sel, item) {
    state.sel = sel;
    state.selItem = item;
    state.session = null;
    state.mode = null;
    state.drafts = { edit: '', reject: '', free: '' };
    root.querySelectorAll('.agent-nav .agent-item').forEach((node) => {
      const on = (node.dataset.suggestionId && isSelected('suggestion', node.dataset.suggestionId)) ||
        (node.dataset.sessionId && isSelected('session', node.dataset.sessionId));
      if (on) node.setAttribute('aria-current', 'true'); else node.removeAttribute('aria-current');
    });
    renderDetail();
    loadSession();
  }

  function selectSuggestion(s) {
    if (isSelected('suggestion', s.id)) return;
    resetSelection({ kind: 'suggestion', id: s.id, sessionId: s.session_id }, s);
  }

  function selectSession(w) {
    if (isSelected('session', w.session_id)) return;
    resetSelection({ kind: 'session', sessionId: w.session_id }, w);
  }

  // ArrowUp / ArrowDown through the suggestion queue.
  function moveSelection(delta) {
    const list = state.queue.suggestions;
    if (!list.length) return;
    const index = state.sel && state.sel.kind === 'suggestion'
      ? list.findIndex((s) => String(s.id) === String(state.sel.id)) : -1;
    const next = index < 0 ? (delta > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, index + delta));
    const inQueue = state.dom.queue && state.dom.queue.contains(document.activeElement);
    selectSuggestion(list[next]);
    if (inQueue) {
      const button = state.dom.queue.querySelector(`[data-suggestion-id="${CSS.escape(String(list[next].id))}"]`);
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
      if (res.ok) { state.session = res.data; renderDetail(); } else failNotice(res);
    } catch (err) { quiet(err); }
  }

  const takenOverBy = () => {
    if (state.session) return state.session.taken_over_by || null;
    return (state.selItem && state.selItem.taken_over_by) || null;
  };
  const hasSuggestion = () => Boolean(state.sel && state.sel.kind === 'suggestion' && state.selItem);

  // ---------------------------------------------------------------- detail pane
  function renderMessage(msg) {
    const role = ['buyer', 'bot', 'agent', 'system'].includes(msg.role) ? msg.role : 'system';
    const item = el('li', { class: `agent-msg agent-msg-${role}`, 'data-message-id': msg.id },
      el('span', { class: 'agent-msg-role', text: t(`role_${role}`, role) }),
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
  }

  // Order / product cards: a small box of "key: value" lines; nested values are summarised.
  function renderCard(card) {
    const box = el('div', { class: 'agent-card' });
    if (!card || typeof card !== 'object') { box.textContent = String(card); return box; }
    const list = el('dl');
    Object.entries(card).slice(0, 10).forEach(([key, value]) => {
      let text = value;
      if (Array.isArray(value)) text = value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : v)).join(', ');
      else if (value && typeof value === 'object') text = JSON.stringify(value);
      list.append(el('dt', { text: key }), el('dd', { text: shorten(text, 120) }));
    });
    box.append(list);
    return box;
  }

  function renderReply(reply) {
    const article = el('article', { class: 'agent-reply', 'data-testid': 'agent-reply' },
      el('p', { class: 'agent-reply-text', text: reply.text || '' }));
    if (Array.isArray(reply.buttons) && reply.buttons.length) {
      article.append(el('ul', { class: 'agent-chips' }, reply.buttons.map((b) => el('li', { text: b.title || b.payload || '' }))));
    }
    if (reply.card) article.append(renderCard(reply.card));
    if (reply.response) {
      article.append(el('p', { class: 'agent-reply-meta' }, `${t('template')}: `, el('code', { text: reply.response })));
    }
    const values = reply.values && typeof reply.values === 'object' ? reply.values : {};
    const sources = reply.sources && typeof reply.sources === 'object' ? reply.sources : {};
    const names = Array.from(new Set([...Object.keys(values), ...Object.keys(sources)]));
    if (names.length) {
      const show = (v) => (v === null || v === undefined ? '–' : (typeof v === 'object' ? JSON.stringify(v) : String(v)));
      article.append(el('table', { class: 'agent-values', 'data-testid': 'agent-values' },
        el('thead', null, el('tr', null, el('td'), el('th', { scope: 'col', text: t('value') }), el('th', { scope: 'col', text: t('source') }))),
        el('tbody', null, names.map((name) => el('tr', null,
          el('th', { scope: 'row' }, el('code', { text: name })),
          el('td', { text: show(values[name]) }),
          el('td', { text: show(sources[name]) }))))));
    }
    return article;
  }

  function renderSuggestion(s) {
    const next = (Array.isArray(s.ranking) ? s.ranking : []).filter((r) => r && r.intent !== s.intent).slice(0, 2);
    return el('section', { class: 'agent-suggestion', 'aria-label': t('intent') },
      el('h3', { text: t('buyer_said') }),
      el('p', { class: 'agent-buyer-text', 'data-testid': 'agent-buyer-text', text: s.buyer_text || '' }),
      el('p', { class: 'agent-intent-line' },
        `${t('intent')}: `, el('strong', { 'data-testid': 'agent-intent', text: s.intent || '–' }),
        ` · ${t('confidence')}: `, el('span', { 'data-testid': 'agent-confidence', text: fixed2(s.confidence) })),
      next.length ? el('p', { class: 'agent-next-intents' }, `${t('next_intents')}: `,
        next.map((r, i) => [i ? ', ' : '', el('code', { text: r.intent }), ` (${fixed2(r.confidence)})`])) : null,
      el('h3', { text: t('replies') }),
      (Array.isArray(s.replies) ? s.replies : []).map(renderReply));
  }

  function renderActions() {
    const bar = el('div', { class: 'staff-actions' });
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
    const area = el('textarea', { id: 'agent-edit-text', rows: 5, class: 'agent-textarea', 'data-testid': 'agent-edit-text', value: state.drafts.edit });
    area.addEventListener('input', () => { state.drafts.edit = area.value; });
    area.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submitEdit(); }
      if (e.key === 'Escape') closePanel();
    });
    return el('div', { class: 'agent-panel' },
      el('label', { for: 'agent-edit-text', text: t('edit') }), area,
      el('div', { class: 'staff-actions' },
        el('button', { type: 'button', class: 'staff-btn staff-btn-primary', disabled: state.busy, 'data-testid': 'agent-edit-submit', onclick: submitEdit },
          t('submit_edit'), el('kbd', { text: 'Ctrl+Enter' })),
        el('button', { type: 'button', class: 'staff-btn', onclick: closePanel, text: t('cancel') })));
  }

  function renderRejectPanel() {
    const s = state.selItem || {};
    const known = new Set(state.intents);
    const extra = [s.intent, ...(s.ranking || []).map((r) => r && r.intent)].filter((i) => i && !known.has(i));
    const select = el('select', { id: 'agent-reject-intent', class: 'agent-select', 'data-testid': 'agent-reject-intent' },
      el('option', { value: '', text: t('choose_intent') }),
      [...state.intents, ...new Set(extra)].map((intent) => el('option', { value: intent, text: intent })));
    select.value = state.drafts.reject;
    select.addEventListener('change', () => { state.drafts.reject = select.value; });
    select.addEventListener('keydown', (e) => { if (e.key === 'Escape') closePanel(); });
    return el('div', { class: 'agent-panel' },
      el('label', { for: 'agent-reject-intent', text: t('choose_intent') }), select,
      el('div', { class: 'staff-actions' },
        el('button', { type: 'button', class: 'staff-btn staff-btn-danger', disabled: state.busy, 'data-testid': 'agent-reject-submit', onclick: submitReject, text: t('confirm_reject') }),
        el('button', { type: 'button', class: 'staff-btn', onclick: closePanel, text: t('cancel') })));
  }

  function renderTakeoverPanel(owner) {
    const area = el('textarea', { id: 'agent-free-text', rows: 3, class: 'agent-textarea', placeholder: t('free_text_placeholder'), 'data-testid': 'agent-free-text', value: state.drafts.free });
    area.addEventListener('input', () => { state.drafts.free = area.value; });
    area.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); sendFreeText(); }
    });
    return el('div', { class: 'agent-panel agent-takeover' },
      el('p', { class: 'agent-owner', text: `${t('taken_over_by')} ${owner}` }),
      el('label', { for: 'agent-free-text', class: 'staff-visually-hidden', text: t('free_text_placeholder') }), area,
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

    if (sel && sel.kind === 'suggestion') detail.setAttribute('data-suggestion-id', sel.id);
    else detail.removeAttribute('data-suggestion-id');
    if (sel) detail.setAttribute('data-session-id', sel.sessionId); else detail.removeAttribute('data-session-id');
    state.dom.conversation = null;

    if (!sel) {
      detail.replaceChildren(el('p', { class: 'agent-empty', text: t('empty_queue') }));
      return;
    }

    const session = state.session;
    const item = state.selItem || {};
    const buyer = (session && session.buyer_id) || item.buyer_id || sel.sessionId;
    const conversation = el('ol', { class: 'agent-conversation', tabindex: '0', 'aria-label': t('conversation'), 'data-testid': 'agent-conversation' },
      session ? (session.messages || []).map(renderMessage) : el('li', { class: 'agent-empty', text: '…' }));
    state.dom.conversation = conversation;

    const parts = [
      el('h2', { class: 'agent-detail-title' }, `${t('conversation')} · `, el('span', { text: buyer })),
      conversation,
    ];
    if (hasSuggestion()) parts.push(renderSuggestion(state.selItem));
    else if (item.last_text) {
      parts.push(el('section', { class: 'agent-suggestion' },
        el('h3', { text: t('buyer_said') }),
        el('p', { class: 'agent-buyer-text', 'data-testid': 'agent-buyer-text', text: item.last_text })));
    }

    const photos = session && Array.isArray(session.photos) ? session.photos : [];
    if (photos.length) {
      parts.push(el('section', { class: 'agent-photos' }, el('h3', { text: t('photos') }),
        el('div', { class: 'agent-photo-row' }, photos.map((url, i) => (typeof url === 'string' && url.startsWith('/uploads/')
          ? el('a', { href: url, target: '_blank', rel: 'noopener' }, el('img', { class: 'agent-photo', src: url, alt: `${t('photos')} ${i + 1}`, loading: 'lazy' }))
          : el('span', { class: 'agent-card', text: String(url) }))))));
    }

    parts.push(renderActions());
    if (hasSuggestion() && state.mode === 'edit') parts.push(renderEditPanel());
    if (hasSuggestion() && state.mode === 'reject') parts.push(renderRejectPanel());
    const owner = takenOverBy();
    if (owner) parts.push(renderTakeoverPanel(owner));

    detail.replaceChildren(...parts);
    conversation.scrollTop = conversation.scrollHeight;
    if (focusId) {
      const again = detail.querySelector(`[data-testid="${CSS.escape(focusId)}"]`);
      if (again) {
        again.focus();
        if (caret && again.tagName === 'TEXTAREA') again.setSelectionRange(caret[0], caret[1]);
      }
    }
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
      state.drafts.edit = (state.selItem.replies || []).map((r) => r.text || '').filter(Boolean).join('\n');
      renderDetail();
    }
    focusTestId('agent-edit-text');
  }

  function openReject() {
    if (!hasSuggestion()) return;
    if (state.mode !== 'reject') {
      state.mode = 'reject';
      renderDetail();
      if (!state.intents.length) loadIntents();
    }
    focusTestId('agent-reject-intent');
  }

  function closePanel() {
    state.mode = null;
    renderDetail();
  }

  // POST an action on the selected suggestion; 409 means another agent got there first.
  async function suggestionAction(verb, body) {
    if (!hasSuggestion() || state.busy) return;
    const id = state.sel.id;
    state.busy = true;
    renderDetail();
    try {
      const res = await api(`/agent/api/suggestions/${segment(id)}/${verb}`, 'POST', body);
      state.busy = false;
      if (res.ok || res.status === 409) {
        if (res.ok) notice('');
        else notice(`${t('handled_by')} ${res.data.handled_by || ''}`.trim());
        if (state.sel && state.sel.kind === 'suggestion' && String(state.sel.id) === String(id)) {
          // Still chatting with this buyer (taken over by us): keep the conversation, else move on.
          const mine = state.me && takenOverBy() === state.me.username;
          state.sel = mine ? { kind: 'session', sessionId: state.sel.sessionId } : null;
          state.mode = null;
        }
        await refreshQueue();
        renderDetail(); // also covers a failed queue fetch: at least drop the handled suggestion
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
    if (ok) focusTestId('agent-free-text');
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
      // Enter on a button activates it, except on the already selected queue item (= send).
      const button = target && target.closest('button, a[href]');
      if (button && !(button.dataset.suggestionId && isSelected('suggestion', button.dataset.suggestionId))) return;
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
