// Tidewatch on board: the crew's interface. Everything it records is saved on board first
// (the answer says so) and sent when the link allows; what it shows is the board kept on
// board. Text from anywhere is set with textContent, never as HTML.
'use strict';

const $ = (s) => document.querySelector(s);
const $$ = (s) => [...document.querySelectorAll(s)];

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const k of kids) e.append(k instanceof Node ? k : String(k));
  return e;
}

async function api(method, path, body, raw) {
  const opts = { method, headers: { 'X-Tidewatch-Crew': '1' }, credentials: 'same-origin' };
  if (raw) { opts.body = raw; opts.headers['Content-Type'] = 'application/octet-stream'; }
  else if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers['Content-Type'] = 'application/json'; }
  const r = await fetch(path, opts);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = { error: text }; }
  if (!r.ok) throw new Error((data && data.error) || r.statusText);
  return data;
}

function say(text, ok) {
  const m = $('#msg');
  m.textContent = text;
  m.className = 'msg ' + (ok ? 'ok' : 'bad');
}

let state = null;
let picked = null;
let map = null;
const layers = {};

// ---- login

async function login() {
  try {
    await api('POST', '/api/login', { name: $('#name').value.trim(), password: $('#password').value });
    $('#password').value = '';
    start();
  } catch (e) {
    $('#login-msg').textContent = e.message;
  }
}

async function start() {
  try {
    state = await api('GET', '/api/state');
  } catch (_) {
    $('#login-view').hidden = false;
    $('#app').hidden = true;
    return;
  }
  $('#login-view').hidden = true;
  $('#app').hidden = false;
  if (!map) setupMap();
  render();
  setInterval(refresh, 2000);
}

async function refresh() {
  try {
    state = await api('GET', '/api/state');
    render();
  } catch (e) {
    if (/log in/.test(e.message)) location.reload();
  }
}

// ---- map (offline basemap)

function setupMap() {
  map = L.map('map', { zoomControl: true, attributionControl: false }).setView([35.5, 12.6], 8);
  for (const f of ['/land.geojson', '/islands.geojson']) {
    fetch(f).then((r) => r.json()).then((g) => {
      L.geoJSON(g, { style: { color: '#555', weight: 1, fillColor: '#e4dcc8', fillOpacity: 1 } }).addTo(map);
    });
  }
  layers.own = L.layerGroup().addTo(map);
  layers.contacts = L.layerGroup().addTo(map);
  layers.tasks = L.layerGroup().addTo(map);
  layers.picked = L.layerGroup().addTo(map);
  map.on('click', (e) => {
    picked = { lat: +e.latlng.lat.toFixed(5), lon: +e.latlng.lng.toFixed(5) };
    $('#picked').textContent = `${picked.lat.toFixed(4)}, ${picked.lon.toFixed(4)}`;
    $('#s-pos-map').checked = true;
    layers.picked.clearLayers();
    L.circleMarker([picked.lat, picked.lon], { radius: 10, color: '#d00', weight: 4 }).addTo(layers.picked);
  });
}

let centred = false;

function drawMap() {
  if (!map) return;
  const o = state.own;
  layers.own.clearLayers();
  if (o.lat != null) {
    L.circleMarker([o.lat, o.lon], { radius: 11, color: '#0046ad', weight: 4, fillOpacity: 0.6 })
      .bindTooltip(el('span', {}, state.unit)).addTo(layers.own);
    if (!centred) { map.setView([o.lat, o.lon], 10); centred = true; }
  }
  layers.contacts.clearLayers();
  for (const c of Object.values(state.contacts)) {
    L.circleMarker([c.lat, c.lon], { radius: 7, color: '#000', weight: 2 }).bindTooltip(el('span', {}, c.id)).addTo(layers.contacts);
  }
  layers.tasks.clearLayers();
  for (const [t, answer] of state.taskings) {
    if (answer === false) continue;
    L.circleMarker([t.datum.lat, t.datum.lon], { radius: 12, color: '#b00000', weight: 4 })
      .bindTooltip(el('span', {}, `datum ${t.id}`)).addTo(layers.tasks);
    if (t.waypoints && t.waypoints.length) {
      L.polyline(t.waypoints.map((w) => [w.lat, w.lon]), { color: '#b00000', weight: 3, dashArray: '6 6' }).addTo(layers.tasks);
    }
  }
}

