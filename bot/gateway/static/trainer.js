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
  const STATUS_MS = 6000;                       // how long a confirmation stays
  const RUNNING = new Set(['queued', 'training', 'evaluating']);
  const MAX_ERRORS_SHOWN = 50;                  // rows of the "worst errors" table

  const root = document.getElementById('trainer-root');
  if (!root) return;

  const state = {
    strings: {},
    view: null,          // 'login' | 'console'
    me: null,            // {username, role}
    intents: [],         // [{name, examples, responses, has_rule, editable}]
    selected: null,      // selected intent name
    editing: null,       // {intent, text, error}: the example being edited in place
    variables: [],       // slot names a template may use
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

  function shortTime(value) {
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return '';
    const two = (n) => String(n).padStart(2, '0');
    return `${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
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

  // ---------------------------------------------------------------- messages (worded from codes)
  // The API answers a refusal with codes and values ({code, params}); the words are the page's,
  // from gateway_strings.yml (trainer.errors), so a trainer never reads the server's English.
  const table_ = (key) => (state.strings[key] && typeof state.strings[key] === 'object' ? state.strings[key] : {});
  const slotLabel = (name) => table_('slot_names')[name] || '';

  function paramText(key, value) {
    const list = Array.isArray(value) ? value : [value];
    if (key === 'known') return list.map(slotLabel).filter(Boolean).join('、');
    if (key === 'variable') return slotLabel(value) || `{${value}}`;
    if (key === 'variables') return list.map((v) => `{${v}}`).join('、');
    return list.map(String).join('、');
  }

  function fill(template, params) {
    return String(template).replace(/\{(\w+)\}/g, (whole, key) => (params && key in params ? paramText(key, params[key]) : whole));
  }

  function problemText(problem) {
    const code = problem && problem.code ? String(problem.code) : '';
    const words = table_('errors');
    if (words[code]) return fill(words[code], (problem && problem.params) || {});
    return fill(words.unknown || t('error'), { code: code || '?' });
  }

  // The Chinese message(s) for a failed response.
  function serverMessage(res) {
    const d = res.data || {};
    if (Array.isArray(d.errors) && d.errors.length) return d.errors.map((e) => problemText(e && typeof e === 'object' ? e : {})).join('\n');
    if (res.status === 403) return problemText({ code: 'forbidden' });
    if (res.status === 404) return problemText({ code: 'not_found' });
    return problemText({ code: String(res.status) });
  }

  // A short confirmation that goes away by itself (errors stay until the next action).
  let statusTimer = null;
  function status(text) {
    if (!state.dom.status) return;
    state.dom.status.textContent = text || '';
    clearTimeout(statusTimer);
    if (text) statusTimer = setTimeout(() => { if (state.dom.status) state.dom.status.textContent = ''; }, STATUS_MS);
  }

  function showError(text) {
    const box = state.dom.error;
    if (!box) return;
    box.textContent = text ? `${t('error')}：${text}` : '';
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
    showError(problemText({ code: 'network' }));
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
    dom.error = el('div', { class: 'trainer-error', role: 'alert', hidden: true, 'data-testid': 'trainer-error', onclick: () => showError('') });

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

    // -- examples of the selected intent (each edited or deleted where it is)
    dom.intentTitle = el('h3', { class: 'trainer-intent-title', 'data-testid': 'trainer-intent-title' });
    dom.ruleBadge = el('span', { class: 'trainer-badge', 'data-testid': 'trainer-rule-badge' });
    dom.examplesHeading = el('h4', { text: t('examples') });
    dom.examples = el('ul', { class: 'trainer-examples', 'aria-label': t('examples'), 'data-testid': 'trainer-examples' });
    dom.newExample = el('input', { type: 'text', autocomplete: 'off', 'data-testid': 'trainer-new-example' });
    dom.addExample = el('button', { type: 'submit', class: 'staff-btn staff-btn-primary', text: t('add_example'), 'data-testid': 'trainer-add-example' });
    const exampleForm = el('form', { class: 'trainer-inline-form', novalidate: true },
      field(t('add_example'), dom.newExample), dom.addExample);
    exampleForm.addEventListener('submit', (event) => { event.preventDefault(); addExample(); });

    // -- the reply template: the intent's templates, the wording editor, variables, preview, rule
    dom.responses = el('ul', { class: 'trainer-responses', 'aria-label': t('template_name'), 'data-testid': 'trainer-responses' });
    dom.templateName = el('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', 'data-testid': 'trainer-template-name' });
    dom.templateTexts = el('textarea', { rows: '3', 'data-testid': 'trainer-template-texts' });
    dom.variables = el('div', { class: 'trainer-variables', 'data-testid': 'trainer-variables' });
    dom.previewBtn = el('button', { type: 'button', class: 'staff-btn', text: t('preview'), 'data-testid': 'trainer-preview', onclick: preview });
    dom.saveTemplate = el('button', { type: 'submit', class: 'staff-btn staff-btn-primary', text: t('save_template'), 'data-testid': 'trainer-save-template' });
    dom.attachRule = el('button', { type: 'button', class: 'staff-btn', text: t('attach_rule'), 'data-testid': 'trainer-attach-rule', onclick: attachRule });
    dom.previewText = el('output', { class: 'trainer-preview-text', 'aria-live': 'polite', 'data-testid': 'trainer-preview-text' });
    dom.previewBox = el('div', { class: 'trainer-preview-box', hidden: true },
      el('span', { class: 'trainer-muted', text: `${t('preview')}：` }), dom.previewText);
    dom.actionNote = el('p', { class: 'trainer-action-note', hidden: true, 'data-testid': 'trainer-action-note', text: t('answered_by_action') });
    const templateForm = el('form', { class: 'trainer-form trainer-template', novalidate: true },
      el('h4', { text: t('template') }),
      dom.responses,
      dom.actionNote,
      field(t('template_name'), dom.templateName),
      field(t('template_texts_one_per_line'), dom.templateTexts),
      dom.variables,
      el('div', { class: 'staff-actions' }, dom.previewBtn, dom.saveTemplate, dom.attachRule),
      dom.previewBox);
    templateForm.addEventListener('submit', (event) => { event.preventDefault(); saveTemplate(); });
    dom.previewText.setAttribute('for', dom.templateTexts.id);

    dom.intentDetail.append(
      el('div', { class: 'trainer-intent-head' }, dom.intentTitle, dom.ruleBadge),
      el('div', { class: 'trainer-intent-columns' },
        el('div', { class: 'trainer-examples-box' }, dom.examplesHeading, dom.examples, exampleForm),
        templateForm));

    // -- new intent
    dom.newIntentName = el('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', 'data-testid': 'trainer-new-intent-name' });
    dom.newIntentExamples = el('textarea', { rows: '4', 'data-testid': 'trainer-new-intent-examples' });
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
      state.variables = Array.isArray(res.data.variables) ? res.data.variables : [];
      if (state.selected && !findIntent(state.selected)) state.selected = null;
      if (!state.selected && state.intents.length) selectIntent(state.intents[0].name, false);
      else renderIntents();
      renderCandidates();
    } catch (err) {
      crashed(err);
    }
  }

  const findIntent = (name) => state.intents.find((i) => i.name === name) || null;

  // The template editor shows a template's name and its wordings, one per line.
  function showTemplate(intent, name) {
    const dom = state.dom;
    const wordings = (intent && intent.wordings && intent.wordings[name]) || [];
    dom.templateName.value = name;
    dom.templateTexts.value = wordings.join('\n');
    dom.templateTexts.rows = String(Math.min(8, Math.max(3, wordings.length + 1)));
    dom.previewText.textContent = '';
    dom.previewBox.hidden = true;
  }

  function selectIntent(name, focusDetail) {
    const changed = state.selected !== name;
    state.selected = name;
    state.editing = null;
    if (changed) {
      const intent = findIntent(name);
      showTemplate(intent, (intent && intent.responses && intent.responses[0]) || `utter_${name}`);
      state.dom.newExample.value = '';
    }
    renderIntents();
    if (focusDetail) state.dom.newExample.focus({ preventScroll: true });
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
      el('span', { class: 'trainer-intent-name', text: intent.name },
        intent.label ? el('span', { class: 'trainer-intent-label', text: intent.label }) : null),
      el('span', { class: 'trainer-count', text: String((intent.examples || []).length) }),
      intent.has_rule ? el('span', { class: 'trainer-rule-mark', 'aria-hidden': 'true', text: '✓' }) : null);
      return el('li', null, button);
    }));

    const intent = findIntent(state.selected);
    dom.intentDetail.hidden = !intent;
    if (!intent) return;
    dom.intentTitle.textContent = intent.name;
    dom.ruleBadge.textContent = intent.has_rule ? t('rule_saved') : t('no_rule_yet');
    dom.ruleBadge.className = `trainer-badge ${intent.has_rule ? 'trainer-badge-ok' : 'trainer-badge-warning'}`;
    const examples = intent.examples || [];
    dom.examplesHeading.textContent = `${t('examples')}（${examples.length}）`;
    dom.examples.replaceChildren(...examples.map((text) => exampleItem(intent.name, text)));
    dom.responses.replaceChildren(...(intent.responses || []).map((name) => el('li', null,
      el('button', {
        type: 'button',
        class: `trainer-chip${name === dom.templateName.value ? ' is-selected' : ''}`,
        text: name,
        'data-testid': 'trainer-response',
        'data-response': name,
        onclick: () => { showTemplate(intent, name); renderIntents(); dom.templateTexts.focus(); },
      }))));
    dom.actionNote.hidden = !((intent.actions || []).length && !(intent.responses || []).length);
    renderVariables();
  }

  // Buttons that insert a template variable ({order_id}) at the cursor, labelled in Chinese.
  function renderVariables() {
    const dom = state.dom;
    const named = (state.variables || []).filter((name) => slotLabel(name));
    dom.variables.hidden = !named.length;
    dom.variables.replaceChildren(el('span', { class: 'trainer-muted', text: t('insert_variable') }), ...named.map((name) => el('button', {
      type: 'button',
      class: 'trainer-chip',
      text: slotLabel(name),
      'data-testid': 'trainer-variable',
      'data-variable': name,
      onclick: () => insertVariable(name),
    })));
  }

  function insertVariable(name) {
    const box = state.dom.templateTexts;
    const token = `{${name}}`;
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    box.setRangeText(token, start, end, 'end');
    box.focus();
  }

  // One example: its text with 修改 / 删除, or (while edited) an input with 保存 / 取消.
  function exampleItem(intent, text) {
    const editing = state.editing && state.editing.intent === intent && state.editing.text === text;
    const item = el('li', { class: `trainer-example${editing ? ' is-editing' : ''}`, 'data-testid': 'trainer-example', 'data-text': text });
    if (!editing) {
      item.append(
        el('span', { class: 'trainer-example-text', text }),
        el('span', { class: 'trainer-example-actions' },
          el('button', {
            type: 'button',
            class: 'staff-btn trainer-btn-small',
            text: t('edit'),
            'aria-label': `${t('edit')}：${text}`,
            'data-testid': 'trainer-edit-example',
            onclick: () => { state.editing = { intent, text, error: '' }; renderIntents(); },
          }),
          el('button', {
            type: 'button',
            class: 'staff-btn trainer-btn-small staff-btn-danger',
            text: t('delete'),
            'aria-label': `${t('delete')}：${text}`,
            'data-testid': 'trainer-delete-example',
            onclick: (event) => deleteExample(event.currentTarget, intent, text),
          })));
      return item;
    }
    const input = el('input', { type: 'text', value: text, 'aria-label': t('edit_example'), 'data-testid': 'trainer-example-input' });
    const save = el('button', { type: 'submit', class: 'staff-btn staff-btn-primary trainer-btn-small', text: t('save'), 'data-testid': 'trainer-save-example' });
    const cancel = el('button', {
      type: 'button',
      class: 'staff-btn trainer-btn-small',
      text: t('cancel'),
      'data-testid': 'trainer-cancel-example',
      onclick: () => { state.editing = null; renderIntents(); },
    });
    const problem = el('p', { class: 'trainer-inline-error', role: 'alert', 'data-testid': 'trainer-example-error', text: state.editing.error || '', hidden: !state.editing.error });
    const form = el('form', { class: 'trainer-example-form', novalidate: true }, input, save, cancel);
    form.addEventListener('submit', (event) => { event.preventDefault(); saveExample(save, intent, text, input.value.trim()); });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') { state.editing = null; renderIntents(); }
    });
    item.append(form, problem);
    setTimeout(() => { if (input.isConnected) { input.focus({ preventScroll: true }); input.select(); } }, 0);
    return item;
  }

  function saveExample(button, intent, old, text) {
    if (text === old) { state.editing = null; renderIntents(); return; }
    busy(button, async () => {
      clearMessages();
      const res = await api(`/trainer/api/intents/${segment(intent)}/examples`, 'PUT', { old, text });
      if (!res.ok) {
        if (state.editing) state.editing.error = serverMessage(res);
        renderIntents();
        const input = state.dom.examples.querySelector('[data-testid="trainer-example-input"]');
        if (input) input.value = text;
        return;
      }
      state.editing = null;
      status(t('example_saved'));
      await loadIntents();
    });
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
      dom.newExample.focus({ preventScroll: true });
    });
  }

  function deleteExample(button, intent, text) {
    busy(button, async () => {
      clearMessages();
      const res = await api(`/trainer/api/intents/${segment(intent)}/examples`, 'DELETE', { text });
      if (!res.ok) { failed(res); return; }
      status(t('example_deleted'));
      await loadIntents();
      state.dom.newExample.focus({ preventScroll: true });
    });
  }

  // The new intent is selected and shown in the list without moving the page.
  function createIntent() {
    const dom = state.dom;
    const name = dom.newIntentName.value.trim();
    const examples = lines(dom.newIntentExamples.value);
    busy(dom.createIntent, async () => {
      clearMessages();
      const res = await api('/trainer/api/intents', 'POST', { name, examples });
      if (!res.ok) { failed(res); return; }
      const scrollY = window.scrollY;
      dom.newIntentName.value = '';
      dom.newIntentExamples.value = '';
      status(t('intent_created'));
      await loadIntents();
      if (findIntent(name)) selectIntent(name, false);
      const item = dom.intentList.querySelector(`[data-intent="${CSS.escape(name)}"]`);
      if (item) dom.intentList.scrollTop = item.offsetTop - dom.intentList.offsetTop - 8;
      window.scrollTo({ top: scrollY, behavior: 'auto' });
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
      dom.previewBox.hidden = false;
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
      status(t('template_saved'));
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
      box.replaceChildren(el('p', { class: 'trainer-muted', text: t('no_candidates') }));
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
      el('h3', null, el('span', { class: 'trainer-muted', text: `${t('predicted')}：` }),
        groups.get(key)[0].predicted_label ? `${groups.get(key)[0].predicted_label} ` : '',
        el('span', { class: 'trainer-muted', text: key }),
        el('span', { class: 'trainer-count', text: String(groups.get(key).length) })),
      el('ul', { class: 'trainer-cand-list' }, groups.get(key).map((c) => candidateItem(c, names))))));
  }

  // An intent as the trainer reads it: its Chinese name (from the intent list) and its own name.
  function labelled(name) {
    const found = state.intents.find((i) => i.name === name);
    return found && found.label ? `${found.label}（${name}）` : name;
  }

  function candidateItem(c, names) {
    const id = String(c.id);
    const options = names.slice();
    // Not understood (nlu_fallback) is no intent to teach: the trainer picks one.
    const teachable = (n) => n && n !== 'nlu_fallback';
    [c.correct_intent, c.predicted_intent].forEach((n) => { if (teachable(n) && !options.includes(n)) options.push(n); });
    let chosen = state.candChoice[id];
    if (!chosen || !options.includes(chosen)) chosen = [c.correct_intent, c.predicted_intent].find(teachable) || '';
    const select = el('select', { 'data-testid': 'trainer-candidate-intent', id: nextId('trainer-cand') },
      el('option', { value: '', text: '—', selected: !chosen }),
      options.map((n) => el('option', { value: n, text: labelled(n), selected: n === chosen })));
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
        c.source ? el('span', { class: 'trainer-tag', 'data-source': String(c.source), text: table_('sources')[c.source] || '' }) : null),
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
    dom.problemsHeading = el('h3', { text: t('problems'), hidden: true });
    return el('div', null, el('div', { class: 'staff-actions' }, dom.validateBtn), dom.problemsHeading, dom.problems);
  }

  function validate() {
    const dom = state.dom;
    busy(dom.validateBtn, async () => {
      clearMessages();
      dom.problems.replaceChildren();
      const res = await api('/trainer/api/validate', 'POST', {});
      if (!res.ok) { failed(res); return; }
      const problems = Array.isArray(res.data.problems) ? res.data.problems : [];
      dom.problemsHeading.hidden = !problems.length;
      dom.problems.setAttribute('data-ok', String(Boolean(res.data.ok)));
      if (!problems.length) {
        dom.problems.replaceChildren(el('li', { class: 'trainer-problem is-ok', text: t('no_problems') }));
      } else {
        const rank = (p) => (p && p.level === 'error' ? 0 : 1);
        dom.problems.replaceChildren(...problems.slice().sort((a, b) => rank(a) - rank(b)).map((p) => {
          const level = p && p.level === 'error' ? 'error' : 'warning';
          const detail = p && p.params && p.params.detail;
          return el('li', { class: `trainer-problem is-${level}`, 'data-level': level, 'data-code': (p && p.code) || '' },
            el('span', { class: `trainer-badge trainer-badge-${level}`, text: t(`level_${level}`) }),
            el('span', { class: 'trainer-problem-text' }, problemText(p),
              detail ? el('details', { class: 'trainer-detail' }, el('summary', { text: t('original_text') }), el('code', { text: String(detail) })) : null));
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
    dom.progressText = el('span', { class: 'trainer-progress-pct', 'data-testid': 'trainer-progress-pct' });
    dom.jobStatus = el('p', { class: 'trainer-job-status', 'data-testid': 'trainer-job-status' });
    dom.jobStage = el('p', { class: 'trainer-job-stage', 'data-testid': 'trainer-job-stage' });
    dom.jobEta = el('p', { class: 'trainer-job-eta', 'data-testid': 'trainer-job-eta' });
    dom.jobMessage = el('p', { class: 'trainer-job-message', 'data-testid': 'trainer-job-message' });
    dom.jobAccuracy = el('dl', { class: 'trainer-kv' });
    dom.confirmWorse = el('button', { type: 'button', class: 'staff-btn staff-btn-danger', text: t('confirm_worse'), hidden: true, 'data-testid': 'trainer-confirm-worse', onclick: confirmWorse });
    dom.job = el('div', { class: 'trainer-job', hidden: true },
      dom.jobStatus,
      dom.progressRow = el('div', { class: 'trainer-progress-row' }, el('label', { for: dom.progress.id, text: t('progress') }), dom.progress, dom.progressText),
      dom.jobStage, dom.jobEta, dom.jobMessage, dom.jobAccuracy, dom.confirmWorse);
    return el('div', null, el('div', { class: 'staff-actions' }, dom.trainBtn), dom.job);
  }

  const statusWord = (code) => table_('statuses')[code] || t('training_status');

  function etaText(seconds) {
    if (!isNum(seconds)) return '';
    const s = Number(seconds);
    if (s < 15) return t('eta_soon');
    if (s < 90) return fill(t('eta_seconds'), { n: String(Math.round(s / 5) * 5) });
    return fill(t('eta_minutes'), { n: String(Math.round(s / 60)) });
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
    dom.progressText.textContent = `${pct}%`;
    dom.progressRow.hidden = job.status === 'failed';
    dom.jobStatus.textContent = `${t('training_status')}：${statusWord(job.status)}`;
    dom.jobStatus.setAttribute('data-status', job.status || '');
    dom.jobStatus.className = `trainer-job-status is-${job.status || 'unknown'}`;

    // Where it is: the component Rasa trains now (or the job's own step), and how many are done.
    const stages = table_('stages');
    const stage = running && job.status !== 'queued' ? (job.stage ? stages[job.stage] || '' : stages.start || '') : '';
    const steps = isNum(job.steps) && job.status === 'training' ? fill(t('step_of'), { step: String(job.step || 0), steps: String(job.steps) }) : '';
    dom.jobStage.textContent = stage ? `${t('stage_now')}：${stage}${steps ? `（${steps}）` : ''}` : steps;
    dom.jobStage.setAttribute('data-stage', (running && job.stage) || '');
    // An estimate only from a previous run's durations; none shown without one.
    const eta = running ? etaText(job.eta_seconds) : '';
    dom.jobEta.textContent = eta ? `${t('eta')}：${eta}` : '';
    dom.jobEta.hidden = !eta;

    const reasons = table_('reasons');
    const notes = table_('status_notes');
    let note = job.status === 'kept' && job.confirmed ? notes.confirmed : notes[job.status];
    if (job.status === 'queued' && isNum(job.unclaimed_minutes)) note = fill(notes.unclaimed || '', { minutes: String(job.unclaimed_minutes) });
    dom.jobMessage.textContent = job.status === 'failed' ? (reasons[job.reason] || reasons.unexpected || '') : (note || '');
    dom.jobMessage.setAttribute('data-reason', job.reason || '');
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
    const prevProgress = state.job && state.job.progress;
    const prevId = state.job && state.job.id;
    const same = Boolean(state.job && job && state.job.id === job.id);
    const confirmed = same && Boolean(state.job.confirmed);
    state.job = job && typeof job === 'object' ? Object.assign({}, job, { confirmed }) : null;
    // The bar never goes back while one job runs (the server's estimate may be revised down).
    if (same && state.job && RUNNING.has(state.job.status)) state.job.progress = Math.max(Number(state.job.progress) || 0, Number(prevProgress) || 0);
    renderJob();
    schedulePoll();
    const running = Boolean(state.job && RUNNING.has(state.job.status));
    if (state.job && !running && (wasRunning || (prevId && prevId !== state.job.id))) {
      status(`${t('training_status')}：${statusWord(state.job.status)}`);
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
        status(`${t('training_status')}：${statusWord(started.status)}`);
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
    state.dom.chart = el('figure', { class: 'trainer-chart', 'data-testid': 'trainer-chart' });
    state.dom.models = el('ul', { class: 'trainer-models', 'aria-label': t('models'), 'data-testid': 'trainer-models' });
    return el('div', { class: 'trainer-models-box' }, state.dom.chart, state.dom.models);
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

  const modelLabel = (name) => (name === 'initial' ? t('initial_model') : name);

  function renderModels() {
    const box = state.dom.models;
    if (!box) return;
    renderChart();
    if (!state.models.length) {
      box.replaceChildren(el('li', { class: 'trainer-muted', text: t('no_models') }));
      return;
    }
    box.replaceChildren(...state.models.map((m) => {
      const active = Boolean(m.active);
      const reportBtn = el('button', {
        type: 'button',
        class: 'staff-btn trainer-btn-small',
        text: t('report'),
        'aria-label': `${t('report')}：${modelLabel(m.name)}`,
        'data-testid': 'trainer-show-report',
        onclick: () => loadReport(m.name, true),
      });
      const activate = active ? el('span', { class: 'trainer-badge trainer-badge-ok', 'data-testid': 'trainer-model-active', text: t('active') })
        : el('button', {
          type: 'button',
          class: 'staff-btn staff-btn-primary trainer-btn-small',
          text: t('activate'),
          'aria-label': `${t('activate')}：${modelLabel(m.name)}`,
          'data-testid': 'trainer-activate',
          onclick: (event) => activateModel(event.currentTarget, m.name),
        });
      return el('li', { class: `trainer-model${active ? ' is-active' : ''}`, 'data-testid': 'trainer-model', 'data-model': m.name, 'data-active': String(active) },
        el('div', { class: 'trainer-model-info' },
          el('strong', { class: 'trainer-model-name', text: modelLabel(m.name) }),
          el('span', { class: 'trainer-muted', 'data-testid': 'trainer-model-time', 'data-time': m.created_at || '', text: `${t('trained_at')}：${dateText(m.created_at)}` }),
          el('span', null, `${t('accuracy')}：${score(m.accuracy)}`),
          el('span', null, `${t('f1')}：${fixed(m.macro_f1)}`),
          isNum(m.real_accuracy) ? el('span', { 'data-testid': 'trainer-model-real' }, `${t('real_accuracy')}：${score(m.real_accuracy)}`) : null),
        el('div', { class: 'trainer-model-actions' }, activate, reportBtn));
    }));
  }

  // Inline SVG: the held-in accuracy of each model, oldest first, as a line; the accuracy on real
  // buyer messages as points where it was measured.
  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    Object.entries(attrs || {}).forEach(([k, v]) => { if (v !== null && v !== undefined) node.setAttribute(k, String(v)); });
    children.flat().forEach((child) => { if (child) node.append(child instanceof Node ? child : document.createTextNode(String(child))); });
    return node;
  }

  window.addEventListener('resize', () => {
    if (state.dom && state.dom.chart && !state.dom.chart.hidden) renderChart();
  });

  function renderChart() {
    const box = state.dom.chart;
    if (!box) return;
    const models = state.models.slice().sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
    const values = models.flatMap((m) => [m.accuracy, m.real_accuracy]).filter(isNum).map(Number);
    box.hidden = !values.length;
    if (!values.length) {
      box.replaceChildren();
      return;
    }
    // Drawn at the card's own width (1 unit = 1 px), so the plot fills the card at any window size.
    const W = Math.max(360, Math.round((box.clientWidth || 664) - 24)); const H = 220;
    const left = 48; const right = 44; const top = 14; const bottom = 40;
    const low = Math.max(0, Math.floor((Math.min(...values) - 0.02) * 20) / 20);
    const high = Math.min(1, Math.ceil((Math.max(...values) + 0.01) * 20) / 20);
    const span = Math.max(0.05, high - low);
    const x = (i) => left + (models.length === 1 ? (W - left - right) / 2 : (i * (W - left - right)) / (models.length - 1));
    const y = (v) => top + (1 - (Number(v) - low) / span) * (H - top - bottom);
    const parts = [];
    for (let k = 0; k <= 4; k += 1) {
      const v = low + (span * k) / 4;
      parts.push(svg('line', { x1: left, x2: W - right, y1: y(v), y2: y(v), class: 'trainer-chart-grid' }));
      parts.push(svg('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'trainer-chart-label' }, `${(v * 100).toFixed(span < 0.2 ? 1 : 0)}%`));
    }
    const points = models.map((m, i) => (isNum(m.accuracy) ? [x(i), y(m.accuracy), m] : null)).filter(Boolean);
    if (points.length > 1) parts.push(svg('polyline', { points: points.map(([px, py]) => `${px},${py}`).join(' '), class: 'trainer-chart-line' }));
    points.forEach(([px, py, m]) => parts.push(svg('circle', { cx: px, cy: py, r: 4, class: 'trainer-chart-dot', 'data-testid': 'trainer-chart-accuracy', 'data-model': m.name },
      svg('title', null, `${modelLabel(m.name)} · ${t('chart_accuracy')} ${score(m.accuracy)}`))));
    models.forEach((m, i) => {
      if (isNum(m.real_accuracy)) {
        parts.push(svg('rect', { x: x(i) - 5, y: y(m.real_accuracy) - 5, width: 10, height: 10, class: 'trainer-chart-real', 'data-testid': 'trainer-chart-real', 'data-model': m.name },
          svg('title', null, `${modelLabel(m.name)} · ${t('chart_real')} ${score(m.real_accuracy)}`)));
      }
      const label = m.name === 'initial' ? t('initial_model') : shortTime(m.created_at);
      parts.push(svg('text', { x: x(i), y: H - bottom + 18, 'text-anchor': 'middle', class: 'trainer-chart-label' }, label));
    });
    const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': t('chart_title'), class: 'trainer-chart-svg' }, parts);
    const legend = el('figcaption', { class: 'trainer-chart-legend' },
      el('strong', { text: t('chart_title') }),
      el('span', { class: 'trainer-legend-line', text: t('chart_accuracy') }),
      models.some((m) => isNum(m.real_accuracy)) ? el('span', { class: 'trainer-legend-real', text: t('chart_real') }) : null);
    box.replaceChildren(legend, chart);
  }

  function activateModel(button, name) {
    busy(button, async () => {
      clearMessages();
      const res = await api(`/trainer/api/models/${segment(name)}/activate`, 'POST', {});
      if (!res.ok) { failed(res); return; }
      status(`${t('active')}：${modelLabel(name)}`);
      await loadModels(false);
      const item = [...state.dom.models.querySelectorAll('[data-testid="trainer-model"]')].find((n) => n.getAttribute('data-model') === name);
      const focusable = item && item.querySelector('button');
      if (focusable) focusable.focus();
    });
  }

  // ================================================================ report
  function buildReport() {
    state.dom.report = el('div', { class: 'trainer-report', 'data-testid': 'trainer-report', 'aria-live': 'polite' },
      el('p', { class: 'trainer-muted', text: t('no_report') }));
    return state.dom.report;
  }

  async function loadReport(model, focus) {
    const seq = ++state.reportSeq;
    state.reportModel = model;
    try {
      const res = await api(`/trainer/api/report/${segment(model)}`);
      if (seq !== state.reportSeq || state.view !== 'console') return;
      if (!res.ok) {
        state.dom.report.replaceChildren(el('p', { class: 'trainer-muted', text: serverMessage(res) }));
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
    const parts = [el('h3', { class: 'trainer-report-model', 'data-model': model, text: modelLabel(model) })];
    parts.push(el('p', { class: 'trainer-accuracy', 'data-testid': 'trainer-accuracy' },
      el('span', { class: 'trainer-muted', text: `${t('accuracy')}：` }), el('strong', { text: score(report.accuracy) })));

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
