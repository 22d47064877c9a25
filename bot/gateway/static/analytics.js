/*
 * 亲客服 (Qinkefu) owner's analytics page (/analytics).
 *
 * Per-day figures over a chosen date range (default: the last 30 days) from
 * GET /analytics/api/report?from=YYYY-MM-DD&to=YYYY-MM-DD, shown as summary cards, charts
 * (uPlot, served by the gateway from npm's package) and tables. Owners only: the page boots with
 * staff.js's login; a 403 from the API shows the 无权限 message.
 *
 * Plain JavaScript besides staff.js and uPlot. Security rule: server data only ever reaches the
 * DOM through textContent / setAttribute / property assignment (never innerHTML).
 * UI text comes from GET /analytics/strings; a missing string falls back to its key.
 */
(() => {
  'use strict';

  const TOP_INTENTS = 6;   // intents drawn in the per-day intent chart
  const COLORS = ['#c2410c', '#2563eb', '#15803d', '#7c3aed', '#b45309', '#0e7490', '#be185d'];
  const NARROW = 900;      // below this width the charts take the whole row

  const root = document.getElementById('analytics-root');
  if (!root) return;

  const state = {
    strings: {},
    view: null,
    me: null,
    report: null,
    charts: [],
    dom: {},
    loadSeq: 0,
  };

  const { el, fill, AuthError } = window.QinkefuStaff;
  const staff = window.QinkefuStaff.createConsole({
    prefix: 'analytics',
    root,
    state,
    start: startPage,
    stop: stopPage,
    onStrings: () => { if (t('title') !== 'title') document.title = t('title'); },
  });
  const { t, api, logout } = staff;

  // ---------------------------------------------------------------- formatting
  const isNum = (n) => typeof n === 'number' && Number.isFinite(n);
  const percent = (share) => (isNum(share) ? `${(share * 100).toFixed(1)}%` : t('none'));
  const count = (n) => (isNum(n) ? n.toLocaleString('zh-CN') : t('none'));

  function duration(seconds) {
    if (!isNum(seconds)) return t('none');
    if (seconds < 120) return `${Math.round(seconds * 10) / 10}${t('seconds')}`;
    return `${Math.round(seconds / 6) / 10}${t('minutes')}`;
  }

  // '2026-12-07' -> '12月7日' (gateway_strings.yml day_format)
  function dayLabel(day) {
    const [, month, date] = String(day).split('-').map(Number);
    return fill(t('day_format'), { month, day: date });
  }

  const isoDay = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

  // ---------------------------------------------------------------- page
  function startPage() {
    state.view = 'console';
    const dom = state.dom;
    const header = el('header', { class: 'staff-header' },
      el('h1', { class: 'staff-title', text: t('title') }),
      el('div', { class: 'staff-user' },
        el('span', { 'data-testid': 'analytics-username', text: (state.me && state.me.username) || '' }),
        el('button', { type: 'button', class: 'staff-btn staff-btn-light', text: t('logout'), 'data-testid': 'analytics-logout', onclick: logout })));

    dom.from = el('input', { type: 'date', id: 'analytics-from', 'data-testid': 'analytics-from', required: true });
    dom.to = el('input', { type: 'date', id: 'analytics-to', 'data-testid': 'analytics-to', required: true });
    const form = el('form', { class: 'analytics-range', novalidate: true, 'aria-label': t('apply') },
      el('label', { for: dom.from.id, text: t('range_from') }), dom.from,
      el('label', { for: dom.to.id, text: t('range_to') }), dom.to,
      el('button', { type: 'submit', class: 'staff-btn staff-btn-primary', text: t('apply'), 'data-testid': 'analytics-apply' }),
      el('div', { class: 'analytics-presets' },
        [7, 30, 90].map((days) => el('button', {
          type: 'button', class: 'staff-btn', text: t(`last_${days}`), 'data-testid': `analytics-last-${days}`,
          onclick: () => preset(days),
        }))));
    form.addEventListener('submit', (event) => { event.preventDefault(); load(dom.from.value, dom.to.value); });

    dom.note = el('p', { class: 'analytics-note', 'data-testid': 'analytics-range-note' });
    dom.error = el('p', { class: 'analytics-error', role: 'alert', hidden: true, 'data-testid': 'analytics-error' });
    dom.status = el('p', { class: 'analytics-status', role: 'status', 'aria-live': 'polite', hidden: true });
    dom.body = el('div', { class: 'analytics-body', 'data-testid': 'analytics-body' });

    root.replaceChildren(header, el('main', { class: 'analytics-main' },
      el('section', { class: 'analytics-toolbar' }, form, dom.note, dom.error, dom.status), dom.body));
    root.removeAttribute('aria-busy');
    window.addEventListener('resize', resizeCharts);
    load('', '');
  }

  function stopPage() {
    window.removeEventListener('resize', resizeCharts);
    destroyCharts();
    state.report = null;
    state.loadSeq += 1;
  }

  // The last ``days`` days up to the shop's today (the report says which day that is).
  function preset(days) {
    const today = (state.report && state.report.today) || isoDay(new Date());
    const [year, month, date] = today.split('-').map(Number);
    const end = new Date(year, month - 1, date);
    const start = new Date(year, month - 1, date - (days - 1));
    state.dom.from.value = isoDay(start);
    state.dom.to.value = isoDay(end);
    load(state.dom.from.value, state.dom.to.value);
  }

  function setStatus(text) {
    state.dom.status.textContent = text;
    state.dom.status.hidden = !text;
  }

  function showError(text) {
    state.dom.error.textContent = text;
    state.dom.error.hidden = false;
  }

  function showForbidden() {
    destroyCharts();
    state.dom.body.replaceChildren(el('section', { class: 'analytics-forbidden', role: 'alert', 'data-testid': 'analytics-forbidden' },
      el('h2', { text: t('forbidden_title') }),
      el('p', { text: t('forbidden_short') })));
  }

  async function load(from, to) {
    const seq = ++state.loadSeq;
    const dom = state.dom;
    dom.error.hidden = true;
    setStatus(t('loading'));
    const query = new URLSearchParams();
    if (from) query.set('from', from);
    if (to) query.set('to', to);
    let res;
    try {
      res = await api(`/analytics/api/report?${query}`);
    } catch (err) {
      if (!(err instanceof AuthError) && seq === state.loadSeq) { setStatus(''); showError(t('load_failed')); }
      return;
    }
    if (seq !== state.loadSeq) return; // a newer range was asked for meanwhile
    setStatus('');
    if (res.status === 403) { showForbidden(); return; }
    if (!res.ok) { showError(res.data.message || t('load_failed')); return; }
    state.report = res.data;
    dom.from.value = res.data.from;
    dom.to.value = res.data.to;
    dom.note.textContent = fill(t('range_note'), {
      from: res.data.from, to: res.data.to, days: res.data.days.length, timezone: res.data.timezone,
    });
    render(res.data);
  }

  // ---------------------------------------------------------------- rendering
  function render(report) {
    destroyCharts();
    const totals = report.totals;
    if (!totals.buyer_messages && !totals.turns) {
      state.dom.body.replaceChildren(el('section', { class: 'analytics-empty', 'data-testid': 'analytics-empty' },
        el('p', { text: t('no_data') })));
      return;
    }
    const charts = el('div', { class: 'analytics-charts' });
    state.dom.body.replaceChildren(cards(report), charts, intentTable(report), dayTable(report));
    chartSpecs(report).forEach((spec) => addChart(charts, spec, report));
    // A chart drawn while it was the odd last one spanned the whole row: now every card is placed.
    resizeCharts();
  }

  function card(key, label, value, detail, hint) {
    return el('div', { class: 'analytics-card', title: hint || null, 'data-testid': `analytics-card-${key}` },
      el('div', { class: 'analytics-card-label', text: label }),
      el('div', { class: 'analytics-card-value', 'data-testid': `analytics-value-${key}`, text: value }),
      detail ? el('div', { class: 'analytics-card-detail', text: detail }) : null);
  }

  function cards(report) {
    const totals = report.totals;
    const response = totals.first_response;
    return el('section', { class: 'analytics-cards', 'aria-label': t('title') },
      card('conversations', t('card_conversations'), count(totals.conversations)),
      card('buyer_messages', t('card_buyer_messages'), count(totals.buyer_messages)),
      card('automation', t('card_automation'), percent(totals.automation_rate), null, t('hint_automation')),
      card('handoff', t('card_handoff'), percent(totals.handoff_rate), null, t('hint_handoff')),
      card('fallback', t('card_fallback'), percent(totals.fallback_rate), null, t('hint_fallback')),
      card('first_response', t('card_first_response'), `${t('p50')} ${duration(response.p50_seconds)}`,
        `${t('p90')} ${duration(response.p90_seconds)}`, t('hint_first_response')),
      card('sla', fill(t('card_sla'), { sla: report.sla_seconds }), percent(response.within_sla_share)));
  }

  function chartSpecs(report) {
    const days = report.days;
    const pct = (values) => values.map((v) => (isNum(v) ? Math.round(v * 1000) / 10 : null));
    const top = report.intents.slice(0, TOP_INTENTS);
    return [
      {
        key: 'volume', title: t('chart_volume'), unit: '',
        series: [
          { label: t('series_conversations'), values: days.map((d) => d.conversations), bars: true },
          { label: t('series_buyer_messages'), values: days.map((d) => d.buyer_messages) },
        ],
      },
      {
        key: 'rates', title: t('chart_rates'), unit: '%',
        series: [
          { label: t('series_automation'), values: pct(days.map((d) => d.automation_rate)) },
          { label: t('series_handoff'), values: pct(days.map((d) => d.handoff_rate)) },
          { label: t('series_fallback'), values: pct(days.map((d) => d.fallback_rate)) },
        ],
      },
      {
        key: 'agent', title: t('chart_agent'), unit: '%',
        series: [
          { label: t('series_accepted'), values: pct(days.map((d) => d.agent.accepted_rate)) },
          { label: t('series_edited'), values: pct(days.map((d) => d.agent.edited_rate)) },
          { label: t('series_rejected'), values: pct(days.map((d) => d.agent.rejected_rate)) },
        ],
      },
      {
        key: 'response', title: t('chart_response'), unit: t('seconds'),
        series: [
          { label: t('series_p50'), values: days.map((d) => d.first_response.p50_seconds) },
          { label: t('series_p90'), values: days.map((d) => d.first_response.p90_seconds) },
        ],
      },
      {
        key: 'intents', title: t('chart_intents'), unit: '',
        series: top.map((intent) => ({ label: intent.name, values: intent.per_day })),
      },
    ].filter((spec) => spec.series.length);
  }

  function chartWidth(figure) {
    return Math.max(260, Math.floor(figure.clientWidth - 24));
  }

  function addChart(parent, spec, report) {
    const labels = report.days.map((d) => dayLabel(d.day));
    const holder = el('div', { class: 'analytics-chart-canvas' });
    const figure = el('figure', { class: 'analytics-chart', 'data-testid': `analytics-chart-${spec.key}` },
      el('figcaption', { text: spec.title }), holder);
    parent.append(figure);
    if (typeof window.uPlot !== 'function') return; // the table below still has every number
    const xs = labels.map((_, i) => i);
    const unitText = (v) => (v === null || v === undefined ? t('none') : `${Math.round(v * 10) / 10}${spec.unit}`);
    const options = {
      width: chartWidth(figure),
      height: 220,
      scales: {
        x: { time: false, range: [-0.5, Math.max(0.5, xs.length - 0.5)] },
        // shares from 0 to 100 %, counts and seconds from 0 up
        y: { range: spec.unit === '%' ? [0, 100] : (u, min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] },
      },
      axes: [
        {
          space: 56,
          incrs: [1, 2, 5, 7, 14, 30, 60],
          values: (u, splits) => splits.map((i) => (Number.isInteger(i) && labels[i] ? labels[i] : '')),
        },
        {
          incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000],
          values: (u, splits) => splits.map((v) => `${v}${spec.unit}`),
          size: 60,
        },
      ],
      legend: { live: true },
      cursor: { points: { size: 7 } },
      series: [
        { label: t('col_day'), value: (u, i) => (i === null || i === undefined ? '' : labels[i] || '') },
        ...spec.series.map((s, n) => ({
          label: s.label,
          stroke: COLORS[n % COLORS.length],
          width: 2,
          fill: s.bars ? `${COLORS[n % COLORS.length]}33` : undefined,
          paths: s.bars && window.uPlot.paths && window.uPlot.paths.bars ? window.uPlot.paths.bars({ size: [0.6, 40] }) : undefined,
          points: { show: xs.length <= 45 },
          spanGaps: false,
          value: (u, v) => unitText(v),
        })),
      ],
    };
    const chart = new window.uPlot(options, [xs, ...spec.series.map((s) => s.values)], holder);
    state.charts.push({ chart, figure });
  }

  function resizeCharts() {
    state.charts.forEach(({ chart, figure }) => chart.setSize({ width: chartWidth(figure), height: 220 }));
  }

  function destroyCharts() {
    state.charts.forEach(({ chart }) => chart.destroy());
    state.charts = [];
  }

  function table(testid, caption, headers, rows) {
    return el('section', { class: 'analytics-table-wrap' },
      el('table', { class: 'analytics-table', 'data-testid': testid },
        el('caption', { text: caption }),
        el('thead', null, el('tr', null, headers.map((h) => el('th', { scope: 'col', text: h })))),
        el('tbody', null, rows)));
  }

  function intentTable(report) {
    const total = report.totals.turns || 0;
    if (!report.intents.length) return el('p', { class: 'analytics-note', text: t('no_intents') });
    const rows = report.intents.map((intent) => el('tr', { 'data-intent': intent.intent },
      el('th', { scope: 'row' }, el('span', { title: intent.intent, text: intent.name })),
      el('td', { text: count(intent.turns) }),
      el('td', { text: total ? percent(intent.turns / total) : t('none') }),
      el('td', { text: isNum(intent.mean_confidence) ? intent.mean_confidence.toFixed(3) : t('none') })));
    return table('analytics-intents', t('intents_title'),
      [t('intent'), t('intent_turns'), t('intent_share'), t('intent_confidence')], rows);
  }

  function dayTable(report) {
    const rows = report.days.slice().reverse().map((d) => el('tr', { 'data-day': d.day },
      el('th', { scope: 'row', text: dayLabel(d.day) }),
      el('td', { text: count(d.conversations) }),
      el('td', { text: count(d.buyer_messages) }),
      el('td', { text: percent(d.automation_rate) }),
      el('td', { text: percent(d.handoff_rate) }),
      el('td', { text: percent(d.fallback_rate) }),
      el('td', { text: percent(d.agent.accepted_rate) }),
      el('td', { text: percent(d.agent.edited_rate) }),
      el('td', { text: percent(d.agent.rejected_rate) }),
      el('td', { text: duration(d.first_response.p50_seconds) }),
      el('td', { text: duration(d.first_response.p90_seconds) }),
      el('td', { text: percent(d.first_response.within_sla_share) })));
    return table('analytics-days', t('table_title'), [
      t('col_day'), t('col_conversations'), t('col_buyer_messages'), t('col_automation'), t('col_handoff'),
      t('col_fallback'), t('col_accepted'), t('col_edited'), t('col_rejected'), t('col_p50'), t('col_p90'),
      fill(t('col_sla'), { sla: report.sla_seconds }),
    ], rows);
  }

  staff.run();
})();