// ---- rendering

function utc(t) {
  return t ? `${t.slice(0, 10)} ${t.slice(11, 19)} UTC` : '';
}

function ago(t) {
  if (!t) return 'never';
  const s = Math.round((Date.parse(state.now) - Date.parse(t)) / 1000);
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}

function render() {
  $('#unit').textContent = state.unit;
  const link = $('#link');
  const waiting = state.waiting_case + state.waiting_lines;
  if (state.link_up) {
    link.textContent = `LINK UP${waiting ? ` · sending ${waiting}` : ''}`;
    link.className = 'up';
  } else {
    link.textContent = `LINK DOWN · ${waiting} on board`;
    link.className = 'down';
  }
  link.title = `${state.waiting_case} case actions and evidence parts, ${state.waiting_lines} reports and instrument lines waiting; centre last heard ${ago(state.last_contact)}`;
  const o = state.own;
  $('#own').textContent = o.lat == null ? 'Own position: no GNSS fix yet'
    : `Own position ${o.lat.toFixed(4)}, ${o.lon.toFixed(4)}` + (o.sog_kn != null ? `, ${o.sog_kn.toFixed(1)} kn` : '') + (o.cog_deg != null ? ` ${Math.round(o.cog_deg)}°` : '') + ` (${ago(o.time)})`;
  const cs = $('#contacts');
  cs.replaceChildren(...Object.values(state.contacts).map((c) =>
    el('div', { class: 'card' }, `${c.id}: ${c.lat.toFixed(4)}, ${c.lon.toFixed(4)}` + (c.speed_kn != null ? `, ${c.speed_kn.toFixed(1)} kn` : '') + ` (${ago(c.time)})`)));
  renderTaskings();
  renderIncidents();
  renderLog();
  drawMap();
}

function renderTaskings() {
  const box = $('#taskings');
  if (!state.taskings.length) { box.replaceChildren(el('p', { class: 'info' }, 'None received.')); return; }
  box.replaceChildren(...state.taskings.slice().reverse().map(([t, answer]) => {
    const card = el('div', { class: 'card tasking', 'data-id': t.id },
      el('div', { class: 'state' }, `${t.kind.toUpperCase()} tasking ${t.id}`),
      el('p', {}, t.instructions),
      el('p', { class: 'info' }, `Datum ${t.datum.lat.toFixed(4)}, ${t.datum.lon.toFixed(4)} — ${t.distance_nm.toFixed(1)} NM, ETA ${Math.round(t.eta_min)} min` + (t.pattern ? `, ${t.pattern} pattern` : '')));
    if (answer === true) card.append(el('p', { class: 'applied answer' }, 'ACCEPTED — proceeding'));
    else if (answer === false) card.append(el('p', { class: 'refused answer' }, 'DECLINED'));
    else {
      const acc = el('button', { class: 'big primary accept' }, 'Accept — proceeding');
      acc.onclick = () => ackTasking(t.id, true);
      const dec = el('button', { class: 'big decline' }, 'Decline (say why)');
      dec.onclick = () => {
        const reason = prompt('Why is the tasking declined? (the master records it)');
        if (reason && reason.trim()) ackTasking(t.id, false, reason.trim());
      };
      card.append(acc, dec);
    }
    return card;
  }));
}

