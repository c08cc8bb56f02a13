"""The review page: one HTML shell, one style sheet, one script, served as they are (no build step).

Kept as Python strings so they travel in the wheel with the code (the package
data is .py, .json and .toml). The script builds every element with
``textContent``: a learner's answer, a check's evidence or a comment can hold
any markup, and is shown as text. Keys (also listed on the page):

    j / →  next learner          k / ←  previous learner      u  next learner not reviewed
    ↓ / ↑  next / previous item   0-4    level of the item      c  comment (Esc leaves it, saved)
    ?      show the keys
"""
from __future__ import annotations

__all__ = ["HTML", "CSS", "SCRIPT"]

HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{title}}</title>
<link rel="stylesheet" href="/review.css?t={{token}}">
<script src="/review.js?t={{token}}" defer></script>
</head><body>
<header id="bar">
  <div class="row">
    <h1 id="title">{{title}}</h1>
    <span id="who" class="who"></span>
    <span id="progress" class="progress" role="status" aria-live="polite"></span>
    <span id="saved" class="saved" role="status" aria-live="polite"></span>
  </div>
  <div class="row">
    <button type="button" id="prev" title="Previous learner (k or left arrow)">&larr; Previous</button>
    <button type="button" id="next" title="Next learner (j or right arrow)">Next &rarr;</button>
    <button type="button" id="next-todo" title="Next learner not fully reviewed (u)">Next not reviewed</button>
    <button type="button" id="reveal" hidden>Show names</button>
    <span id="gradebook" class="muted small"></span>
  </div>
</header>
<main id="main"><p class="muted">Loading&hellip;</p></main>
<footer id="keys" class="muted small">
  Keys: <kbd>j</kbd>/<kbd>&rarr;</kbd> next learner &middot; <kbd>k</kbd>/<kbd>&larr;</kbd> previous &middot;
  <kbd>u</kbd> next not reviewed &middot; <kbd>&darr;</kbd>/<kbd>&uarr;</kbd> next/previous item &middot;
  <kbd>0</kbd>&ndash;<kbd>4</kbd> level &middot; <kbd>c</kbd> comment (<kbd>Esc</kbd> leaves it; saved as you type) &middot;
  <kbd>?</kbd> keys
</footer>
</body></html>
"""

CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d9dee7; --soft: #f4f6f9; --accent: #2f6db5; --ok: #195c2c; --warn: #7a4307; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
header#bar { position: sticky; top: 0; z-index: 2; background: #fff; border-bottom: 2px solid var(--line); padding: 8px 20px; }
header .row { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 14px; margin: 2px 0; }
h1 { font-size: 18px; margin: 0; }
h2 { font-size: 16px; margin: 0 0 8px; }
h3 { font-size: 14px; margin: 0 0 4px; }
.who { font-weight: 700; font-size: 16px; }
.progress { background: var(--soft); border-radius: 10px; padding: 1px 10px; }
.saved { color: var(--ok); }
.saved.error, .error { color: #8a1c1c; font-weight: 700; }
.muted { color: var(--muted); }
.small { font-size: .86em; }
button { font: inherit; padding: 3px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--soft); cursor: pointer; }
button:focus-visible, textarea:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
main { padding: 12px 20px 40px; max-width: 1500px; }
section.lab { margin: 0 0 22px; }
article.item { display: grid; grid-template-columns: minmax(0, 1.1fr) minmax(0, 1fr); gap: 14px;
  border: 1px solid var(--line); border-radius: 8px; padding: 12px; margin: 0 0 12px; }
article.item.current { border-color: var(--accent); box-shadow: 0 0 0 2px rgba(47, 109, 181, .25); }
.answer-text { white-space: pre-wrap; overflow-wrap: anywhere; font: 13px/1.5 "DejaVu Sans Mono", Menlo, Consolas, monospace;
  background: var(--soft); border-radius: 6px; padding: 8px 10px; margin: 0; max-height: 60vh; overflow: auto; }
.unanswered { color: var(--warn); font-style: italic; }
.prompt { margin: 0 0 8px; }
ol.levels { list-style: none; margin: 0 0 8px; padding: 0; display: grid; gap: 4px; }
button.level { width: 100%; text-align: left; display: grid; grid-template-columns: 1.6em 1fr; gap: 6px; background: #fff; }
button.level[aria-pressed="true"] { background: var(--accent); color: #fff; border-color: var(--accent); }
button.level .n { font-weight: 700; }
textarea.comment { width: 100%; min-height: 3.2em; font: inherit; padding: 5px 7px; border: 1px solid var(--line); border-radius: 6px; }
.standing { margin: 6px 0 0; }
.chip { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: .86em; }
.chip.unreviewed { background: var(--soft); color: var(--muted); }
.chip.reviewed { background: #d3ecd9; color: var(--ok); }
.chip.disputed { background: #fbe3c7; color: var(--warn); font-weight: 700; }
.chip.refused { background: #f8d4d4; color: #8a1c1c; }
details.auto { border: 1px solid var(--line); border-radius: 8px; padding: 6px 12px; margin: 0 0 12px; }
details.auto summary { cursor: pointer; font-weight: 600; }
table.checks { border-collapse: collapse; width: 100%; margin: 6px 0; }
table.checks td, table.checks th { text-align: left; vertical-align: top; padding: 4px 6px; border-bottom: 1px solid var(--line); }
table.checks td.num { text-align: right; white-space: nowrap; }
.st-passed { color: var(--ok); } .st-failed, .st-errored { color: #8a1c1c; font-weight: 700; } .st-skipped { color: var(--muted); }
pre.evidence { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; background: var(--soft); padding: 6px; margin: 4px 0 0; }
footer#keys { padding: 6px 20px 20px; }
footer#keys.shown { background: #fffbe6; }
kbd { border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 4px; padding: 0 4px; font-size: .9em; }
@media (max-width: 800px) { article.item { grid-template-columns: 1fr; } main, header#bar { padding-left: 10px; padding-right: 10px; } }
"""

