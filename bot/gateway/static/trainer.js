/*
 * 亲客服 (Qinkefu) trainer console.
 *
 * A trainer edits the NLU data (intents, examples), reply templates, rules and stories, reviews
 * candidate examples collected from live traffic, validates the data, trains / evaluates models
 * and rolls back. Served at /trainer; talks to /trainer/api/* (authenticated by the HttpOnly
 * cookie set at login).
 *
 * Plain modern JavaScript, no dependencies besides staff.js (the helpers both staff consoles
 * share), which the page loads first. Security rule: server data only ever reaches the DOM
 * through textContent / setAttribute / property assignment (never innerHTML).
 * UI text comes from GET /trainer/strings; a missing string falls back to its key.
 */
(() => {
  'use strict';

  const POLL_MS = 2000;                         // training job poll interval while it runs
  const RUNNING = new Set(['training', 'evaluating']);
  const MAX_ERRORS_SHOWN = 50;                  // rows of the "worst errors" table

  const root = document.getElementById('trainer-root');
  if (!root) return;

  const state = {
    strings: {},
    view: null,          // 'login' | 'console'
    me: null,            // {username, role}
    intents: [],         // [{name, examples, responses, has_rule, editable}]
    selected: null,      // selected intent name
    candidates: [],
    candChoice: {},      // candidate id -> intent chosen in its select (survives re-renders)
    models: [],
    job: null,
    pollTimer: null,
    reportModel: null,
    reportSeq: 0,
    dom: {},
  };

  // ---------------------------------------------------------------- shared staff helpers (staff.js)
  const { el, segment, AuthError } = window.QinkefuStaff;
  const staff = window.QinkefuStaff.createConsole({
    prefix: 'trainer',
    root,
    state,
    start: startConsole,
    stop: stopConsole,
    loginError: { class: 'trainer-error', testid: 'trainer-error' },
    onStrings: () => { if (t('title') !== 'title') document.title = t('title'); },
  });
  const { t, api, logout } = staff;

  // ---------------------------------------------------------------- small helpers
  const lines = (text) => String(text || '').split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  const isNum = (n) => n !== null && n !== undefined && n !== '' && Number.isFinite(Number(n));
  const fixed = (n, digits = 3) => (isNum(n) ? Number(n).toFixed(digits) : '–');

  // 0.873 -> "0.873 (87.3%)"; values above 1 are taken as already being percentages.
  function score(n) {
    if (!isNum(n)) return '–';
    const v = Number(n);
    return v <= 1 ? `${v.toFixed(3)} (${(v * 100).toFixed(1)}%)` : `${v.toFixed(1)}%`;
  }

  function dateText(value) {
    if (!value) return '';
    const d = new Date(typeof value === 'number' && value < 1e12 ? value * 1000 : value);
    return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleString();
  }

  const scrollBehavior = () => (window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth');

  let uid = 0;
  const nextId = (prefix) => `${prefix}-${++uid}`;

  // A labelled form field: <div><label/>control</div>.
  function field(labelText, control) {
    if (!control.id) control.id = nextId('trainer-field');
    return el('div', { class: 'trainer-field' }, el('label', { for: control.id, text: labelText }), control);
  }

  // ---------------------------------------------------------------- HTTP
  // The server's message(s) for a failed response.
  function serverMessage(res) {
    const d = res.data || {};
    if (Array.isArray(d.errors) && d.errors.length) return d.errors.map(String).join('; ');
    if (typeof d.errors === 'string' && d.errors) return d.errors;
    if (typeof d.error === 'string' && d.error) return d.error;
    if (typeof d.message === 'string' && d.message) return d.message;
    if (typeof d.detail === 'string' && d.detail) return d.detail;
    if (Array.isArray(d.detail)) return d.detail.map((x) => (x && x.msg ? x.msg : String(x))).join('; ');
    return `HTTP ${res.status}`;
  }

  // ---------------------------------------------------------------- messages
  function status(text) {
    if (state.dom.status) state.dom.status.textContent = text || '';
  }

  function showError(text) {
    const box = state.dom.error;
    if (!box) return;
    box.textContent = text ? `${t('error')}: ${text}` : '';
    box.hidden = !text;
  }

  function clearMessages() {
    status('');
    showError('');
  }

  function failed(res) {
    status('');
    showError(serverMessage(res));
  }

  function crashed(err) {
    if (err instanceof AuthError) return;
    console.warn('[trainer]', err); // eslint-disable-line no-console
    status('');
    showError(err && err.message ? err.message : t('error'));
  }

  // Runs an action with its button disabled; errors end up in the error box.
  async function busy(button, fn) {
    if (button) button.disabled = true;
    try {
      await fn();
    } catch (err) {
      crashed(err);
    } finally {
      if (button && button.isConnected) button.disabled = false;
    }
  }

  // ---------------------------------------------------------------- console shell
  function section(key, title, ...body) {
    const heading = el('h2', { id: `trainer-h-${key}`, tabindex: '-1', text: title });
    const node = el('section', { class: 'trainer-section', id: `trainer-sec-${key}`, 'aria-labelledby': heading.id }, heading, body);
    state.dom[`sec_${key}`] = node;
    return node;
  }

  function startConsole() {
    state.view = 'console';
    const dom = state.dom;
    dom.status = el('div', { class: 'trainer-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'trainer-status' });
    dom.error = el('div', { class: 'trainer-error', role: 'alert', hidden: true, 'data-testid': 'trainer-error' });

    const header = el('header', { class: 'staff-header' },
      el('h1', { class: 'staff-title', text: t('title') }),
      el('div', { class: 'staff-user' },
        el('span', { class: 'trainer-username', 'data-testid': 'trainer-username', text: (state.me && state.me.username) || '' }),
        el('button', { type: 'button', class: 'staff-btn staff-btn-light', text: t('logout'), 'data-testid': 'trainer-logout', onclick: logout })));

    const sections = [
      section('intents', t('intents'), buildIntents()),
      section('stories', t('story'), buildStories()),
      section('candidates', t('candidates'), buildCandidates()),
      section('validate', t('validate'), buildValidate()),
      section('train', t('train'), buildTrain()),
      section('models', t('models'), buildModels()),
      section('report', t('report'), buildReport()),
    ];

    const nav = el('nav', { class: 'trainer-nav', 'aria-label': t('title') },
      el('ul', null, sections.map((sec) => {
        const heading = sec.querySelector('h2');
        return el('li', null, el('button', {
          type: 'button',
          class: 'trainer-nav-btn',
          text: heading.textContent,
          'aria-controls': sec.id,
          onclick: () => {
            sec.scrollIntoView({ behavior: scrollBehavior(), block: 'start' });
            heading.focus({ preventScroll: true });
          },
        }));
      })));

    const bar = el('div', { class: 'trainer-messages' }, dom.status, dom.error);
    root.replaceChildren(el('div', { class: 'trainer-shell' }, header, nav, bar, el('main', { class: 'trainer-main' }, sections)));
    root.removeAttribute('aria-busy');

    renderIntents();
    renderCandidates();
    renderModels();
    renderJob();

    loadIntents();
    loadCandidates();
    loadModels(true);
    loadJob();
  }

  function stopConsole() {
    if (state.pollTimer) clearTimeout(state.pollTimer);
    Object.assign(state, {
      view: null, me: null, intents: [], selected: null, candidates: [], candChoice: {}, models: [],
      job: null, pollTimer: null, reportModel: null, dom: {},
    });
    state.reportSeq += 1;
  }

  // ================================================================ intents
  function buildIntents() {
    const dom = state.dom;
    dom.intentList = el('ul', { class: 'trainer-intent-list', 'aria-label': t('intents'), 'data-testid': 'trainer-intent-list' });
    dom.intentDetail = el('div', { class: 'trainer-intent-detail' });

    // -- examples of the selected intent
    dom.intentTitle = el('h3', { class: 'trainer-intent-title' });
    dom.ruleBadge = el('span', { class: 'trainer-badge trainer-badge-ok', hidden: true, text: t('rule_saved') });
    dom.examples = el('ul', { class: 'trainer-examples', 'aria-label': t('examples'), 'data-testid': 'trainer-examples' });
    dom.newExample = el('input', { type: 'text', autocomplete: 'off', 'data-testid': 'trainer-new-example' });
    dom.addExample = el('button', { type: 'submit', class: 'staff-btn staff-btn-primary', text: t('add_example'), 'data-testid': 'trainer-add-example' });
    const exampleForm = el('form', { class: 'trainer-inline-form', novalidate: true },
      field(t('add_example'), dom.newExample), dom.addExample);
    exampleForm.addEventListener('submit', (event) => { event.preventDefault(); addExample(); });
    dom.responses = el('ul', { class: 'trainer-responses', 'aria-label': t('template'), 'data-testid': 'trainer-responses' });

    // -- template editor + rule
    dom.templateName = el('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', 'data-testid': 'trainer-template-name' });
    dom.templateTexts = el('textarea', { rows: '4', 'data-testid': 'trainer-template-texts' });
    dom.previewBtn = el('button', { type: 'button', class: 'staff-btn', text: t('preview'), 'data-testid': 'trainer-preview', onclick: preview });
    dom.saveTemplate = el('button', { type: 'submit', class: 'staff-btn staff-btn-primary', text: t('save_template'), 'data-testid': 'trainer-save-template' });
    dom.attachRule = el('button', { type: 'button', class: 'staff-btn', text: t('attach_rule'), 'data-testid': 'trainer-attach-rule', onclick: attachRule });
    dom.previewText = el('output', { class: 'trainer-preview-text', 'aria-live': 'polite', 'data-testid': 'trainer-preview-text' });
    const templateForm = el('form', { class: 'trainer-form', novalidate: true },
      el('h3', { text: t('template') }),
      field(t('template'), dom.templateName),
      field(t('template_texts_one_per_line'), dom.templateTexts),
      el('div', { class: 'staff-actions' }, dom.previewBtn, dom.saveTemplate, dom.attachRule),
      el('div', { class: 'trainer-preview-box' }, el('span', { class: 'trainer-muted', text: `${t('preview')}: ` }), dom.previewText));
    templateForm.addEventListener('submit', (event) => { event.preventDefault(); saveTemplate(); });
    dom.previewText.setAttribute('for', dom.templateTexts.id);

    dom.intentDetail.append(
      el('div', { class: 'trainer-intent-head' }, dom.intentTitle, dom.ruleBadge),
      el('h4', { text: t('examples') }), dom.examples, exampleForm,
      el('h4', { text: t('template') }), dom.responses,
      templateForm);

    // -- new intent
    dom.newIntentName = el('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', 'data-testid': 'trainer-new-intent-name' });
    dom.newIntentExamples = el('textarea', { rows: '5', 'data-testid': 'trainer-new-intent-examples' });
    dom.createIntent = el('button', { type: 'submit', class: 'staff-btn staff-btn-primary', text: t('create_intent'), 'data-testid': 'trainer-create-intent' });
    const newIntentForm = el('form', { class: 'trainer-form trainer-new-intent', novalidate: true },
      el('h3', { text: t('new_intent') }),
      field(t('intent_name'), dom.newIntentName),
      field(t('examples_one_per_line'), dom.newIntentExamples),
      el('div', { class: 'staff-actions' }, dom.createIntent));
    newIntentForm.addEventListener('submit', (event) => { event.preventDefault(); createIntent(); });

    const aside = el('div', { class: 'trainer-intent-aside' }, dom.intentList, newIntentForm);
    return el('div', { class: 'trainer-intents' }, aside, dom.intentDetail);
  }

  async function loadIntents() {
    try {
      const res = await api('/trainer/api/intents');
      if (!res.ok) { failed(res); return; }
      state.intents = Array.isArray(res.data.intents) ? res.data.intents.filter((i) => i && i.name) : [];
      if (state.selected && !findIntent(state.selected)) state.selected = null;
      if (!state.selected && state.intents.length) selectIntent(state.intents[0].name, false);
      else renderIntents();
      renderCandidates();
    } catch (err) {
      crashed(err);
    }
  }

  const findIntent = (name) => state.intents.find((i) => i.name === name) || null;

  function selectIntent(name, focusDetail) {
    const changed = state.selected !== name;
    state.selected = name;
    if (changed) {
      state.dom.templateName.value = `utter_${name}`;
      state.dom.templateTexts.value = '';
      state.dom.previewText.textContent = '';
      state.dom.newExample.value = '';
    }
    renderIntents();
    if (focusDetail) state.dom.newExample.focus();
  }

  function renderIntents() {
    const dom = state.dom;
    if (!dom.intentList) return;
    dom.intentList.replaceChildren(...state.intents.map((intent) => {
      const current = intent.name === state.selected;
      const button = el('button', {
        type: 'button',
        class: `trainer-intent-item${current ? ' is-selected' : ''}${intent.editable === false ? ' is-locked' : ''}`,
        'data-testid': 'trainer-intent-item',
        'data-intent': intent.name,
        'data-editable': String(intent.editable !== false),
        'aria-pressed': String(current),
        onclick: () => selectIntent(intent.name, true),
      },
      el('span', { class: 'trainer-intent-name', text: intent.name }),
      el('span', { class: 'trainer-count', text: String((intent.examples || []).length) }),
      intent.has_rule ? el('span', { class: 'trainer-rule-mark', 'aria-hidden': 'true', text: '✓' }) : null);
      return el('li', null, button);
    }));

    const intent = findIntent(state.selected);
    dom.intentDetail.hidden = !intent;
    if (!intent) return;
    dom.intentTitle.textContent = intent.name;
    dom.ruleBadge.hidden = !intent.has_rule;
    dom.examples.replaceChildren(...(intent.examples || []).map((text) => el('li', { class: 'trainer-example', 'data-testid': 'trainer-example', 'data-text': text },
      el('span', { class: 'trainer-example-text', text }),
      el('button', {
        type: 'button',
        class: 'staff-btn trainer-btn-small staff-btn-danger',
        text: t('delete'),
        'aria-label': `${t('delete')}: ${text}`,
        'data-testid': 'trainer-delete-example',
        onclick: (event) => deleteExample(event.currentTarget, intent.name, text),
      }))));
    dom.responses.replaceChildren(...(intent.responses || []).map((name) => el('li', null,
      el('button', {
        type: 'button',
        class: 'trainer-link',
        text: name,
        'data-testid': 'trainer-response',
        'data-response': name,
        onclick: () => { dom.templateName.value = name; dom.templateTexts.focus(); },
      }))));
  }

  function addExample() {
    const dom = state.dom;
    const intent = state.selected;
    const text = dom.newExample.value.trim();
    if (!intent || !text) { dom.newExample.focus(); return; }
    busy(dom.addExample, async () => {
      clearMessages();
      const res = await api(`/trainer/api/intents/${segment(intent)}/examples`, 'POST', { text });
      if (!res.ok) { failed(res); return; }
      dom.newExample.value = '';
      status(t('saved'));
      await loadIntents();
      dom.newExample.focus();
    });
  }

  function deleteExample(button, intent, text) {
    busy(button, async () => {
      clearMessages();
      const res = await api(`/trainer/api/intents/${segment(intent)}/examples`, 'DELETE', { text });
      if (!res.ok) { failed(res); return; }
      status(t('saved'));
      await loadIntents();
      state.dom.newExample.focus();
    });
  }

  function createIntent() {
    const dom = state.dom;
    const name = dom.newIntentName.value.trim();
    const examples = lines(dom.newIntentExamples.value);
    busy(dom.createIntent, async () => {
      clearMessages();
      const res = await api('/trainer/api/intents', 'POST', { name, examples });
      if (!res.ok) { failed(res); return; }
      dom.newIntentName.value = '';
      dom.newIntentExamples.value = '';
      status(t('saved'));
      await loadIntents();
      if (findIntent(name)) selectIntent(name, false);
    });
  }

  function preview() {
    const dom = state.dom;
    const texts = lines(dom.templateTexts.value);
    if (!texts.length) { dom.templateTexts.focus(); return; }
    busy(dom.previewBtn, async () => {
      clearMessages();
      dom.previewText.textContent = '';
      const filled = [];
      for (const text of texts) {
        const res = await api('/trainer/api/preview', 'POST', { text });
        if (!res.ok) { failed(res); return; }
        filled.push(typeof res.data.text === 'string' ? res.data.text : '');
      }
      dom.previewText.textContent = filled.join('\n');
    });
  }

  function saveTemplate() {
    const dom = state.dom;
    const name = dom.templateName.value.trim();
    const texts = lines(dom.templateTexts.value);
    if (!name) { dom.templateName.focus(); return; }
    busy(dom.saveTemplate, async () => {
      clearMessages();
      const res = await api(`/trainer/api/responses/${segment(name)}`, 'PUT', { texts });
      if (!res.ok) { failed(res); return; }
      status(t('saved'));
      await loadIntents();
    });
  }

  function attachRule() {
    const dom = state.dom;
    const intent = state.selected;
    const response = dom.templateName.value.trim();
    if (!intent) return;
    if (!response) { dom.templateName.focus(); return; }
    busy(dom.attachRule, async () => {
      clearMessages();
      const res = await api('/trainer/api/rules', 'POST', { intent, response });
      if (!res.ok) { failed(res); return; }
      status(t('rule_saved'));
      await loadIntents();
    });
  }

  // ================================================================ stories
  function buildStories() {
    const dom = state.dom;
    dom.storyName = el('input', { type: 'text', autocomplete: 'off', 'data-testid': 'trainer-story-name' });
    const helpId = nextId('trainer-help');
    dom.storySteps = el('textarea', { rows: '6', spellcheck: 'false', 'aria-describedby': helpId, 'data-testid': 'trainer-story-steps' });
    dom.saveStory = el('button', { type: 'submit', class: 'staff-btn staff-btn-primary', text: t('save_story'), 'data-testid': 'trainer-save-story' });
    const form = el('form', { class: 'trainer-form', novalidate: true },
      field(t('story_name'), dom.storyName),
      field(t('story'), dom.storySteps),
      el('p', { id: helpId, class: 'trainer-help', text: t('story_steps_help') }),
      el('div', { class: 'staff-actions' }, dom.saveStory));
    form.addEventListener('submit', (event) => { event.preventDefault(); saveStory(); });
    return form;
  }

  // "intent: ask_stock" / "action: action_check_stock" (a leading "- " and a full-width colon are fine).
  function parseSteps(text) {
    const steps = [];
    const bad = [];
    String(text || '').split(/\r?\n/).forEach((raw) => {
      const line = raw.trim().replace(/^-\s*/, '');
      if (!line) return;
      const m = /^(intent|action)\s*[:：]\s*(\S+)$/i.exec(line);
      if (m) steps.push({ [m[1].toLowerCase()]: m[2] });
      else bad.push(raw.trim());
    });
    return { steps, bad };
  }

  function saveStory() {
    const dom = state.dom;
    const name = dom.storyName.value.trim();
    const { steps, bad } = parseSteps(dom.storySteps.value);
    if (bad.length) {
      status('');
      showError(`${t('story_steps_help')} (${bad.join(' | ')})`);
      dom.storySteps.focus();
      return;
    }
    busy(dom.saveStory, async () => {
      clearMessages();
      const res = await api('/trainer/api/stories', 'POST', { name, steps });
      if (!res.ok) { failed(res); return; }
      dom.storyName.value = '';
      dom.storySteps.value = '';
      status(t('saved'));
    });
  }

  // ================================================================ candidates
  function buildCandidates() {
    state.dom.candidates = el('div', { class: 'trainer-candidates', 'data-testid': 'trainer-candidates' });
    return state.dom.candidates;
  }

  async function loadCandidates() {
    try {
      const res = await api('/trainer/api/candidates');
      if (!res.ok) { failed(res); return; }
      state.candidates = Array.isArray(res.data.candidates) ? res.data.candidates.filter((c) => c && c.id !== undefined) : [];
      renderCandidates();
    } catch (err) {
      crashed(err);
    }
  }

  function renderCandidates() {
    const box = state.dom.candidates;
    if (!box) return;
    if (!state.candidates.length) {
      box.replaceChildren(el('p', { class: 'trainer-muted', text: '–' }));
      return;
    }
    const groups = new Map();
    state.candidates.forEach((c) => {
      const key = c.predicted_intent ? String(c.predicted_intent) : '?';
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(c);
    });
    const names = state.intents.map((i) => i.name);
    box.replaceChildren(...[...groups.keys()].sort().map((key) => el('div', { class: 'trainer-cand-group', 'data-predicted': key },
      el('h3', null, el('span', { class: 'trainer-muted', text: `${t('predicted')}: ` }), key,
        el('span', { class: 'trainer-count', text: String(groups.get(key).length) })),
      el('ul', { class: 'trainer-cand-list' }, groups.get(key).map((c) => candidateItem(c, names))))));
  }

  function candidateItem(c, names) {
    const id = String(c.id);
    const options = names.slice();
    [c.correct_intent, c.predicted_intent].forEach((n) => { if (n && !options.includes(n)) options.push(n); });
    let chosen = state.candChoice[id];
    if (!chosen || !options.includes(chosen)) chosen = c.correct_intent || c.predicted_intent || '';
    const select = el('select', { 'data-testid': 'trainer-candidate-intent', id: nextId('trainer-cand') },
      el('option', { value: '', text: '—', selected: !chosen }),
      options.map((n) => el('option', { value: n, text: n, selected: n === chosen })));
    select.value = chosen || '';
    select.addEventListener('change', () => { state.candChoice[id] = select.value; });

    const move = el('button', { type: 'button', class: 'staff-btn staff-btn-primary trainer-btn-small', text: t('move_to'), 'data-testid': 'trainer-candidate-move' });
    const dismiss = el('button', { type: 'button', class: 'staff-btn trainer-btn-small', text: t('dismiss'), 'data-testid': 'trainer-candidate-dismiss' });
    move.addEventListener('click', () => {
      const intent = select.value;
      if (!intent) { select.focus(); return; }
      busy(move, async () => {
        clearMessages();
        const res = await api(`/trainer/api/candidates/${segment(id)}/accept`, 'POST', { intent });
        if (!res.ok) { failed(res); return; }
        dropCandidate(id);
        status(t('saved'));
        await loadIntents();
      });
    });
    dismiss.addEventListener('click', () => busy(dismiss, async () => {
      clearMessages();
      const res = await api(`/trainer/api/candidates/${segment(id)}/dismiss`, 'POST', {});
      if (!res.ok) { failed(res); return; }
      dropCandidate(id);
      status(t('saved'));
    }));

    return el('li', { class: 'trainer-candidate', 'data-testid': 'trainer-candidate', 'data-candidate-id': id },
      el('div', { class: 'trainer-cand-text' },
        el('span', { text: c.text || '' }),
        c.source ? el('span', { class: 'trainer-tag', text: String(c.source) }) : null),
      el('div', { class: 'trainer-cand-actions' },
        el('label', { class: 'staff-visually-hidden', for: select.id, text: t('move_to') }),
        select, move, dismiss));
  }

  function dropCandidate(id) {
    state.candidates = state.candidates.filter((c) => String(c.id) !== id);
    delete state.candChoice[id];
    renderCandidates();
    const next = state.dom.candidates && state.dom.candidates.querySelector('select');
    if (next) next.focus();
  }

  // ================================================================ validate
  function buildValidate() {
    const dom = state.dom;
    dom.validateBtn = el('button', { type: 'button', class: 'staff-btn staff-btn-primary', text: t('validate'), 'data-testid': 'trainer-validate', onclick: validate });
    dom.problems = el('ul', { class: 'trainer-problems', 'aria-label': t('problems'), 'data-testid': 'trainer-problems' });
    return el('div', null, el('div', { class: 'staff-actions' }, dom.validateBtn), el('h3', { text: t('problems') }), dom.problems);
  }

  function validate() {
    const dom = state.dom;
    busy(dom.validateBtn, async () => {
      clearMessages();
      dom.problems.replaceChildren();
      const res = await api('/trainer/api/validate', 'POST', {});
      if (!res.ok) { failed(res); return; }
      const problems = Array.isArray(res.data.problems) ? res.data.problems : [];
      dom.problems.setAttribute('data-ok', String(Boolean(res.data.ok)));
      if (!problems.length) {
        dom.problems.replaceChildren(el('li', { class: 'trainer-problem is-ok', text: t('no_problems') }));
      } else {
        const rank = (p) => (p && p.level === 'error' ? 0 : 1);
        dom.problems.replaceChildren(...problems.slice().sort((a, b) => rank(a) - rank(b)).map((p) => {
          const level = p && p.level === 'error' ? 'error' : 'warning';
          return el('li', { class: `trainer-problem is-${level}`, 'data-level': level },
            el('span', { class: `trainer-badge trainer-badge-${level}`, text: t(level) }),
            el('span', { text: (p && p.message) || '' }));
        }));
      }
      status(res.data.ok && !problems.some((p) => p && p.level === 'error') ? t('no_problems') : t('problems'));
    });
  }

  // ================================================================ training
  function buildTrain() {
    const dom = state.dom;
    dom.trainBtn = el('button', { type: 'button', class: 'staff-btn staff-btn-primary', text: t('train'), 'data-testid': 'trainer-train', onclick: train });
    dom.progress = el('progress', { max: '100', value: '0', id: nextId('trainer-progress'), 'data-testid': 'trainer-progress' });
    dom.jobStatus = el('p', { class: 'trainer-job-status', 'data-testid': 'trainer-job-status' });
    dom.jobMessage = el('p', { class: 'trainer-job-message', 'data-testid': 'trainer-job-message' });
    dom.jobAccuracy = el('dl', { class: 'trainer-kv' });
    dom.confirmWorse = el('button', { type: 'button', class: 'staff-btn staff-btn-danger', text: t('confirm_worse'), hidden: true, 'data-testid': 'trainer-confirm-worse', onclick: confirmWorse });
    dom.job = el('div', { class: 'trainer-job', hidden: true },
      el('h3', { text: t('training_status') }),
      dom.jobStatus,
      el('div', { class: 'trainer-progress-row' }, el('label', { for: dom.progress.id, text: t('progress') }), dom.progress),
      dom.jobMessage, dom.jobAccuracy, dom.confirmWorse);
    return el('div', null, el('div', { class: 'staff-actions' }, dom.trainBtn), dom.job);
  }

  function renderJob() {
    const dom = state.dom;
    if (!dom.job) return;
    const job = state.job;
    const running = Boolean(job && RUNNING.has(job.status));
    dom.trainBtn.disabled = running;
    dom.job.hidden = !job;
    if (!job) return;
    const pct = Math.max(0, Math.min(100, Number(job.progress) || 0));
    dom.progress.value = pct;
    dom.progress.textContent = `${pct}%`;
    dom.progress.setAttribute('aria-valuetext', `${pct}%`);
    dom.jobStatus.textContent = `${t('training_status')}: ${job.status || ''} (${pct}%)`;
    dom.jobStatus.setAttribute('data-status', job.status || '');
    dom.jobStatus.className = `trainer-job-status is-${job.status || 'unknown'}`;
    dom.jobMessage.textContent = job.message || '';
    const rows = [];
    if (isNum(job.accuracy)) rows.push([t('accuracy'), score(job.accuracy)]);
    if (isNum(job.previous_accuracy)) rows.push([t('previous_accuracy'), score(job.previous_accuracy)]);
    if (job.model) rows.push([t('models'), job.model]);
    dom.jobAccuracy.replaceChildren(...rows.map(([k, v]) => el('div', null, el('dt', { text: k }), el('dd', { text: v }))));
    dom.confirmWorse.hidden = !(job.status === 'kept' && job.model && !job.confirmed);
  }

  function schedulePoll() {
    if (state.pollTimer) clearTimeout(state.pollTimer);
    state.pollTimer = null;
    if (state.view === 'console' && state.job && RUNNING.has(state.job.status)) {
      state.pollTimer = setTimeout(loadJob, POLL_MS);
    }
  }

  async function loadJob() {
    state.pollTimer = null;
    const wasRunning = Boolean(state.job && RUNNING.has(state.job.status));
    try {
      const res = await api('/trainer/api/train');
      if (state.view !== 'console') return;
      if (!res.ok) { failed(res); return; }
      setJob(res.data.job || null, wasRunning);
    } catch (err) {
      crashed(err);
      if (state.view === 'console' && state.job && RUNNING.has(state.job.status)) state.pollTimer = setTimeout(loadJob, POLL_MS * 2);
    }
  }

  function setJob(job, wasRunning) {
    const prevId = state.job && state.job.id;
    const confirmed = Boolean(state.job && job && state.job.id === job.id && state.job.confirmed);
    state.job = job && typeof job === 'object' ? Object.assign({}, job, { confirmed }) : null;
    renderJob();
    schedulePoll();
    const running = Boolean(state.job && RUNNING.has(state.job.status));
    if (state.job && !running && (wasRunning || (prevId && prevId !== state.job.id))) {
      status(`${t('training_status')}: ${state.job.status}`);
      loadModels(true);
    }
  }

  async function train() {
    const dom = state.dom;
    dom.trainBtn.disabled = true;
    clearMessages();
    try {
      const res = await api('/trainer/api/train', 'POST', { confirm_worse: false });
      if (res.status === 409) {
        failed(res);
        await loadJob(); // show (and follow) the job that already runs
      } else if (!res.ok) {
        failed(res);
      } else {
        const job = res.data.job && typeof res.data.job === 'object' ? res.data.job : {};
        const started = Object.assign({ status: 'training', progress: 0 }, job);
        status(`${t('training_status')}: ${started.status}`);
        setJob(started, true);
      }
    } catch (err) {
      crashed(err);
    } finally {
      renderJob(); // the button stays disabled while a job runs
    }
  }

  function confirmWorse() {
    const dom = state.dom;
    const job = state.job;
    if (!job || !job.model) return;
    busy(dom.confirmWorse, async () => {
      clearMessages();
      const res = await api(`/trainer/api/models/${segment(job.model)}/activate`, 'POST', {});
      if (!res.ok) { failed(res); return; }
      if (state.job && state.job.id === job.id) state.job.confirmed = true;
      renderJob();
      status(t('saved'));
      await loadModels(true);
    });
  }

  // ================================================================ models
  function buildModels() {
    state.dom.models = el('ul', { class: 'trainer-models', 'aria-label': t('models'), 'data-testid': 'trainer-models' });
    return state.dom.models;
  }

  async function loadModels(showActiveReport) {
    try {
      const res = await api('/trainer/api/models');
      if (state.view !== 'console') return;
      if (!res.ok) { failed(res); return; }
      state.models = Array.isArray(res.data.models) ? res.data.models.filter((m) => m && m.name) : [];
      renderModels();
      if (showActiveReport) {
        const active = state.models.find((m) => m.active);
        if (active) loadReport(active.name, false);
      }
    } catch (err) {
      crashed(err);
    }
  }

  function renderModels() {
    const box = state.dom.models;
    if (!box) return;
    if (!state.models.length) {
      box.replaceChildren(el('li', { class: 'trainer-muted', text: '–' }));
      return;
    }
    box.replaceChildren(...state.models.map((m) => {
      const active = Boolean(m.active);
      const reportBtn = el('button', {
        type: 'button',
        class: 'staff-btn trainer-btn-small',
        text: t('report'),
        'aria-label': `${t('report')}: ${m.name}`,
        'data-testid': 'trainer-show-report',
        onclick: () => loadReport(m.name, true),
      });
      const activate = active ? el('span', { class: 'trainer-badge trainer-badge-ok', 'data-testid': 'trainer-model-active', text: t('active') })
        : el('button', {
          type: 'button',
          class: 'staff-btn staff-btn-primary trainer-btn-small',
          text: t('activate'),
          'aria-label': `${t('activate')}: ${m.name}`,
          'data-testid': 'trainer-activate',
          onclick: (event) => activateModel(event.currentTarget, m.name),
        });
      return el('li', { class: `trainer-model${active ? ' is-active' : ''}`, 'data-testid': 'trainer-model', 'data-model': m.name, 'data-active': String(active) },
        el('div', { class: 'trainer-model-info' },
          el('strong', { class: 'trainer-model-name', text: m.name }),
          el('span', { class: 'trainer-muted', text: dateText(m.created_at) }),
          el('span', null, `${t('accuracy')}: ${score(m.accuracy)}`),
          el('span', null, `${t('f1')}: ${fixed(m.macro_f1)}`)),
        el('div', { class: 'trainer-model-actions' }, activate, reportBtn));
    }));
  }

  function activateModel(button, name) {
    busy(button, async () => {
      clearMessages();
      const res = await api(`/trainer/api/models/${segment(name)}/activate`, 'POST', {});
      if (!res.ok) { failed(res); return; }
      status(`${t('active')}: ${name}`);
      await loadModels(false);
      const item = [...state.dom.models.querySelectorAll('[data-testid="trainer-model"]')].find((n) => n.getAttribute('data-model') === name);
      const focusable = item && item.querySelector('button');
      if (focusable) focusable.focus();
    });
  }

  // ================================================================ report
  function buildReport() {
    state.dom.report = el('div', { class: 'trainer-report', 'data-testid': 'trainer-report', 'aria-live': 'polite' });
    return state.dom.report;
  }

  async function loadReport(model, focus) {
    const seq = ++state.reportSeq;
    state.reportModel = model;
    try {
      const res = await api(`/trainer/api/report/${segment(model)}`);
      if (seq !== state.reportSeq || state.view !== 'console') return;
      if (!res.ok) {
        state.dom.report.replaceChildren(el('p', { class: 'trainer-muted', text: `${model}: ${serverMessage(res)}` }));
        if (focus) failed(res);
        return;
      }
      renderReport(model, res.data);
      if (focus) {
        const heading = document.getElementById('trainer-h-report');
        if (heading) {
          heading.scrollIntoView({ behavior: scrollBehavior(), block: 'start' });
          heading.focus({ preventScroll: true });
        }
      }
    } catch (err) {
      crashed(err);
    }
  }

  function table(caption, headers, rows, testid) {
    return el('div', { class: 'trainer-table-wrap' }, el('table', { class: 'trainer-table', 'data-testid': testid },
      el('caption', { class: 'staff-visually-hidden', text: caption }),
      el('thead', null, el('tr', null, headers.map(([text, numeric]) => el('th', { scope: 'col', class: numeric ? 'is-num' : null, text })))),
      el('tbody', null, rows.map((cells) => el('tr', null, cells.map(([text, numeric], i) => (i === 0
        ? el('th', { scope: 'row', class: numeric ? 'is-num' : null, text })
        : el('td', { class: numeric ? 'is-num' : null, text }))))))));
  }

  function renderReport(model, report) {
    const box = state.dom.report;
    const parts = [el('h3', { class: 'trainer-report-model', 'data-model': model, text: model })];
    parts.push(el('p', { class: 'trainer-accuracy', 'data-testid': 'trainer-accuracy' },
      el('span', { class: 'trainer-muted', text: `${t('accuracy')}: ` }), el('strong', { text: score(report.accuracy) })));

    const perIntent = report.per_intent && typeof report.per_intent === 'object' ? report.per_intent : {};
    const intentRows = Object.entries(perIntent).map(([name, m]) => [name, m || {}]);
    intentRows.sort((a, b) => (Number(a[1].f1) || 0) - (Number(b[1].f1) || 0) || a[0].localeCompare(b[0]));
    parts.push(el('h4', { text: t('per_intent') }));
    parts.push(table(t('per_intent'),
      [[t('intents')], [t('precision'), true], [t('recall'), true], [t('f1'), true], [t('support'), true]],
      intentRows.map(([name, m]) => [[name], [fixed(m.precision), true], [fixed(m.recall), true], [fixed(m.f1), true],
        [isNum(m.support) ? String(m.support) : '–', true]]),
      'trainer-per-intent'));

    const url = typeof report.confusion_png === 'string' ? report.confusion_png : '';
    if (url.startsWith('/trainer/')) {
      parts.push(el('h4', { text: t('confusion_matrix') }));
      parts.push(el('img', { class: 'trainer-confusion', src: url, alt: `${t('confusion_matrix')} · ${model}`, loading: 'lazy', 'data-testid': 'trainer-confusion' }));
    }

    const errors = Array.isArray(report.errors) ? report.errors.slice(0, MAX_ERRORS_SHOWN) : [];
    parts.push(el('h4', { text: t('worst_errors') }));
    parts.push(errors.length ? table(t('worst_errors'),
      [[t('text')], [t('expected')], [t('predicted')], [t('confidence'), true]],
      errors.map((e) => [[(e && e.text) || ''], [(e && e.intent) || ''], [(e && e.predicted) || ''], [fixed(e && e.confidence), true]]),
      'trainer-worst-errors') : el('p', { class: 'trainer-muted', text: '–' }));

    box.replaceChildren(...parts);
  }

  // ================================================================ boot
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible' || state.view !== 'console') return;
    loadCandidates();
    loadModels(false);
    if (!state.pollTimer) loadJob();
  });

  staff.run();
})();