async function ackTasking(id, accepted, reason) {
  try {
    const body = { type: 'tasking_ack', tasking: id, accepted };
    if (reason) body.reason = reason;
    await api('POST', '/api/report', body);
    say(accepted ? `Tasking ${id} accepted — saved on board` : `Tasking ${id} declined — saved on board`, true);
    refresh();
  } catch (e) { say(e.message); }
}

function currentIncident() {
  return $('#incident-typed').value.trim() || $('#incident').value;
}

function renderIncidents() {
  const sel = $('#incident');
  const ids = Object.keys(state.cases);
  const keep = sel.value;
  if (sel.options.length !== ids.length || ids.some((id, i) => sel.options[i].value !== id)) {
    sel.replaceChildren(...ids.map((id) => el('option', { value: id }, id)));
    if (ids.includes(keep)) sel.value = keep;
  }
  renderBrief();
}

function nextTags(incident, count) {
  const b = state.cases[incident];
  let n = (b && b.tags_issued[state.unit]) || 0;
  // Rescues recorded on board and not yet answered come first.
  for (const r of state.records) {
    if (r.incident === incident && r.action.type === 'rescue' && r.action.unit === state.unit && !state.answers[r.id]) n += r.action.count;
  }
  const tag = (k) => `${state.unit}-${String(k).padStart(4, '0')}`;
  return count > 0 ? [tag(n + 1), tag(n + count)] : [];
}

function renderBrief() {
  const box = $('#brief');
  const b = state.cases[currentIncident()];
  if (!b) { box.replaceChildren(el('p', { class: 'info' }, 'No case view on board for this incident yet: it comes with the link.')); return; }
  const parts = [el('p', { class: 'stale synced' }, `Case view as synced ${ago(b.synced_at)} (${utc(b.synced_at)})`)];
  for (const c of b.cases) {
    const card = el('div', { class: 'card' }, el('div', { class: 'state' }, `Case ${c.case}: ${c.target} — ${c.state}`));
    if (c.authorization) {
      card.append(el('p', { class: 'authorization' }, `Authorization ${c.authorization}: ${c.measures.join(', ')}` + (c.valid_until ? `, valid until ${utc(c.valid_until)}` : '')));
      card.append(el('ul', { class: 'conditions' }, ...c.conditions.map(([text, ack], i) =>
        el('li', { class: ack ? 'applied' : 'waiting' }, `Condition ${i + 1}: ${text} — ${ack ? 'acknowledged' : 'NOT acknowledged'}`))));
    } else card.append(el('p', { class: 'refused' }, 'No authorization in force: no boarding under article 8.'));
    parts.push(card);
  }
  parts.push(el('p', {}, `Place of safety: ${b.place_of_safety || 'not decided'}`));
  const issued = Object.entries(b.tags_issued).map(([u, n]) => `${u}: ${n}`).join(', ');
  parts.push(el('p', {}, `Tags given: ${issued || 'none'}; on board: ` + (Object.entries(b.on_board).map(([u, n]) => `${u} ${n}`).join(', ') || 'none')));
  if (b.exhibits.length) parts.push(el('p', {}, 'Exhibits: ' + b.exhibits.map(([n, d, s]) => `${n} ${d} (seal ${s})`).join('; ')));
  box.replaceChildren(...parts);
}

function answerOf(r) {
  const a = state.answers[r.id];
  if (!a) return ['waiting', 'SAVED ON BOARD — waiting for the link'];
  if (a.outcome === 'applied') {
    let text = `APPLIED — log entry ${a.log_seq}`;
    if (a.produced && a.produced.tags) text += `; tags ${a.produced.tags.join(' … ')}`;
    return ['applied', text];
  }
  if (a.outcome === 'deferred') return ['waiting', `WAITING FOR ITS FILE AT THE CENTRE — ${a.message}`];
  if (a.outcome === 'refused') {
    const said = a.rule && a.message.startsWith(a.rule) ? a.message.slice(a.rule.length).replace(/^[:\s]+/, '') : a.message;
    return ['refused', `REFUSED${a.rule ? ` (${a.rule})` : ''}: ${said}`];
  }
  return ['invalid', `NOT TAKEN: ${a.message}`];
}