SCRIPT = r"""'use strict';
(() => {
  const token = new URLSearchParams(location.search).get('t') || '';
  const $ = (id) => document.getElementById(id);
  const state = {cohort: null, number: 0, learner: null, current: 0, items: [], timers: new Map()};

  // Every element is built here, and every text goes in as text: answers are hostile input.
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'text') node.textContent = String(value);
      else if (key === 'className') node.className = value;
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  async function api(path, body) {
    const url = path + (path.includes('?') ? '&' : '?') + 't=' + encodeURIComponent(token);
    const options = body === undefined ? {} :
      {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)};
    const response = await fetch(url, options);
    const doc = await response.json();
    if (!response.ok) throw new Error(doc.error || response.statusText);
    return doc;
  }

  const num = (x) => (x === null || x === undefined) ? '\u2014' : String(Math.round(x * 100) / 100);

  function showProgress(progress) {
    $('progress').textContent = `${progress.done} of ${progress.total} reviewed`;
    $('progress').dataset.done = progress.done;
    $('progress').dataset.total = progress.total;
  }

  function showHeader() {
    const c = state.cohort, l = state.learner;
    const name = l.name !== undefined ? ` \u00b7 ${l.name}` : '';
    $('who').textContent = `${l.label}${name}` + (l.reviewed ? ' \u2713' : '');
    $('who').dataset.number = l.number;
    document.title = `${l.label} \u00b7 ${c.title}`;
    $('reveal').hidden = !c.can_reveal;
  }

  function saved(text, error) {
    $('saved').textContent = text;
    $('saved').className = 'saved' + (error ? ' error' : '');
  }

  function standingText(s) {
    const who = s.levels.map((x) => `${x.reviewer} ${x.level}`).join(', ');
    if (s.status === 'unreviewed') return 'not reviewed yet';
    if (s.status === 'refused') return 'refused submission: 0 points';
    if (s.status === 'disputed') return `reviewers disagree by more than one level (${who}): not counted until settled`;
    let text = `level ${num(s.level)} \u2192 ${num(s.points)} points`;
    if (s.settled_by) text += ` (settled by ${s.settled_by}; reviewers: ${who})`;
    else if (s.levels.length > 1) text += ` (${who})`;
    return text;
  }

  function shownLevel(lab, item) {
    const want = intent.get(keyOf(state.number, lab.lab, item.id));
    return want ? want.level : item.mine.level;
  }

  function itemView(lab, item, index) {
    const mine = item.mine;
    const want = intent.get(keyOf(state.number, lab.lab, item.id));
    const answer = item.answer.answered
      ? el('pre', {className: 'answer-text', text: item.answer.text})
      : el('p', {className: 'unanswered', text: `No answer: ${item.answer.note || 'left blank'}`});
    const note = item.answer.answered && item.answer.note ? el('p', {className: 'muted small', text: item.answer.note}) : null;
    const levels = el('ol', {className: 'levels', start: 0}, item.levels.map((descriptor, n) =>
      el('li', {}, el('button', {type: 'button', className: 'level', dataset: {level: n}, 'aria-pressed': String(shownLevel(lab, item) === n),
                                 title: `level ${n} (key ${n})`, disabled: lab.status !== 'graded',
                                 onclick: () => { focusItem(index); setLevel(index, n); }},
        el('span', {className: 'n', text: n}), el('span', {text: descriptor})))));
    const comment = el('textarea', {className: 'comment', rows: 2, placeholder: 'Comment for the learner (c)',
                                    'aria-label': `Comment on ${item.title}`, disabled: lab.status !== 'graded'});
    comment.value = want ? want.comment : (mine.comment || '');
    comment.addEventListener('focus', () => focusItem(index, false));
    comment.addEventListener('input', () => scheduleComment(index));
    comment.addEventListener('blur', () => saveComment(index));
    const meta = [`${num(item.points)} points`, item.dimension].concat(item.criterion ? [`criterion ${item.criterion}`] : []);
    return el('article', {className: 'item', dataset: {lab: lab.lab, item: item.id, index}},
      el('div', {className: 'answer'},
        el('h3', {}, 'Answer ', el('span', {className: 'muted small', text: `(${item.where})`})), answer, note),
      el('div', {className: 'rubric'},
        el('h3', {text: item.title}),
        el('p', {className: 'muted small', text: meta.join(' \u00b7 ')}),
        el('p', {className: 'prompt', text: item.prompt}),
        levels, comment,
        el('p', {className: 'standing small'},
          el('span', {className: `chip ${item.standing.status}`, dataset: {status: item.standing.status}, text: item.standing.status}),
          ' ', standingText(item.standing)),
        item.standing.comment && item.standing.levels.length > 1
          ? el('p', {className: 'muted small', text: item.standing.comment}) : null));
  }

  function autoView(lab) {
    const lost = lab.checks.filter((c) => c.status === 'failed' || c.status === 'errored').length;
    const rows = lab.checks.map((c) => el('tr', {dataset: {check: c.id}},
      el('td', {className: `st-${c.status}`, text: c.status}),
      el('td', {}, el('code', {text: c.id}), ' ', c.title),
      el('td', {className: 'num', text: `${num(c.points)}/${num(c.max_points)}`}),
      el('td', {}, c.reason, c.evidence ? el('details', {}, el('summary', {text: 'evidence'}),
                                                 el('pre', {className: 'evidence', text: c.evidence})) : null)));
    return el('details', {className: 'auto', open: true, dataset: {lab: lab.lab}},
      el('summary', {text: `Automatic results: ${num(lab.score)}/${num(lab.max_score)} (${lab.percent}%), ` +
                           `${lab.checks.length - lost} of ${lab.checks.length} checks kept` +
                           (lab.status !== 'graded' ? ` \u2014 ${lab.status}` : '')}),
      lab.problems.length ? el('ul', {}, lab.problems.map((p) => el('li', {className: 'error', text: p}))) : null,
      el('table', {className: 'checks'}, el('tbody', {}, rows)));
  }

  function render() {
    const main = $('main');
    state.items = [];
    const sections = state.learner.labs.map((lab) => el('section', {className: 'lab', dataset: {lab: lab.lab}},
      el('h2', {}, el('code', {text: lab.lab}), ' ', lab.title),
      lab.items.map((item) => { state.items.push({lab, item}); return itemView(lab, item, state.items.length - 1); }),
      autoView(lab)));
    main.replaceChildren(...sections);
    focusItem(Math.min(state.current, state.items.length - 1), false);
    showHeader();
  }

  function articles() { return [...document.querySelectorAll('article.item')]; }

  function focusItem(index, scroll = true) {
    if (index < 0 || index >= state.items.length) return;
    state.current = index;
    articles().forEach((a, i) => a.classList.toggle('current', i === index));
    if (scroll) articles()[index].scrollIntoView({block: 'nearest'});
  }

  async function load(number) {
    const total = state.cohort.learners.length;
    number = Math.max(1, Math.min(total, number));
    state.learner = await api(`/api/learner/${number}`);
    state.number = number;
    state.current = 0;
    if (location.hash !== `#${number}`) history.replaceState(null, '', `${location.pathname}${location.search}#${number}`);
    render();
    window.scrollTo(0, 0);
  }

  // What the reviewer meant last, per item: every save sends both the level and the comment from here,
  // and saves go out one at a time, so the last one written is always the reviewer's latest intention.
  const intent = new Map();
  let chain = Promise.resolve();
  const keyOf = (number, lab, item) => `${number}|${lab}|${item}`;

  function intention(index) {
    const {lab, item} = state.items[index];
    const key = keyOf(state.number, lab.lab, item.id);
    if (!intent.has(key)) intent.set(key, {number: state.number, lab: lab.lab, item: item.id,
                                           level: item.mine.level, comment: item.mine.comment || ''});
    return intent.get(key);
  }

  function post(want) {
    const send = async () => {
      saved('saving\u2026');
      try {
        const doc = await api('/api/review', {learner: want.number, lab: want.lab, item: want.item,
                                              level: want.level, comment: want.comment});
        const entry = state.cohort.learners[want.number - 1];
        entry.reviewed = doc.learner.reviewed;
        state.cohort.can_reveal = doc.can_reveal;
        if (doc.learner.number === state.number) state.learner = doc.learner;
        showProgress(doc.progress);
        saved(`saved ${new Date(doc.saved).toLocaleTimeString()}`);
        return doc;
      } catch (error) {
        saved(`NOT saved: ${error.message}`, true);
        throw error;
      }
    };
    const done = chain.then(send, send);
    chain = done.catch(() => {});
    return done;
  }

  async function setLevel(index, level) {
    if (!state.items[index] || state.items[index].lab.status !== 'graded') return;
    const want = intention(index);
    want.level = level;
    const box = articles()[index].querySelector('textarea');
    want.comment = box.value;
    await post(want);
    if (want.number !== state.number) return;
    render();
    if (index + 1 < state.items.length) focusItem(index + 1);
  }

  function scheduleComment(index) {
    clearTimeout(state.timers.get(index));
    state.timers.set(index, setTimeout(() => saveComment(index), 700));
  }

  async function saveComment(index) {
    clearTimeout(state.timers.get(index));
    state.timers.delete(index);
    const box = articles()[index] && articles()[index].querySelector('textarea');
    if (!box) return;
    const want = intention(index);
    if (box.value === want.comment) return;
    want.comment = box.value;
    await post(want);
  }

  async function flushComments() {
    for (const index of [...state.timers.keys()]) await saveComment(index);
    await chain;
  }

  async function go(delta) {
    await flushComments();
    await load(state.number + delta);
  }

  async function nextTodo() {
    await flushComments();
    const all = state.cohort.learners, total = all.length;
    for (let step = 1; step <= total; step++) {
      const candidate = all[(state.number - 1 + step) % total];
      if (!candidate.reviewed) return load(candidate.number);
    }
    saved('every learner is reviewed');
  }

  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target instanceof HTMLTextAreaElement || event.target instanceof HTMLInputElement;
    if (typing) {
      if (event.key === 'Escape') { event.preventDefault(); event.target.blur(); }
      return;
    }
    const key = event.key;
    if (key === 'j' || key === 'ArrowRight') go(+1);
    else if (key === 'k' || key === 'ArrowLeft') go(-1);
    else if (key === 'u') nextTodo();
    else if (key === 'ArrowDown') focusItem(state.current + 1);
    else if (key === 'ArrowUp') focusItem(state.current - 1);
    else if (/^[0-4]$/.test(key)) setLevel(state.current, Number(key));
    else if (key === 'c') { const box = articles()[state.current]; if (box) box.querySelector('textarea').focus(); }
    else if (key === '?') $('keys').classList.toggle('shown');
    else return;
    event.preventDefault();
  });

  async function showGradebook() {
    try {
      const doc = await api('/api/state');
      const g = doc.gradebook;
      $('gradebook').textContent = g.error ? `gradebook NOT updated: ${g.error}` :
        g.pending ? 'gradebook: updating\u2026' : g.built_at ? `gradebook updated ${new Date(g.built_at).toLocaleTimeString()}` : '';
      $('gradebook').className = g.error ? 'error small' : 'muted small';
    } catch (error) { /* the server stopped: the next action says so */ }
  }

  async function start() {
    $('prev').addEventListener('click', () => go(-1));
    $('next').addEventListener('click', () => go(+1));
    $('next-todo').addEventListener('click', () => nextTodo());
    $('reveal').addEventListener('click', async () => {
      state.cohort = await api('/api/reveal', {});
      await load(state.number);
    });
    // Leaving with a comment still being typed (a reload, a closed tab): send it with the page's last breath.
    window.addEventListener('pagehide', () => {
      for (const index of [...state.timers.keys()]) {
        clearTimeout(state.timers.get(index));
        const box = articles()[index] && articles()[index].querySelector('textarea');
        if (!box) continue;
        const want = intention(index);
        want.comment = box.value;
        const body = {learner: want.number, lab: want.lab, item: want.item, level: want.level, comment: want.comment};
        navigator.sendBeacon(`/api/review?t=${encodeURIComponent(token)}`,
                             new Blob([JSON.stringify(body)], {type: 'application/json'}));
      }
      state.timers.clear();
    });
    try {
      state.cohort = await api('/api/cohort');
    } catch (error) {
      $('main').replaceChildren(el('p', {className: 'error', text: `Cannot load the cohort: ${error.message}`}));
      return;
    }
    showProgress(state.cohort.progress);
    const wanted = Number(location.hash.slice(1));
    const first = state.cohort.learners.find((l) => !l.reviewed) || state.cohort.learners[0];
    await load(wanted >= 1 ? wanted : first.number);
    document.body.dataset.ready = 'true';
    setInterval(showGradebook, 2000);
  }

  start();
})();
"""