function renderLog() {
  const box = $('#records');
  if (state.records.length) {
    box.replaceChildren(...state.records.slice().reverse().map((r) => {
      const [cls, text] = answerOf(r);
      return el('div', { class: 'card record', 'data-id': r.id, 'data-type': r.action.type },
        el('div', { class: 'state' }, `${r.action.type.replace(/_/g, ' ')} — ${r.incident}`),
        el('p', { class: 'info' }, `happened ${utc(r.occurred_at)}, signed by ${r.officer}; SHA-256 ${r.sha256.slice(0, 16)}…`),
        el('p', { class: `${cls} outcome` }, text));
    }));
  }
  const files = Object.entries(state.files);
  if (files.length) {
    $('#files').replaceChildren(...files.map(([sha, f]) => el('div', { class: 'card file', 'data-sha': sha },
      el('div', { class: 'state' }, `${f.name} (${f.size} bytes)`),
      el('p', { class: 'info' }, `SHA-256 taken on board ${sha}`),
      el('p', { class: f.stored === true ? 'applied outcome' : f.stored === false ? 'refused outcome' : 'waiting outcome' },
        f.stored === true ? `KEPT AT THE CENTRE — ${f.message}` : f.stored === false ? `REFUSED: ${f.message}` : 'SAVED ON BOARD — waiting for the link'))));
  }
  if (state.refused.length) $('#refused').replaceChildren(...state.refused.map((t) => el('div', { class: 'card' }, t)));
}

// ---- reports

function sightingPosition() {
  const how = $$('input[name=s-pos]').find((r) => r.checked).value;
  if (how === 'map') { if (!picked) throw new Error('tap the map first'); return picked; }
  if (how === 'typed') {
    const lat = parseFloat($('#s-lat').value), lon = parseFloat($('#s-lon').value);
    if (!isFinite(lat) || !isFinite(lon)) throw new Error('type the latitude and longitude in degrees');
    return { lat, lon };
  }
  if (state.own.lat == null) throw new Error('no GNSS fix: take the position from the map or type it');
  return { lat: state.own.lat, lon: state.own.lon };
}

async function sendSighting() {
  try {
    const body = { type: 'sighting', position: sightingPosition(), craft: $('#s-craft').value,
      persons_estimate: parseInt($('#s-persons').value || '0', 10), condition: $('#s-condition').value };
    if ($('#s-notes').value.trim()) body.notes = $('#s-notes').value.trim();
    const r = await api('POST', '/api/report', body);
    say(`Sighting saved on board (#${r.queued}) — sent when the link allows`, true);
  } catch (e) { say(e.message); }
}

async function sendStatus(s) {
  try {
    const body = { type: 'status', state: s };
    if (state.own.lat != null) body.position = { lat: state.own.lat, lon: state.own.lon };
    await api('POST', '/api/report', body);
    say(`Status "${s.replace(/_/g, ' ')}" saved on board`, true);
  } catch (e) { say(e.message); }
}

async function sendPob() {
  try {
    await api('POST', '/api/report', { type: 'persons_on_board', rescued: parseInt($('#pob-rescued').value || '0', 10), crew: parseInt($('#pob-crew').value || '0', 10) });
    say('Persons on board saved on board', true);
  } catch (e) { say(e.message); }
}

// ---- case actions

const ACTIONS = {
  acknowledge_condition: ['Acknowledge a condition', [['case', 'Case', 'int', 1], ['condition', 'Condition number', 'int', 1]]],
  board: ['Boarding starts', [['case', 'Case', 'int', 1]], { unit: true }],
  search: ['Search starts', [['case', 'Case', 'int', 1]]],
  search_outcome: ['Search outcome', [['case', 'Case', 'int', 1], ['evidence', 'Evidence of smuggling found', 'bool'], ['damage_or_delay', 'Damage or delay caused (if any)', 'text?']]],
  rescue: ['Rescue — tag each person', [['count', 'Persons rescued', 'int']], { unit: true }],
  headcount: ['Headcount', [['alive', 'Alive', 'int'], ['deceased', 'Deceased', 'int', 0]], { unit: true }],
  medevac: ['Medevac — persons evacuated', [['tags', 'Tags', 'list'], ['facility', 'To (hospital, helicopter)', 'text'], ['reason', 'Why a medical emergency waits or a family is split (only if so)', 'text?']], { unit: true }],
  person_missing: ['A person rescued is missing', [['tag', 'Tag', 'text'], ['circumstances', 'What happened', 'text']]],
  person_found: ['A missing person found again', [['tag', 'Tag', 'text']], { unit: true }],
  person_died: ['A person rescued died', [['tag', 'Tag', 'text'], ['circumstances', 'What is known', 'text']]],
  vulnerability: ['Vulnerability or medical emergency', [['tag', 'Tag', 'text'], ['flag', 'What', 'select', ['MED_EMERG', 'UASC', 'PREGNANT', 'VOT']]]],
  imminent_danger: ['Life-saving action (imminent danger)', [['action', 'What was done', 'text'], ['danger', 'The danger', 'text'], ['persons_at_risk', 'Persons at risk', 'int']]],
  asylum: ['A person asks for protection (protection officer)', [['tag', 'Tag', 'text'], ['summary', 'What they said (restricted: protection officer only)', 'text'], ['blocked_states', 'States they fear (e.g. LY, TN)', 'list']]],
  referral: ['Referral (medical, child protection, asylum…)', [['tag', 'Tag', 'text'], ['to', 'To whom', 'text'], ['reasons', 'Why (MED_EMERG, UASC, ASYLUM, VOT)', 'list']]],
  seize: ['Evidence seized (photo and seal)', [['description', 'What', 'text'], ['found', 'Where on board', 'text'], ['seal', 'Seal number', 'text'], ['place', 'Where it is held', 'text'], ['case', 'Case', 'int?', 1]], { photo: true }],
  custody_transfer: ['Custody handed over', [['exhibit', 'Exhibit', 'text'], ['to', 'To whom', 'text'], ['seal', 'Seal as seen', 'text'], ['place', 'Where', 'text']]],
  finalise_boarding: ['Boarding ends — persons welfare', [['case', 'Case', 'int', 1], ['welfare.injuries', 'Injuries seen or caused', 'text'], ['welfare.medical_care', 'Medical care given', 'text'], ['welfare.food_water', 'Food and water', 'text'], ['welfare.use_of_force', 'Use of force and restraints', 'text']]],
};

function renderFields() {
  const [, fields, extra] = ACTIONS[$('#action').value];
  const box = $('#fields');
  box.replaceChildren();
  for (const [name, label, kind, def] of fields) {
    let input;
    if (kind === 'bool') input = el('input', { type: 'checkbox', id: `f-${name}` });
    else if (kind === 'select') input = el('select', { id: `f-${name}` }, ...def.map((v) => el('option', { value: v }, v)));
    else input = el('input', { id: `f-${name}`, inputMode: kind.startsWith('int') ? 'numeric' : 'text', value: def === undefined ? '' : String(def) });
    box.append(el('label', {}, label, input));
  }
  if (extra && extra.photo) box.append(el('label', {}, 'Photo', el('input', { type: 'file', id: 'photo', accept: 'image/*', capture: 'environment' })));
  if ($('#action').value === 'rescue') {
    const hint = el('p', { class: 'tags', id: 'tags-hint' });
    box.append(hint);
    const upd = () => {
      const t = nextTags(currentIncident(), parseInt($('#f-count').value || '0', 10));
      hint.textContent = t.length ? `Tags to give: ${t[0]} … ${t[1]} (confirmed by the centre when the link returns)` : '';
    };
    $('#f-count').oninput = upd;
    upd();
  }
}

function readFields() {
  const type = $('#action').value;
  const [, fields, extra] = ACTIONS[type];
  const action = { type };
  for (const [name, label, kind] of fields) {
    const e = $(`#f-${name.replace('.', '\\.')}`);
    let v;
    if (kind === 'bool') v = e.checked;
    else if (kind.startsWith('int')) {
      if (e.value.trim() === '' && kind.endsWith('?')) continue;
      v = parseInt(e.value, 10);
      if (!isFinite(v)) throw new Error(`${label}: a whole number`);
    } else if (kind === 'list') v = e.value.split(/[ ,]+/).map((s) => s.trim().toUpperCase()).filter(Boolean);
    else {
      v = e.value.trim();
      if (v === '' && kind.endsWith('?')) continue;
      if (v === '') throw new Error(`${label}: required`);
    }
    if (name.includes('.')) {
      const [a, b] = name.split('.');
      action[a] = action[a] || {};
      action[a][b] = v;
    } else action[name] = v;
  }
  if (extra && extra.unit) action.unit = state.unit;
  return action;
}

async function record() {
  const button = $('#record');
  button.disabled = true;
  try {
    const incident = currentIncident();
    if (!incident) throw new Error('choose or type the incident');
    const action = readFields();
    const why = $('#why').value.trim();
    if (!why) throw new Error('why: say why, in words');
    if (action.type === 'seize') {
      const f = $('#photo').files[0];
      if (!f) throw new Error('take the photo of the exhibit');
      const stored = await api('POST', `/api/evidence?name=${encodeURIComponent(f.name || 'photo.jpg')}`, undefined, await f.arrayBuffer());
      action.files = [{ name: stored.name, sha256: stored.sha256 }];
    }
    const body = { incident, action, why };
    const occurred = $('#occurred').value.trim();
    if (occurred) body.occurred_at = occurred;
    const late = $('#late-reason').value.trim();
    if (late) body.late_reason = late;
    const r = await api('POST', '/api/case', body);
    say(`${ACTIONS[action.type][0]}: signed and saved on board (${r.id}, SHA-256 ${r.sha256.slice(0, 12)}…) — sent when the link allows`, true);
    $('#why').value = '';
    await refresh();
    renderFields();
  } catch (e) {
    say(e.message);
  } finally {
    button.disabled = false;
  }
}

// ---- wiring

document.addEventListener('DOMContentLoaded', () => {
  $('#login').onclick = login;
  $('#password').onkeydown = (e) => { if (e.key === 'Enter') login(); };
  $('#logout').onclick = async () => { try { await api('POST', '/api/logout'); } catch (_) { /* gone already */ } location.reload(); };
  $('#night').onclick = () => {
    document.body.classList.toggle('night');
    localStorage.setItem('tw-night', document.body.classList.contains('night') ? '1' : '');
  };
  if (localStorage.getItem('tw-night')) document.body.classList.add('night');
  for (const b of $$('nav button')) {
    b.onclick = () => {
      for (const o of $$('nav button')) o.classList.toggle('on', o === b);
      for (const t of $$('.tab')) t.hidden = t.id !== `tab-${b.dataset.tab}`;
      if (b.dataset.tab === 'map' && map) map.invalidateSize();
    };
  }
  $('#send-sighting').onclick = sendSighting;
  for (const b of $$('button.status')) b.onclick = () => sendStatus(b.dataset.state);
  $('#send-pob').onclick = sendPob;
  const sel = $('#action');
  sel.replaceChildren(...Object.entries(ACTIONS).map(([k, [label]]) => el('option', { value: k }, label)));
  sel.onchange = renderFields;
  $('#incident').onchange = () => { renderBrief(); renderFields(); };
  $('#incident-typed').oninput = () => { renderBrief(); };
  renderFields();
  $('#record').onclick = record;
  start();
});
