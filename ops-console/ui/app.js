// Tidewatch operations console — browser UI.
// Plain script (no bundler, nothing from the internet); Leaflet 1.9.4 is the global `L`.
// The page's CSP forbids inline script and inline handlers: every listener is added here.
'use strict';
(function () {

// ------------------------------------------------------------------ errors (debugging)

window.__errors = window.__errors || [];
window.addEventListener('error', (e) => { window.__errors.push(String(e.message || e)); });
document.addEventListener('securitypolicyviolation', (e) => {
  window.__errors.push(`CSP violation: ${e.violatedDirective} ${e.blockedURI || ''}`);
});
window.addEventListener('unhandledrejection', (e) => {
  const r = e.reason;
  window.__errors.push('unhandled rejection: ' + (r && r.message ? r.message : String(r)));
});

// ------------------------------------------------------------------ constants

const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'];
const SEV_RANK = Object.fromEntries(SEVERITIES.map((s, i) => [s, i]));
const SEV_COLOR = {
  critical: '#ff4d4d', high: '#ff9142', medium: '#f0c43a', low: '#7fb2d9', info: '#8b97a5',
};
const ALERT_KINDS = [
  ['ais_gap', 'AIS gap'],
  ['rendezvous', 'Rendezvous'],
  ['loitering', 'Loitering'],
  ['position_jump', 'Position jump'],
  ['identity_conflict', 'Identity conflict'],
  ['invalid_identity', 'Invalid identity'],
  ['zone_entry', 'Zone entry'],
  ['dark_target', 'Dark target (no AIS)'],
  ['sar_beacon', 'SAR beacon (SART / EPIRB)'],
  ['distress', 'Distress'],
];
const KIND_LABEL = Object.fromEntries(ALERT_KINDS);
const RESCUE_KINDS = new Set(['sar_beacon', 'distress']);

// [category, label, colour, symbol]
const CATEGORIES = [
  ['sart', 'SART / EPIRB', '#ff3b3b', 'sart'],
  ['cargo', 'Cargo', '#5cb87a', 'circle'],
  ['tanker', 'Tanker', '#c47ee6', 'circle'],
  ['passenger', 'Passenger', '#4aa8ff', 'circle'],
  ['fishing', 'Fishing', '#e6c04a', 'circle'],
  ['pleasure', 'Pleasure', '#e88bc4', 'circle'],
  ['high_speed', 'High speed', '#5fe0d0', 'circle'],
  ['tug', 'Tug / towing', '#c29a6b', 'circle'],
  ['sar', 'SAR craft', '#f2f2f2', 'circle'],
  ['law_enforcement', 'Law enforcem.', '#93a6ff', 'circle'],
  ['other', 'Other', '#a3adb8', 'circle'],
  ['unknown', 'Unknown type', '#6f7a86', 'circle'],
  ['radar', 'Radar contact', '#d6e2ee', 'radar'],
  ['sighting', 'Sighting', '#ff9f1a', 'diamond'],
  ['patrol', 'Patrol unit', '#3d7bff', 'square'],
];
const CAT = Object.fromEntries(CATEGORIES.map(([k, label, color, shape]) => [k, { k, label, color, shape }]));

const ROLE_LABEL = {
  watch_officer: 'watch officer', sar_coordinator: 'SAR mission coordinator',
  boarding_officer: 'boarding officer', investigator: 'investigator',
  partner_liaison: 'partner liaison', auditor: 'auditor', admin: 'administrator',
  duty_officer: 'duty officer (art. 8(6) authority)', legal_adviser: 'legal adviser', protection_officer: 'protection officer',
};

const TRACK_LIST_CAP = 400;
const ALERT_LIST_CAP = 300;
const STALE_MS = 10 * 60 * 1000;       // dim a track not heard for 10 min
const LIVE_WINDOW_MS = 60 * 60 * 1000; // the server's live window
const FILTER_KEY = 'tidewatch.filters.v1';

// ------------------------------------------------------------------ state

const S = {
  me: null,
  csrf: '',
  perms: new Set(),
  started: false,
  loginBusy: false,
  tracks: new Map(),
  alerts: new Map(),
  incidents: [],
  live: true,
  clock: 0,          // ms: the time of the picture shown
  liveClock: 0,      // ms: the live picture's clock (data time)
  replayAnchor: 0,   // ms: "now" when the replay began
  replayAt: 0,       // ms: replay time
  picSeq: 0,
  pictureLoaded: false,
  ready: false,
  lastEventWall: 0,
  selectedTrack: null,
  selectedAlert: null,
  openMmsi: null,
  search: '',
  filters: { kind: '', severity: '', cats: new Set(CATEGORIES.map((c) => c[0])), area: false, outside: false },
  es: null,
  timers: [],
  seenAlerts: new Set(),
};
let version = 0;

window.tidewatch = {
  get tracks() { return S.tracks; },
  get alerts() { return S.alerts; },
  get live() { return S.live; },
  get map() { return map; },
  get me() { return S.me; },
  /** Apply an array of TrackView as if it came live (debugging, load tests). */
  inject(tracks) { applyTracks(tracks); },
};

// ------------------------------------------------------------------ small helpers

const $ = (sel, root) => (root || document).querySelector(sel);
const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const k of kids.flat(Infinity)) {
    if (k == null || k === false) continue;
    el.append(k instanceof Node ? k : String(k));
  }
  return el;
}

function esc(s) {
  return String(s == null ? '' : s).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  }[c]));
}

const pad = (n) => String(n).padStart(2, '0');

function parseTime(s) {
  if (typeof s === 'number') return s;
  if (!s) return NaN;
  // Nanosecond fractions: keep milliseconds.
  return Date.parse(String(s).replace(/(\.\d{3})\d+/, '$1'));
}

function fmtUTC(ms) {
  if (!Number.isFinite(ms)) return '—';
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}
function fmtHM(ms) {
  if (!Number.isFinite(ms)) return '—';
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}
function fmtHMS(ms) {
  if (!Number.isFinite(ms)) return '—';
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}
/** Time of day, with the date when it is not the picture's day. */
function fmtShort(ms) {
  if (!Number.isFinite(ms)) return '—';
  const d = new Date(ms);
  const ref = new Date(S.clock || Date.now());
  const sameDay = d.getUTCFullYear() === ref.getUTCFullYear() && d.getUTCMonth() === ref.getUTCMonth() &&
    d.getUTCDate() === ref.getUTCDate();
  const t = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
  return sameDay ? t : `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${t}`;
}
function fmtAge(ms) {
  const ref = S.clock || Date.now();
  if (!Number.isFinite(ms)) return '';
  let s = Math.round((ref - ms) / 1000);
  if (s < 0) s = 0;
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const hh = Math.floor(m / 60);
  return `${hh} h ${m % 60} min ago`;
}
function isoSec(ms) { return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'); }

const num = (v) => typeof v === 'number' && Number.isFinite(v);
const fmtKn = (v) => (num(v) ? `${v.toFixed(1)} kn` : '—');
const fmtDeg = (v) => (num(v) ? `${String(Math.round(((v % 360) + 360) % 360) % 360).padStart(3, '0')} °T` : '—');
const fmtNM = (m) => (num(m) ? `${(m / 1852).toFixed(2)} NM` : '—');
const fmtPos = (lat, lon) => `${Number(lat).toFixed(4)}, ${Number(lon).toFixed(4)}`;
function fmtLatLonHemi(lat, lon) {
  return `${Math.abs(lat).toFixed(4)}° ${lat >= 0 ? 'N' : 'S'}  ${Math.abs(lon).toFixed(4)}° ${lon >= 0 ? 'E' : 'W'}`;
}
const kindLabel = (k) => KIND_LABEL[k] || String(k || '').replace(/_/g, ' ');
const catOf = (c) => CAT[c] || CAT.other;
const catKey = (c) => (CAT[c] ? c : 'other');

function shipTypeText(code) {
  if (!num(code)) return '—';
  const c = code;
  let t = 'not available';
  if (c >= 20 && c <= 29) t = 'wing in ground';
  else if (c === 30) t = 'fishing';
  else if (c === 31 || c === 32) t = 'towing';
  else if (c === 33) t = 'dredging / underwater ops';
  else if (c === 34) t = 'diving ops';
  else if (c === 35) t = 'military ops';
  else if (c === 36) t = 'sailing';
  else if (c === 37) t = 'pleasure craft';
  else if (c >= 40 && c <= 49) t = 'high-speed craft';
  else if (c === 50) t = 'pilot vessel';
  else if (c === 51) t = 'search and rescue';
  else if (c === 52) t = 'tug';
  else if (c === 53) t = 'port tender';
  else if (c === 54) t = 'anti-pollution';
  else if (c === 55) t = 'law enforcement';
  else if (c === 58) t = 'medical transport';
  else if (c === 59) t = 'non-combatant';
  else if (c >= 60 && c <= 69) t = 'passenger';
  else if (c >= 70 && c <= 79) t = 'cargo';
  else if (c >= 80 && c <= 89) t = 'tanker';
  else if (c >= 90 && c <= 99) t = 'other type';
  return `${t} (${c})`;
}

let toastTimer = 0;
function toast(msg, kind) {
  const el = $('#toast');
  if (!el) return;
  el.textContent = msg;
  el.className = 'show ' + (kind || '');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = ''; }, kind === 'crit' ? 12000 : 6000);
}

// ------------------------------------------------------------------ API

class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

async function api(method, path, body, opts) {
  const o = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (method !== 'GET') {
    o.headers['Content-Type'] = 'application/json';
    o.headers['X-CSRF-Token'] = S.csrf || '';
    o.body = JSON.stringify(body == null ? {} : body);
  }
  let r;
  try {
    r = await fetch(path, o);
  } catch (e) {
    throw new ApiError(0, 'network', 'the console is unreachable (network error)');
  }
  if (r.status === 204) return null;
  let data = null;
  const text = await r.text();
  if (text) { try { data = JSON.parse(text); } catch (e) { data = null; } }
  if (!r.ok) {
    const err = new ApiError(r.status, data && data.error, data && data.message,
      r.headers.get('Retry-After'));
    if (!(opts && opts.quiet)) {
      if (r.status === 401 && (err.code === 'not_logged_in' || err.code === 'session_expired')) {
        sessionLost(err);
      } else if (r.status === 403 && err.code === 'password_change_required') {
        showPasswordForm();
      }
    }
    throw err;
  }
  return data;
}

function errText(e) {
  if (!e) return 'failed';
  if (e.status === 409) return `Not possible now: ${e.message}`;
  if (e.status === 403) return `Not allowed: ${e.message}`;
  if (e.status === 400) return e.message;
  if (e.status === 404) return `Not found: ${e.message}`;
  return e.message || 'failed';
}

// ------------------------------------------------------------------ views: login, password

function showOnly(id) {
  for (const v of ['login-view', 'password-view', 'app']) {
    const el = document.getElementById(v);
    if (el) el.hidden = v !== id;
  }
}

function setLoginError(msg) { $('#login-error').textContent = msg || ''; }

function showLogin(msg) {
  showOnly('login-view');
  if (msg) setLoginError(msg);
  const u = $('#login-user');
  if (u && !u.value && document.activeElement !== $('#login-password')) u.focus();
}

let retryTimer = 0;
async function onLoginSubmit(ev) {
  ev.preventDefault();
  const btn = $('#login-submit');
  if (btn.disabled) return;
  const username = $('#login-user').value.trim();
  const password = $('#login-password').value;
  if (!username || !password) { setLoginError('Enter your user name and password.'); return; }
  S.loginBusy = true;
  btn.disabled = true;
  setLoginError('');
  let wait = 0;
  try {
    const me = await api('POST', '/api/login', { username, password }, { quiet: true });
    $('#login-password').value = '';
    if (S.started) { location.reload(); return; }
    onMe(me);
  } catch (e) {
    if (e.status === 429) {
      wait = parseInt(e.retryAfter, 10) || 60;
      const tick = () => {
        if (wait <= 0) { btn.disabled = false; setLoginError('You may try again now.'); return; }
        setLoginError(`Too many failed attempts. Try again in ${wait} s.`);
        wait -= 1;
        retryTimer = setTimeout(tick, 1000);
      };
      clearTimeout(retryTimer);
      tick();
    } else if (e.status === 401) {
      setLoginError('Wrong user name or password.');
    } else {
      setLoginError(e.message || 'Login failed.');
    }
  } finally {
    S.loginBusy = false;
    if (!wait) btn.disabled = false;
  }
}

function showPasswordForm() {
  showOnly('password-view');
  const c = $('#pw-current');
  if (c && !c.value) c.focus();
}

async function onPasswordSubmit(ev) {
  ev.preventDefault();
  const btn = $('#pw-submit');
  const err = $('#pw-error');
  const current = $('#pw-current').value;
  const nw = $('#pw-new').value;
  err.textContent = '';
  if (!current) { err.textContent = 'Enter your current (one-time) password.'; return; }
  if (nw.length < 12) { err.textContent = 'The new password needs at least 12 characters.'; return; }
  if (nw === current) { err.textContent = 'Choose a new password different from the current one.'; return; }
  btn.disabled = true;
  try {
    await api('POST', '/api/me/password', { current, new: nw }, { quiet: true });
    $('#pw-current').value = '';
    $('#pw-new').value = '';
    const me = await api('GET', '/api/me');
    onMe(me);
  } catch (e) {
    if (e.status === 401 && e.code === 'bad_credentials') err.textContent = 'The current password is wrong.';
    else if (e.status === 401) { sessionLost(e); }
    else err.textContent = e.message || 'The password could not be changed.';
  } finally {
    btn.disabled = false;
  }
}

async function logout() {
  try { await api('POST', '/api/logout', {}, { quiet: true }); } catch (e) { /* gone anyway */ }
  teardown();
  location.reload();
}

function teardown() {
  if (S.es) { S.es.close(); S.es = null; }
  for (const t of S.timers) clearInterval(t);
  S.timers = [];
  stopStatusPolling();
}

function sessionLost(e) {
  if (!S.started) { showLogin(); return; }
  teardown();
  showLogin(e && e.code === 'session_expired'
    ? 'Your session has expired. Log in again.'
    : 'You are logged out. Log in again.');
}

function onMe(me) {
  S.me = me;
  S.csrf = me.csrf;
  S.perms = new Set(me.permissions || []);
  if (me.must_change_password) { showPasswordForm(); return; }
  startApp();
}

// ------------------------------------------------------------------ the console

function can(p) { return S.perms.has(p); }

/** Fill the assignee suggestions with the accounts that may triage. */
async function loadAssignees() {
  if (!can('triage_alerts')) return;
  let list = document.getElementById('assignees');
  if (!list) {
    list = document.createElement('datalist');
    list.id = 'assignees';
    document.body.appendChild(list);
  }
  try {
    const names = await api('GET', '/api/assignees');
    list.replaceChildren(...names.map((n) => { const o = document.createElement('option'); o.value = n; return o; }));
  } catch (x) { /* suggestions only */ }
}

function startApp() {
  if (S.started) return;
  S.started = true;
  showOnly('app');
  loadAssignees();
  const who = $('#who');
  who.textContent = '';
  who.append(h('span', { class: 'who-name', text: S.me.name }), ' ',
    h('span', { class: 'who-role', title: ROLE_LABEL[S.me.role] || S.me.role, text: S.me.role }));
  $('#status-button').hidden = !can('view_status');
  $('#audit-button').hidden = !can('view_audit');
  $('#approvals-button').hidden = !can('approve_accounts');

  pollHealth();
  S.timers.push(setInterval(pollHealth, 15000));
  S.timers.push(setInterval(tick1s, 1000));

  if (can('view_picture')) {
    $('#workspace').hidden = false;
    $('#links').hidden = false;
    initFilters();
    initMap();
    startLive();
    // Normally the stream's `hello` triggers the first fetch; don't wait for it long.
    setTimeout(() => { if (!S.pictureLoaded) fetchPicture(); }, 2000);
    loadIncidents();
    S.timers.push(setInterval(maintenance, 30000));
    S.timers.push(setInterval(() => { if (S.openMmsi && S.live) openVessel(S.openMmsi, { quiet: true }); }, 20000));
  } else {
    $('#link-live').hidden = true;
    if (can('manage_users')) {
      $('#users').hidden = false;
      loadUsers();
    } else if (can('view_released')) {
      $('#no-access').hidden = false;
      loadReleased();
    } else if (!can('view_status') && !can('view_audit')) {
      $('#no-access').hidden = false;
      $('#no-access p').textContent = `The ${ROLE_LABEL[S.me.role] || S.me.role} role has no view in this console.`;
    } else {
      $('#no-access').hidden = false;
      $('#no-access p').textContent = 'Use the buttons in the top bar.';
    }
    markReady();
  }
}

function markReady() {
  if (S.ready) return;
  S.ready = true;
  requestAnimationFrame(() => requestAnimationFrame(() => { document.body.dataset.ready = '1'; }));
}

async function pollHealth() {
  try {
    const r = await fetch('/api/health', { credentials: 'same-origin' });
    const d = await r.json();
    setLink('feed', !!d.feed_connected, d.feed_connected ? 'Feed connected' : 'FEED DISCONNECTED');
  } catch (e) {
    setLink('feed', false, 'Console unreachable');
  }
}

function setLink(which, ok, title) {
  const el = $(which === 'feed' ? '#link-feed' : '#link-live');
  if (!el) return;
  el.classList.toggle('ok', ok);
  el.classList.toggle('bad', !ok);
  if (title) el.title = title;
}

function tick1s() {
  updateClock();
}

function updateClock() {
  const el = $('#clock');
  if (!el) return;
  if (!can('view_picture')) { el.textContent = fmtUTC(Date.now()); return; }
  if (!S.live) {
    el.textContent = fmtUTC(S.replayAt);
    el.classList.add('replay');
    $('#data-age').textContent = 'replay';
    $('#data-age').className = 'replay-note';
    return;
  }
  el.classList.remove('replay');
  el.textContent = S.clock ? fmtUTC(S.clock) : '—';
  const age = $('#data-age');
  if (!S.lastEventWall) { age.textContent = ''; return; }
  const s = Math.round((Date.now() - S.lastEventWall) / 1000);
  if (s >= 20) {
    age.textContent = `no updates for ${s} s`;
    age.className = s >= 120 ? 'age-bad' : 'age-warn';
  } else {
    age.textContent = '';
    age.className = 'muted';
  }
}

// ------------------------------------------------------------------ map

let map = null;
let landR, overR, trackR;
let trackGroup, alertGroup, overlayGroup, pulseGroup, taskGroup;
let tip = null;
let selRing = null;
let trailLayer = null;
let trailLines = null;
let planLayer = null;
const markers = new Map();       // track id -> TrackMarker
const alertMarkers = new Map();  // alert id -> AlertRing
const pulses = new Map();        // key -> L.marker (DOM, pulsing)
const taskLayers = new Map();    // unit track id -> L.layerGroup
let TrackMarker, AlertRing;
let viewBounds = null;
// Symbols shrink when zoomed out (and lose their heading lines) so dense areas stay legible.
let zBucket = 2;
const zoomBucket = (z) => (z >= 8 ? 2 : z >= 6 ? 1 : 0);

function defineMarkerClasses() {
  // A canvas-drawn track symbol: circle, square, diamond, SART, radar ring; with a short
  // heading/course line. One path per track keeps 10,000 tracks usable.
  TrackMarker = L.CircleMarker.extend({
    options: { shape: 'circle', dir: null, lineLen: 0, dirColor: null },
    _updateBounds() {
      const r = this._radius * 1.5 + (this.options.lineLen || 0) + this._clickTolerance() + 2;
      this._pxBounds = new L.Bounds(this._point.subtract([r, r]), this._point.add([r, r]));
    },
    _updatePath() {
      const R = this._renderer;
      if (!R._drawing || this._empty()) return;
      const ctx = R._ctx;
      const p = this._point;
      const r = this._radius;
      const o = this.options;
      ctx.beginPath();
      if (o.shape === 'square') {
        ctx.rect(p.x - r, p.y - r, 2 * r, 2 * r);
      } else if (o.shape === 'diamond') {
        const d = r * 1.45;
        ctx.moveTo(p.x, p.y - d); ctx.lineTo(p.x + d, p.y); ctx.lineTo(p.x, p.y + d); ctx.lineTo(p.x - d, p.y);
        ctx.closePath();
      } else {
        ctx.arc(p.x, p.y, r, 0, Math.PI * 2, false);
      }
      R._fillStroke(ctx, this);
      ctx.setLineDash([]);
      if (o.shape === 'sart') {
        const d = r * 0.6;
        ctx.beginPath();
        ctx.moveTo(p.x - d, p.y - d); ctx.lineTo(p.x + d, p.y + d);
        ctx.moveTo(p.x + d, p.y - d); ctx.lineTo(p.x - d, p.y + d);
        ctx.globalAlpha = o.opacity; ctx.lineWidth = 1.6; ctx.strokeStyle = '#ffffff'; ctx.stroke();
      } else if (o.shape === 'radar') {
        ctx.beginPath();
        ctx.arc(p.x, p.y, 1.6, 0, Math.PI * 2, false);
        ctx.globalAlpha = o.opacity; ctx.fillStyle = o.color; ctx.fill();
      }
      if (o.dir != null && o.lineLen) {
        const a = (o.dir * Math.PI) / 180;
        const sx = Math.sin(a);
        const sy = -Math.cos(a);
        const r0 = o.shape === 'square' ? r * 1.3 : (o.shape === 'diamond' ? r * 1.2 : r);
        ctx.beginPath();
        ctx.moveTo(p.x + sx * r0, p.y + sy * r0);
        ctx.lineTo(p.x + sx * (r0 + o.lineLen), p.y + sy * (r0 + o.lineLen));
        ctx.globalAlpha = o.opacity;
        ctx.lineWidth = 2;
        ctx.lineCap = 'round';
        ctx.strokeStyle = o.dirColor || o.fillColor || o.color;
        ctx.stroke();
      }
    },
  });

  // An alert ring: clickable on its band only, so the track inside stays clickable.
  AlertRing = L.CircleMarker.extend({
    _containsPoint(p) {
      const d = p.distanceTo(this._point);
      return Math.abs(d - this._radius) <= 5 + this._clickTolerance();
    },
  });
}

function initMap() {
  if (map) return;
  if (!window.L) { toast('The map library did not load.', 'err'); return; }
  defineMarkerClasses();
  map = L.map('map', {
    preferCanvas: true,
    minZoom: 3,
    maxZoom: 17,
    worldCopyJump: false,
    zoomControl: true,
    attributionControl: true,
  });
  map.attributionControl.setPrefix('Leaflet · land: Natural Earth');
  map.setView([35.3, 12.6], 8);

  const paneLand = map.createPane('land');
  paneLand.style.zIndex = 250;
  paneLand.style.pointerEvents = 'none';
  const paneOver = map.createPane('overlays');
  paneOver.style.zIndex = 380;
  paneOver.style.pointerEvents = 'none';
  const paneTracks = map.createPane('tracks');
  paneTracks.style.zIndex = 420;

  landR = L.canvas({ pane: 'land', padding: 0.5 });
  overR = L.canvas({ pane: 'overlays', padding: 0.3 });
  trackR = L.canvas({ pane: 'tracks', padding: 0.2, tolerance: 3 });

  overlayGroup = L.layerGroup().addTo(map);
  taskGroup = L.layerGroup().addTo(map);
  alertGroup = L.featureGroup().addTo(map);
  trackGroup = L.featureGroup().addTo(map);
  pulseGroup = L.layerGroup().addTo(map);

  tip = L.tooltip({ direction: 'top', offset: [0, -9], opacity: 1, className: 'tw-tip' });

  trackGroup.on('mouseover', (e) => {
    const t = S.tracks.get(e.layer._tid);
    if (t) showTip(e.layer.getLatLng(), trackTipHtml(t));
  });
  trackGroup.on('mouseout', hideTip);
  trackGroup.on('click', (e) => { hideTip(); openTrack(e.layer._tid, { pan: false }); });
  alertGroup.on('mouseover', (e) => {
    const a = S.alerts.get(e.layer._aid);
    if (a) showTip(e.layer.getLatLng(), alertTipHtml(a));
  });
  alertGroup.on('mouseout', hideTip);
  alertGroup.on('click', (e) => { hideTip(); selectAlert(e.layer._aid, { zoom: false, scroll: true }); });

  addMapControls();
  loadBasemap();
  viewBounds = map.getBounds();
  zBucket = zoomBucket(map.getZoom());
  map.on('zoomend', () => {
    const b = zoomBucket(map.getZoom());
    if (b === zBucket) return;
    zBucket = b;
    for (const t of S.tracks.values()) upsertMarker(t);
  });
  map.on('moveend', () => {
    viewBounds = map.getBounds();
    if (S.filters.area) { scheduleRender('tracks'); scheduleRender('alerts'); }
  });
}

/** The part of the map not covered by the inspector cards, in container pixels. */
function freeRect() {
  const size = map.getSize();
  const ins = $('#inspector');
  const covered = ins && Array.from(ins.children).some((c) => !c.hidden);
  const right = covered ? size.x - ins.offsetWidth - 20 : size.x;
  const top = document.body.classList.contains('replay') ? 30 : 0;
  return { left: 0, top, right: Math.max(right, size.x * 0.35), bottom: size.y };
}

/** Show `ll` in the free part of the map: centred there, or only if it is outside (margin). */
function showOnMap(ll, zoom, onlyIfHidden) {
  if (!map) return;
  const z = zoom == null ? map.getZoom() : zoom;
  const r = freeRect();
  if (onlyIfHidden && z === map.getZoom()) {
    const p = map.latLngToContainerPoint(ll);
    const m = 40;
    if (p.x >= r.left + m && p.x <= r.right - m && p.y >= r.top + m && p.y <= r.bottom - m) return;
  }
  const size = map.getSize();
  const cx = (r.left + r.right) / 2;
  const cy = (r.top + r.bottom) / 2;
  // Centre of the map such that ll lands at (cx, cy).
  const pt = map.project(ll, z).subtract([cx - size.x / 2, cy - size.y / 2]);
  map.setView(map.unproject(pt, z), z);
}

function showTip(ll, html) {
  tip.setLatLng(ll).setContent(html);
  if (!map.hasLayer(tip)) tip.addTo(map);
}
function hideTip() { if (tip && map.hasLayer(tip)) map.removeLayer(tip); }

function trackTipHtml(t) {
  const c = catOf(t.category);
  const lines = [`<b>${esc(t.label)}</b>`,
    `<span class="tip-muted">${esc(c.label)} · ${esc(t.kind.toUpperCase())}${t.unit ? ' · ' + esc(t.unit) : ''}</span>`,
    `SOG ${fmtKn(t.sog_kn)} · COG ${fmtDeg(t.cog_deg)}` + (num(t.heading_deg) ? ` · HDG ${fmtDeg(t.heading_deg)}` : ''),
    `${fmtPos(t.position.lat, t.position.lon)} · ${fmtHMS(t._ms)} (${fmtAge(t._ms)})`];
  if (t.detail) lines.push(esc(t.detail));
  if (t.open_alerts) lines.push(`<span class="tip-alert">${t.open_alerts} open alert${t.open_alerts > 1 ? 's' : ''}</span>`);
  return lines.join('<br>');
}
function alertTipHtml(a) {
  return `<b class="sev-text-${esc(a.severity)}">${esc(a.severity.toUpperCase())}</b> ${esc(kindLabel(a.kind))}<br>` +
    `${esc(fmtShort(a._ms))} · triage: ${esc(a.triage.status)}<br>` +
    `<span class="tip-muted">${esc((a.reasons || [])[0] || '')}</span>`;
}

function addMapControls() {
  const Pos = L.Control.extend({
    options: { position: 'bottomleft' },
    onAdd() {
      const d = L.DomUtil.create('div', 'tw-ctl tw-pos');
      d.textContent = '';
      map.on('mousemove', (e) => { d.textContent = fmtLatLonHemi(e.latlng.lat, e.latlng.lng); });
      map.on('mouseout', () => { d.textContent = ''; });
      return d;
    },
  });
  const Scale = L.Control.extend({
    options: { position: 'bottomleft' },
    onAdd() {
      const d = L.DomUtil.create('div', 'tw-ctl tw-scale');
      const bar = L.DomUtil.create('div', 'tw-scale-bar', d);
      const upd = () => {
        const size = map.getSize();
        const y = size.y / 2;
        const a = map.containerPointToLatLng([size.x / 2 - 50, y]);
        const b = map.containerPointToLatLng([size.x / 2 + 50, y]);
        const nmPer100 = a.distanceTo(b) / 1852;
        const nice = [0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000];
        let v = nice[0];
        for (const n of nice) if ((n / nmPer100) * 100 <= 130) v = n;
        bar.style.width = `${Math.round((v / nmPer100) * 100)}px`;
        bar.textContent = `${v} NM`;
      };
      map.on('zoomend moveend resize', upd);
      setTimeout(upd, 0);
      return d;
    },
  });
  new Scale().addTo(map);
  new Pos().addTo(map);
}

async function loadBasemap() {
  const style = {
    color: '#42574b', weight: 0.8, opacity: 1, fillColor: '#202c25', fillOpacity: 1,
  };
  // Graticule every degree around the Mediterranean, drawn under the land's edges.
  const grid = [];
  for (let lat = 20; lat <= 50; lat += 1) grid.push([[lat, -20], [lat, 50]]);
  for (let lon = -20; lon <= 50; lon += 1) grid.push([[20, lon], [50, lon]]);
  L.polyline(grid, { renderer: landR, pane: 'land', color: '#17314a', weight: 1, opacity: 0.7, interactive: false })
    .addTo(map);
  for (const url of ['/ui/basemap/land-50m.geojson', '/ui/basemap/med-islands-10m.geojson']) {
    try {
      const r = await fetch(url, { credentials: 'same-origin' });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const gj = await r.json();
      L.geoJSON(gj, { renderer: landR, pane: 'land', style, interactive: false, smoothFactor: 1.2 }).addTo(map);
    } catch (e) {
      toast(`Basemap ${url.split('/').pop()} did not load (${e.message}).`, 'err');
    }
  }
}

function trackStyle(t) {
  const c = catOf(t.category);
  const stale = t._stale;
  const op = stale ? 0.45 : 1;
  let dir = null;
  if (num(t.heading_deg)) dir = t.heading_deg;
  else if (num(t.cog_deg) && (!num(t.sog_kn) || t.sog_kn >= 0.5)) dir = t.cog_deg;
  const moving = num(t.sog_kn) ? t.sog_kn >= 0.5 : true;
  const st = {
    renderer: trackR, pane: 'tracks', interactive: true, bubblingMouseEvents: false,
    opacity: op, fillOpacity: 0.95 * op, dir, lineLen: dir == null ? 0 : (moving ? 13 : 8), dirColor: null,
  };
  if (t.kind === 'unit') {
    Object.assign(st, { shape: 'square', radius: 5.5, fill: true, fillColor: CAT.patrol.color, color: '#e8f0ff', weight: 1.5, stroke: true, lineLen: dir == null ? 0 : 15, dirColor: '#9fc0ff' });
  } else if (t.kind === 'sighting') {
    Object.assign(st, { shape: 'diamond', radius: 5, fill: true, fillColor: CAT.sighting.color, color: '#2a1600', weight: 1, stroke: true });
  } else if (t.kind === 'radar') {
    Object.assign(st, { shape: 'radar', radius: 5, fill: false, color: CAT.radar.color, weight: 1.5, stroke: true });
  } else if (t.category === 'sart') {
    Object.assign(st, { shape: 'sart', radius: 6.5, fill: true, fillColor: CAT.sart.color, color: '#ffffff', weight: 1.5, stroke: true, opacity: 1, fillOpacity: 1 });
  } else {
    Object.assign(st, { shape: 'circle', radius: 4.5, fill: true, fillColor: c.color, color: '#050b12', weight: 1, stroke: true });
  }
  if (zBucket < 2 && st.shape !== 'sart' && st.shape !== 'square') {
    const k = zBucket === 1 ? 0.8 : 0.6;
    st.radius *= k;
    st.lineLen = zBucket === 1 ? st.lineLen * k : 0;
  }
  return st;
}

function trackVisible(t) { return S.filters.cats.has(catKey(t.category)); }

function upsertMarker(t) {
  if (!map) return;
  let m = markers.get(t.id);
  const st = trackStyle(t);
  const ll = [t.position.lat, t.position.lon];
  if (!m) {
    m = new TrackMarker(ll, st);
    m._tid = t.id;
    m._shown = false;
    markers.set(t.id, m);
  } else {
    Object.assign(m.options, st);
    m._radius = st.radius;
    if (m._shown) m.setLatLng(ll); else m._latlng = L.latLng(ll);
  }
  const vis = trackVisible(t);
  if (vis && !m._shown) { trackGroup.addLayer(m); m._shown = true; }
  else if (!vis && m._shown) { trackGroup.removeLayer(m); m._shown = false; }
  if (t.category === 'sart') setPulse('trk:' + t.id, ll, 'sart');
  else removePulse('trk:' + t.id);
  if (t.kind === 'unit') drawTaskings(t);
  if (S.selectedTrack === t.id) updateSelRing();
}

function removeMarker(id) {
  const m = markers.get(id);
  if (m) { if (m._shown) trackGroup.removeLayer(m); markers.delete(id); }
  removePulse('trk:' + id);
  const tl = taskLayers.get(id);
  if (tl) { taskGroup.removeLayer(tl); taskLayers.delete(id); }
}

function setPulse(key, ll, cls) {
  let p = pulses.get(key);
  if (!p) {
    const icon = L.divIcon({ className: 'tw-pulse ' + cls, iconSize: [30, 30], iconAnchor: [15, 15], html: '<span></span>' });
    p = L.marker(ll, { icon, interactive: false, keyboard: false, pane: 'markerPane' });
    pulses.set(key, p);
    pulseGroup.addLayer(p);
  } else {
    p.setLatLng(ll);
  }
}
function removePulse(key) {
  const p = pulses.get(key);
  if (p) { pulseGroup.removeLayer(p); pulses.delete(key); }
}

function drawTaskings(t) {
  let g = taskLayers.get(t.id);
  if (g) g.clearLayers();
  if (!t.taskings || !t.taskings.length) {
    if (g) { taskGroup.removeLayer(g); taskLayers.delete(t.id); }
    return;
  }
  if (!g) { g = L.layerGroup(); taskLayers.set(t.id, g); taskGroup.addLayer(g); }
  for (const k of t.taskings) {
    if (!k.datum) continue;
    const color = k.status === 'accepted' ? '#5fb0ff' : k.status === 'declined' ? '#7d8896' : '#f2b33d';
    const from = [t.position.lat, t.position.lon];
    const to = [k.datum.lat, k.datum.lon];
    g.addLayer(L.polyline([from, to], { renderer: overR, pane: 'overlays', color, weight: 2, opacity: 0.9, dashArray: '6 5', interactive: false }));
    g.addLayer(L.circleMarker(to, { renderer: overR, pane: 'overlays', radius: 6, color, weight: 2, fill: false, interactive: false }));
    g.addLayer(L.circleMarker(to, { renderer: overR, pane: 'overlays', radius: 1.5, color, weight: 2, fill: true, fillOpacity: 1, interactive: false }));
  }
}

/** Outside the centre's area of responsibility, and not a rescue (a distress is acted on
 * wherever it is until the responsible centre takes it over): shown only when asked, and
 * ranked below the rest. */
function outsideArea(a) {
  return !!a.outside_area && !RESCUE_KINDS.has(a.kind);
}
function alertVisible(a) {
  const f = S.filters;
  if (outsideArea(a) && !f.outside) return false;
  if (f.kind && a.kind !== f.kind) return false;
  if (f.severity && (SEV_RANK[a.severity] || 0) < SEV_RANK[f.severity]) return false;
  return true;
}
function isCriticalPulse(a) {
  const st = a.triage && a.triage.status;
  return (a.severity === 'critical' || (RESCUE_KINDS.has(a.kind) && (SEV_RANK[a.severity] || 0) >= 3)) &&
    st !== 'dismissed';
}

function syncAlertMarker(a) {
  if (!map) return;
  const ll = [a.position.lat, a.position.lon];
  const vis = alertVisible(a);
  let m = alertMarkers.get(a.id);
  const dismissed = a.triage && a.triage.status === 'dismissed';
  const sel = S.selectedAlert === a.id;
  const st = {
    renderer: trackR, pane: 'tracks', interactive: true, bubblingMouseEvents: false,
    radius: a.severity === 'critical' ? 14 : 12,
    color: sel ? '#ffffff' : dismissed ? '#5d6978' : (SEV_COLOR[a.severity] || '#8b97a5'),
    weight: sel ? 3 : (dismissed ? 1 : 2),
    opacity: 0.95, fill: true, fillColor: SEV_COLOR[a.severity] || '#8b97a5', fillOpacity: dismissed ? 0 : 0.08,
    dashArray: dismissed ? '3 4' : (a.severity === 'critical' ? null : '5 3'),
  };
  if (!vis) {
    if (m) { alertGroup.removeLayer(m); alertMarkers.delete(a.id); }
    removePulse('alr:' + a.id);
    return;
  }
  if (m) { alertGroup.removeLayer(m); }
  m = new AlertRing(ll, st);
  m._aid = a.id;
  alertMarkers.set(a.id, m);
  alertGroup.addLayer(m);
  m.bringToBack();
  if (isCriticalPulse(a)) setPulse('alr:' + a.id, ll, 'crit');
  else removePulse('alr:' + a.id);
}
function removeAlertMarker(id) {
  const m = alertMarkers.get(id);
  if (m) { alertGroup.removeLayer(m); alertMarkers.delete(id); }
  removePulse('alr:' + id);
}

function updateSelRing() {
  if (!map) return;
  const t = S.selectedTrack && S.tracks.get(S.selectedTrack);
  if (!t) { if (selRing) { map.removeLayer(selRing); selRing = null; } return; }
  const ll = [t.position.lat, t.position.lon];
  if (!selRing) {
    selRing = L.circleMarker(ll, { renderer: trackR, pane: 'tracks', radius: 11, color: '#ffffff', weight: 2, fill: false, interactive: false, dashArray: null }).addTo(map);
  } else {
    selRing.setLatLng(ll);
  }
}

// ------------------------------------------------------------------ data: picture, tracks, alerts

function prepTrack(t) {
  t._ms = parseTime(t.time);
  t._v = ++version;
  t._lbl = String(t.label || '').toUpperCase();
  t._q = `${t.label || ''} ${t.mmsi || ''} ${t.id} ${t.unit || ''}`.toLowerCase();
  const ref = S.live ? (S.liveClock || t._ms) : S.replayAt;
  t._stale = ref - t._ms > STALE_MS;
  return t;
}
function prepAlert(a) {
  a._ms = parseTime(a.time);
  a._rank = SEV_RANK[a.severity] || 0;
  a._v = ++version;
  if (!a.triage) a.triage = { status: 'new' };
  return a;
}

async function fetchPicture() {
  const seq = ++S.picSeq;
  const at = S.live ? null : S.replayAt;
  const url = at ? `/api/picture?at=${encodeURIComponent(isoSec(at))}` : '/api/picture';
  try {
    const p = await api('GET', url);
    if (seq !== S.picSeq) return; // a newer request was made (mode changed)
    applyPicture(p);
  } catch (e) {
    if (seq === S.picSeq && e.status !== 401) toast(`The picture could not be loaded: ${e.message}`, 'err');
  }
}

function applyPicture(p) {
  const replay = !!p.replay;
  const t0 = parseTime(p.time);
  if (!replay) { S.liveClock = Math.max(S.liveClock, t0); S.clock = S.liveClock; }
  else S.clock = t0;
  const keep = new Set();
  S.tracks.clear();
  for (const t of p.tracks || []) {
    prepTrack(t);
    S.tracks.set(t.id, t);
    keep.add(t.id);
  }
  for (const id of Array.from(markers.keys())) if (!keep.has(id)) removeMarker(id);
  for (const t of S.tracks.values()) upsertMarker(t);

  const akeep = new Set();
  S.alerts.clear();
  for (const a of p.alerts || []) {
    prepAlert(a);
    S.alerts.set(a.id, a);
    akeep.add(a.id);
    if (!replay) S.seenAlerts.add(a.id);
  }
  for (const id of Array.from(alertMarkers.keys())) if (!akeep.has(id)) removeAlertMarker(id);
  for (const [k] of Array.from(pulses)) if (k.startsWith('alr:') && !akeep.has(k.slice(4))) removePulse(k);
  for (const a of S.alerts.values()) syncAlertMarker(a);

  S.pictureLoaded = true;
  updateClock();
  updateCriticalBadge();
  updateSelRing();
  renderTrackList();
  renderAlertList();
  refreshTrackCard();
  if (S.selectedTrack) {
    if (S.tracks.has(S.selectedTrack) || !S.live) loadTrail(S.selectedTrack);
  }
  if (S.openMmsi && !replay) {
    const vt = S.tracks.get('ais:' + S.openMmsi);
    if (vt) updateVesselPosition(vt);
  }
  markReady();
}

function applyTracks(arr) {
  if (!Array.isArray(arr)) return;
  let maxT = 0;
  for (const t of arr) {
    prepTrack(t);
    if (t._ms > maxT) maxT = t._ms;
    S.tracks.set(t.id, t);
    upsertMarker(t);
    if (S.openMmsi && t.mmsi === S.openMmsi) updateVesselPosition(t);
    if (S.selectedTrack === t.id) {
      refreshTrackCard();
      if (trailLines) for (const l of trailLines) l.addLatLng([t.position.lat, t.position.lon]);
    }
  }
  if (maxT > S.liveClock) S.liveClock = maxT;
  if (S.live) S.clock = S.liveClock;
  scheduleRender('tracks');
}

function upsertAlert(a, opts) {
  prepAlert(a);
  if (!S.live) {
    // In a replay only the triage (which is current) is merged.
    const cur = S.alerts.get(a.id);
    if (cur) { cur.triage = a.triage; cur._v = ++version; scheduleRender('alerts'); }
    if (S.selectedAlert === a.id) refreshAlertDetail();
    return;
  }
  const isNew = !S.seenAlerts.has(a.id);
  S.seenAlerts.add(a.id);
  if (a.state !== 'open') {
    S.alerts.delete(a.id);
    removeAlertMarker(a.id);
  } else {
    S.alerts.set(a.id, a);
    syncAlertMarker(a);
    if (isNew && !(opts && opts.quietNew) && (a.severity === 'critical' || RESCUE_KINDS.has(a.kind))) {
      toast(`${a.severity.toUpperCase()}: ${kindLabel(a.kind)} at ${fmtPos(a.position.lat, a.position.lon)} — ${fmtHMS(a._ms)}`, 'crit');
      const b = $('#critical-badge');
      b.classList.remove('flash'); void b.offsetWidth; b.classList.add('flash');
    }
  }
  updateCriticalBadge();
  scheduleRender('alerts');
  if (S.selectedAlert === a.id) refreshAlertDetail();
  if (S.openMmsi && (a.mmsi || []).includes(S.openMmsi)) debounceVesselRefresh();
}

let vesselRefreshTimer = 0;
function debounceVesselRefresh() {
  clearTimeout(vesselRefreshTimer);
  vesselRefreshTimer = setTimeout(() => { if (S.openMmsi) openVessel(S.openMmsi, { quiet: true }); }, 1500);
}

/** Every 30 s: dim tracks gone quiet, drop those past the live window. */
function maintenance() {
  if (!S.live || !S.liveClock) return;
  let changed = false;
  for (const t of Array.from(S.tracks.values())) {
    if (S.liveClock - t._ms > LIVE_WINDOW_MS) {
      S.tracks.delete(t.id);
      removeMarker(t.id);
      changed = true;
      continue;
    }
    const stale = S.liveClock - t._ms > STALE_MS;
    if (stale !== t._stale) {
      t._stale = stale;
      t._v = ++version;
      upsertMarker(t);
      changed = true;
    }
  }
  if (changed) scheduleRender('tracks');
}

// ------------------------------------------------------------------ live stream

function startLive() {
  if (S.es) S.es.close();
  const es = new EventSource('/api/live');
  S.es = es;
  es.addEventListener('hello', () => {
    setLink('live', true, 'Live updates connected');
    S.lastEventWall = Date.now();
    if (S.live) fetchPicture();
  });
  es.addEventListener('tracks', (e) => {
    S.lastEventWall = Date.now();
    let arr;
    try { arr = JSON.parse(e.data); } catch (x) { return; }
    if (S.live) applyTracks(arr);
    else {
      for (const t of arr) { const ms = parseTime(t.time); if (ms > S.liveClock) S.liveClock = ms; }
    }
  });
  es.addEventListener('alert', (e) => {
    let a;
    try { a = JSON.parse(e.data); } catch (x) { return; }
    if (S.live) upsertAlert(a);
  });
  es.addEventListener('incident', (e) => {
    try { addIncident(JSON.parse(e.data)); } catch (x) { /* ignore */ }
  });
  es.addEventListener('resync', () => { if (S.live) fetchPicture(); });
  es.addEventListener('clock', (e) => {
    let c;
    try { c = JSON.parse(e.data); } catch (x) { return; }
    const ms = parseTime(c.time);
    if (!(ms > S.liveClock)) return;
    S.liveClock = ms;
    if (S.live) { S.clock = ms; updateClock(); }
  });
  es.onopen = () => setLink('live', true, 'Live updates connected');
  es.onerror = () => {
    setLink('live', false, 'Live updates lost — reconnecting');
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (e.g. the session ended): find out, then try again.
      setTimeout(async () => {
        if (S.es !== es) return;
        try {
          await api('GET', '/api/me');
          startLive();
        } catch (err) {
          if (err.status !== 401) setTimeout(() => { if (S.es === es) startLive(); }, 5000);
        }
      }, 2000);
    }
  };
}

// ------------------------------------------------------------------ lists

const dirty = new Set();
let renderTimer = 0;
let lastRender = 0;
function scheduleRender(what) {
  dirty.add(what);
  if (renderTimer) return;
  const wait = Math.max(0, 400 - (performance.now() - lastRender));
  renderTimer = setTimeout(renderDirty, wait);
}
function renderDirty() {
  renderTimer = 0;
  lastRender = performance.now();
  const d = new Set(dirty);
  dirty.clear();
  if (d.has('tracks')) renderTrackList();
  if (d.has('alerts')) renderAlertList();
}

/** Put `ids` in `container` in order, reusing rows; moves as few rows as possible. */
function reconcile(container, ids, rows, create) {
  const want = new Set(ids);
  for (const [id, el] of rows) {
    if (!want.has(id)) { el.remove(); rows.delete(id); }
  }
  let prev = null;
  for (const id of ids) {
    let el = rows.get(id);
    if (!el) { el = create(id); rows.set(id, el); }
    const at = prev ? prev.nextSibling : container.firstChild;
    if (at !== el) container.insertBefore(el, at);
    prev = el;
  }
}

function inView(lat, lon) {
  return !S.filters.area || !viewBounds || viewBounds.contains([lat, lon]);
}

// --- tracks

const trackRows = new Map();

function cmpTrack(a, b) {
  const sa = a.category === 'sart' ? 1 : 0;
  const sb = b.category === 'sart' ? 1 : 0;
  if (sa !== sb) return sb - sa;
  if ((b.open_alerts || 0) !== (a.open_alerts || 0)) return (b.open_alerts || 0) - (a.open_alerts || 0);
  return a._lbl < b._lbl ? -1 : a._lbl > b._lbl ? 1 : 0;
}

function renderTrackList() {
  const list = $('#track-list');
  if (!list) return;
  const q = S.search.trim().toLowerCase();
  const arr = [];
  for (const t of S.tracks.values()) {
    if (!trackVisible(t)) continue;
    if (!inView(t.position.lat, t.position.lon)) continue;
    if (q && !t._q.includes(q)) continue;
    arr.push(t);
  }
  arr.sort(cmpTrack);
  const shown = arr.length > TRACK_LIST_CAP ? arr.slice(0, TRACK_LIST_CAP) : arr;
  reconcile(list, shown.map((t) => t.id), trackRows, createTrackRow);
  for (const t of shown) {
    const el = trackRows.get(t.id);
    if (el && el._v !== t._v) updateTrackRow(el, t);
    if (el) el.classList.toggle('selected', S.selectedTrack === t.id);
  }
  $('#track-count').textContent = arr.length === S.tracks.size ? `${arr.length}` : `${arr.length} of ${S.tracks.size}`;
  $('#track-more').textContent = arr.length > shown.length
    ? `${shown.length} shown of ${arr.length}: search or zoom in to narrow.` : (arr.length ? '' : 'No track matches.');
}

function createTrackRow(id) {
  return h('div', { class: 'trk', role: 'listitem', tabindex: '0', 'data-track-id': id },
    h('span', { class: 'sym' }),
    h('span', { class: 'lbl' }),
    h('span', { class: 'badge', hidden: true }),
    h('span', { class: 'age' }),
    h('div', { class: 'sub' }, h('span', { class: 'pos' }), h('span', { class: 'kin' })));
}

function updateTrackRow(el, t) {
  el._v = t._v;
  const c = catOf(t.category);
  const sym = el.children[0];
  sym.className = `sym sym-${t.kind === 'unit' ? 'square' : t.kind === 'sighting' ? 'diamond' : t.kind === 'radar' ? 'radar' : c.shape}`;
  sym.style.setProperty('--c', t.kind === 'unit' ? CAT.patrol.color : t.kind === 'sighting' ? CAT.sighting.color : t.kind === 'radar' ? CAT.radar.color : c.color);
  sym.title = c.label;
  el.children[1].textContent = t.label;
  const badge = el.children[2];
  badge.hidden = !t.open_alerts;
  badge.textContent = t.open_alerts ? String(t.open_alerts) : '';
  badge.title = t.open_alerts ? `${t.open_alerts} open alert(s)` : '';
  el.children[3].textContent = fmtHMS(t._ms).replace(' UTC', '');
  el.children[3].title = `last report ${fmtUTC(t._ms)}`;
  el.classList.toggle('stale', !!t._stale);
  el.classList.toggle('sart', t.category === 'sart');
  const sub = el.children[4];
  sub.children[0].textContent = fmtPos(t.position.lat, t.position.lon);
  sub.children[1].textContent = num(t.sog_kn) || num(t.cog_deg)
    ? `${fmtKn(t.sog_kn)} · ${fmtDeg(t.cog_deg)}` : (t.detail ? t.detail : '');
}

// --- alerts

const alertRows = new Map();
let alertRenderDeferred = false;

function cmpAlert(a, b) {
  const ga = a.triage.status === 'dismissed' ? 1 : 0;
  const gb = b.triage.status === 'dismissed' ? 1 : 0;
  if (ga !== gb) return ga - gb;
  const oa = outsideArea(a) ? 1 : 0;
  const ob = outsideArea(b) ? 1 : 0;
  if (oa !== ob) return oa - ob;
  if (a._rank !== b._rank) return b._rank - a._rank;
  if (a._ms !== b._ms) return b._ms - a._ms;
  return a.id < b.id ? -1 : 1;
}

function renderAlertList() {
  const list = $('#alert-list');
  if (!list) return;
  const arr = [];
  for (const a of S.alerts.values()) {
    if (!alertVisible(a)) continue;
    if (!inView(a.position.lat, a.position.lon)) continue;
    arr.push(a);
  }
  arr.sort(cmpAlert);
  const shown = arr.length > ALERT_LIST_CAP ? arr.slice(0, ALERT_LIST_CAP) : arr;
  const focusInside = list.contains(document.activeElement) && document.activeElement !== list &&
    document.activeElement.tagName === 'INPUT';
  if (focusInside) {
    // Someone is typing in a row: don't move rows now, only refresh what they show.
    alertRenderDeferred = true;
    for (const a of shown) {
      let el = alertRows.get(a.id);
      if (!el) { el = createAlertRow(a.id); alertRows.set(a.id, el); list.append(el); }
    }
  } else {
    alertRenderDeferred = false;
    reconcile(list, shown.map((a) => a.id), alertRows, createAlertRow);
  }
  for (const a of shown) {
    const el = alertRows.get(a.id);
    if (el && el._v !== a._v) updateAlertRow(el, a);
    if (el) el.classList.toggle('selected', S.selectedAlert === a.id);
  }
  const total = S.alerts.size;
  let crit = 0;
  let outside = 0;
  for (const a of S.alerts.values()) {
    if (a.severity === 'critical' && a.triage.status !== 'dismissed') crit += 1;
    if (outsideArea(a) && !S.filters.outside) outside += 1;
  }
  $('#alert-count').textContent = (arr.length === total ? `${total} open` : `${arr.length} of ${total} open`) +
    (crit ? ` · ${crit} critical` : '') + (outside ? ` · ${outside} outside our area hidden` : '');
  $('#alert-more').textContent = arr.length > shown.length
    ? `${shown.length} shown of ${arr.length}: narrow the filters.` : (arr.length ? '' : (total ? 'No alert matches the filters.' : 'No open alerts.'));
}

function createAlertRow(id) {
  const el = h('div', { class: 'alert', role: 'listitem', tabindex: '0', 'data-alert-id': id },
    h('div', { class: 'a-head' },
      h('span', { class: 'sev' }),
      h('span', { class: 'kind' }),
      h('span', { class: 'a-time' })),
    h('div', { class: 'a-where' }),
    h('ul', { class: 'reasons' }),
    h('div', { class: 'a-tri' }, h('span', { class: 'tri-label', text: 'Triage: ' }), h('span', { class: 'triage' }), h('span', { class: 'tri-more' })));
  if (can('triage_alerts')) {
    el.append(
      h('div', { class: 'actions' },
        h('div', { class: 'act-row' },
          h('button', { type: 'button', class: 'ack', title: 'The watch has seen it' }, 'Acknowledge'),
          h('button', { type: 'button', class: 'escalate', title: 'Open an incident for it' }, 'Escalate'),
          h('input', { type: 'text', class: 'assignee', value: S.me.name, list: 'assignees', 'aria-label': 'Assign to (user name)', spellcheck: 'false', autocomplete: 'off' }),
          h('button', { type: 'button', class: 'assign' }, 'Assign')),
        h('div', { class: 'act-row' },
          h('input', { type: 'text', class: 'reason', placeholder: 'Reason (needed to dismiss)', 'aria-label': 'Reason for dismissal', autocomplete: 'off' }),
          h('button', { type: 'button', class: 'dismiss' }, 'Dismiss'))),
      h('div', { class: 'a-msg', role: 'status' }));
  }
  return el;
}

function whoLabel(a) {
  const parts = [];
  for (const m of a.mmsi || []) {
    const t = S.tracks.get('ais:' + m);
    parts.push(t ? t.label : `MMSI ${m}`);
  }
  for (const c of a.contacts || []) {
    const t = S.tracks.get(c);
    parts.push(t ? t.label : c);
  }
  return parts.join(' · ');
}

function triageMore(tr) {
  const bits = [];
  if (tr.assignee) bits.push(`to ${tr.assignee}`);
  if (tr.incident) bits.push(tr.incident);
  if (tr.by) bits.push(`by ${tr.by}`);
  if (tr.at) bits.push(fmtShort(parseTime(tr.at)));
  if (tr.reason) bits.push(`“${tr.reason}”`);
  return bits.length ? ' — ' + bits.join(', ') : '';
}

function updateAlertRow(el, a) {
  el._v = a._v;
  el.className = `alert sev-${a.severity} tri-${a.triage.status}` + (S.selectedAlert === a.id ? ' selected' : '');
  const sev = $('.sev', el);
  sev.textContent = a.severity.toUpperCase();
  $('.kind', el).textContent = kindLabel(a.kind);
  const tm = $('.a-time', el);
  tm.textContent = fmtShort(a._ms);
  tm.title = `revision ${a.revision} at ${fmtUTC(a._ms)}; started ${fmtUTC(parseTime(a.start))}`;
  const who = whoLabel(a);
  $('.a-where', el).textContent = fmtPos(a.position.lat, a.position.lon) + (who ? ' · ' + who : '') +
    (a.outside_area ? ' · outside our area' : '');
  const ul = $('.reasons', el);
  ul.textContent = '';
  for (const r of a.reasons || []) ul.append(h('li', { text: r }));
  $('.triage', el).textContent = a.triage.status;
  $('.tri-more', el).textContent = triageMore(a.triage);
  if (can('triage_alerts')) applyActionState(el, a);
}

function applyActionState(el, a) {
  const st = a.triage.status;
  const closed = st === 'dismissed' || st === 'escalated';
  const rescue = RESCUE_KINDS.has(a.kind);
  const mayDismiss = !closed && (!rescue || S.me.role === 'sar_coordinator');
  const busy = el.classList.contains('busy');
  $('.ack', el).disabled = busy || st !== 'new';
  $('.escalate', el).disabled = busy || closed;
  $('.assign', el).disabled = busy || closed;
  $('.assignee', el).disabled = closed;
  $('.dismiss', el).disabled = busy || !mayDismiss;
  $('.reason', el).disabled = !mayDismiss;
  $('.dismiss', el).title = rescue && S.me.role !== 'sar_coordinator'
    ? 'Only the SAR mission coordinator may dismiss a rescue alert' : 'Dismiss: no action needed (reason required)';
  if (rescue && S.me.role !== 'sar_coordinator') $('.reason', el).placeholder = 'Rescue alert: SMC only';
}

async function doTriage(id, action, el) {
  const msg = $('.a-msg', el);
  msg.textContent = '';
  msg.className = 'a-msg';
  let body = {};
  if (action === 'assign') {
    const u = $('.assignee', el).value.trim() || S.me.name;
    body = { user: u };
  } else if (action === 'dismiss') {
    const reason = $('.reason', el).value.trim();
    if (!reason) {
      msg.textContent = 'Type a reason to dismiss this alert.';
      msg.classList.add('err');
      $('.reason', el).focus();
      return;
    }
    body = { reason };
  }
  el.classList.add('busy');
  for (const b of $$('.actions button', el)) b.disabled = true;
  try {
    const view = await api('POST', `/api/alerts/${encodeURIComponent(id)}/${action}`, body);
    if (action === 'dismiss') $('.reason', el).value = '';
    el.classList.remove('busy');
    upsertAlert(view, { quietNew: true });
    const cur = S.alerts.get(id);
    if (cur) updateAlertRow(el, cur); else updateAlertRow(el, prepAlert(view));
    const t = view.triage || {};
    msg.textContent = {
      ack: `Acknowledged by ${t.by || S.me.name}.`,
      assign: `Assigned to ${t.assignee || body.user}.`,
      dismiss: 'Dismissed.',
      escalate: `Escalated to incident ${t.incident || ''}.`,
    }[action];
    msg.classList.add('ok');
    const said = msg.textContent;
    setTimeout(() => { if (msg.textContent === said) { msg.textContent = ''; msg.className = 'a-msg'; } }, 10000);
    if (action === 'escalate') loadIncidents();
  } catch (e) {
    msg.textContent = errText(e);
    msg.classList.add('err');
  } finally {
    el.classList.remove('busy');
    const cur = S.alerts.get(id);
    if (cur) applyActionState(el, cur);
  }
}

function updateCriticalBadge() {
  const b = $('#critical-badge');
  if (!b) return;
  let n = 0;
  let unack = 0;
  for (const a of S.alerts.values()) {
    if (a.severity !== 'critical') continue;
    const st = a.triage.status;
    if (st === 'dismissed') continue;
    n += 1;
    if (st === 'new') unack += 1;
  }
  b.hidden = n === 0;
  b.textContent = `${n} CRITICAL` + (unack ? ` · ${unack} new` : '');
  b.classList.toggle('unack', unack > 0);
  document.title = (unack ? `(${unack}) ` : '') + 'Tidewatch — operations console';
}

function focusFirstCritical() {
  const arr = Array.from(S.alerts.values()).filter((a) => a.severity === 'critical' && a.triage.status !== 'dismissed');
  arr.sort((a, b) => (a.triage.status === 'new' ? 0 : 1) - (b.triage.status === 'new' ? 0 : 1) || b._ms - a._ms);
  if (arr.length) selectAlert(arr[0].id, { zoom: true, scroll: true });
}

// ------------------------------------------------------------------ selection: alerts

let alertDetailSeq = 0;
async function selectAlert(id, opts) {
  const o = Object.assign({ zoom: true, scroll: false }, opts || {});
  const prev = S.selectedAlert;
  S.selectedAlert = id;
  if (prev && prev !== id) { const pa = S.alerts.get(prev); if (pa) syncAlertMarker(pa); }
  const a = S.alerts.get(id);
  if (a) syncAlertMarker(a);
  for (const [aid, el] of alertRows) el.classList.toggle('selected', aid === id);
  if (o.scroll) { const el = alertRows.get(id); if (el) el.scrollIntoView({ block: 'nearest' }); }
  // A different vessel's card stays open only when the alert concerns it.
  if (a && S.openMmsi && !(a.mmsi || []).includes(S.openMmsi)) closeVessel();
  if (a && S.selectedTrack && !S.selectedTrack.startsWith('ais:') && !(a.contacts || []).includes(S.selectedTrack)) closeTrack();
  const card = $('#alert-detail');
  card.hidden = false;
  if (!card.firstChild || card.dataset.id !== id) {
    card.textContent = '';
    card.append(h('div', { class: 'card-head' }, h('div', { class: 'name', text: a ? kindLabel(a.kind) : id }),
      h('button', { type: 'button', class: 'close', 'data-close': 'alert', title: 'Close (Esc)' }, '×')),
    h('div', { class: 'card-body muted', text: 'Loading…' }));
  }
  card.dataset.id = id;
  if (a && o.zoom) showOnMap(L.latLng(a.position.lat, a.position.lon), Math.max(map.getZoom(), 10), false);
  else if (a) showOnMap(L.latLng(a.position.lat, a.position.lon), null, true);
  await refreshAlertDetail();
}

async function refreshAlertDetail() {
  const id = S.selectedAlert;
  if (!id) return;
  const seq = ++alertDetailSeq;
  try {
    const d = await api('GET', `/api/alerts/${encodeURIComponent(id)}`);
    if (seq !== alertDetailSeq || S.selectedAlert !== id) return;
    renderAlertDetail(d);
  } catch (e) {
    if (seq !== alertDetailSeq) return;
    const card = $('#alert-detail');
    const body = $('.card-body', card);
    if (body) { body.className = 'card-body form-error'; body.textContent = errText(e); }
  }
}

function kv(dl, k, v, cls) {
  if (v == null || v === '') return;
  dl.append(h('dt', { text: k }), h('dd', { class: cls || null }, v));
}

function renderAlertDetail(d) {
  const a = d.alert;
  const card = $('#alert-detail');
  card.textContent = '';
  card.dataset.id = a.id;
  card.className = `card sev-${a.severity}`;
  const head = h('div', { class: 'card-head' },
    h('div', null,
      h('div', { class: 'name' }, h('span', { class: `chip sev-bg-${a.severity}`, text: a.severity.toUpperCase() }), ' ', kindLabel(a.kind)),
      h('div', { class: 'sub muted', text: a.id })),
    h('button', { type: 'button', class: 'close', 'data-close': 'alert', title: 'Close (Esc)' }, '×'));
  const body = h('div', { class: 'card-body' });
  const dl = h('dl', { class: 'kv' });
  kv(dl, 'State', `${a.state} (revision ${a.revision})`);
  kv(dl, 'Revised', fmtUTC(parseTime(a.time)));
  kv(dl, 'Started', fmtUTC(parseTime(a.start)));
  if (a.end) kv(dl, 'Ended', fmtUTC(parseTime(a.end)));
  kv(dl, 'Position', fmtPos(a.position.lat, a.position.lon));
  kv(dl, 'Confidence', `${Number(a.score).toFixed(2)} (0–1)`);
  kv(dl, 'Rule', a.rule);
  if ((a.mmsi || []).length) {
    kv(dl, 'Vessels', h('span', null, (a.mmsi || []).map((m, i) => [i ? ', ' : '',
      h('a', { href: '#', class: 'vlink', 'data-mmsi': String(m) }, (S.tracks.get('ais:' + m) || {}).label || String(m))])));
  }
  if ((a.contacts || []).length) {
    kv(dl, 'Contacts', h('span', null, a.contacts.map((c, i) => [i ? ', ' : '',
      h('a', { href: '#', class: 'tlink', 'data-track': c }, (S.tracks.get(c) || {}).label || c)])));
  }
  const tr = a.triage || {};
  kv(dl, 'Triage', `${tr.status}${triageMore(tr)}`, 'tri-' + tr.status);
  body.append(dl);
  body.append(h('h3', { text: 'Reasons' }), h('ul', { class: 'reasons' }, (a.reasons || []).map((r) => h('li', { text: r }))));

  if (a.search_plan) {
    const p = a.search_plan;
    const pdl = h('dl', { class: 'kv' });
    if (p.datum && p.datum.position) kv(pdl, 'Datum', `${fmtPos(p.datum.position.lat, p.datum.position.lon)}, radius ${Number(p.datum.radius_nm).toFixed(1)} NM`);
    if (p.area) kv(pdl, 'Search area', `${Number(p.area.length_nm).toFixed(1)} × ${Number(p.area.width_nm).toFixed(1)} NM (${Number(p.area.area_nm2).toFixed(1)} NM²)`);
    if (num(p.leeway_kn)) kv(pdl, 'Leeway', `${p.leeway_kn.toFixed(2)} kn toward ${fmtDeg(p.downwind_deg)}`);
    if (num(p.hours)) kv(pdl, 'Drift time', `${p.hours.toFixed(2)} h`);
    if (p.expanding_square) kv(pdl, 'Expanding square', `first leg ${fmtDeg(p.expanding_square.first_leg_deg)}, track ${Number(p.expanding_square.track_nm).toFixed(1)} NM`);
    body.append(h('h3', { text: 'Search plan' }), pdl);
  }
  drawSearchPlan(a);

  const params = a.params && typeof a.params === 'object' ? Object.entries(a.params) : [];
  if (params.length) {
    body.append(h('details', { class: 'params' }, h('summary', { text: 'Rule parameters' }),
      h('dl', { class: 'kv' }, params.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: typeof v === 'object' ? JSON.stringify(v) : String(v) })]))));
  }

  const revs = (d.revisions || []).slice().reverse();
  body.append(h('h3', { text: `Revisions (${revs.length})` }));
  const rt = h('table', { class: 'grid small' },
    h('thead', null, h('tr', null, h('th', { text: 'Rev' }), h('th', { text: 'Time' }), h('th', { text: 'Severity' }), h('th', { text: 'State' }), h('th', { text: 'Conf.' }))));
  const rb = h('tbody');
  for (const r of revs) {
    rb.append(h('tr', { title: (r.reasons || []).join('\n') },
      h('td', { text: String(r.revision) }), h('td', { text: fmtShort(parseTime(r.time)) }),
      h('td', null, h('span', { class: `sev-text-${r.severity}`, text: r.severity })), h('td', { text: r.state }),
      h('td', { text: Number(r.score).toFixed(2) })));
  }
  rt.append(rb);
  body.append(rt);

  const acts = (d.actions || []).slice().reverse();
  body.append(h('h3', { text: `Actions (${acts.length})` }));
  if (!acts.length) body.append(h('div', { class: 'muted small', text: 'No triage action yet.' }));
  else {
    const ul = h('ul', { class: 'actions-log' });
    for (const x of acts) {
      const det = x.detail && typeof x.detail === 'object'
        ? Object.entries(x.detail).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ') : '';
      ul.append(h('li', null, h('span', { class: 'muted', text: fmtShort(parseTime(x.time)) }), ' ',
        h('b', { text: (x.action || '').replace(/^alert_/, '') }), ' by ', `${x.user || 'system'}${x.role ? ' (' + x.role + ')' : ''}`,
        det ? h('div', { class: 'small muted', text: det }) : null));
    }
    body.append(ul);
  }
  card.append(head, body);
}

function drawSearchPlan(a) {
  if (planLayer) { overlayGroup.removeLayer(planLayer); planLayer = null; }
  const p = a && a.search_plan;
  if (!p || !map) return;
  const g = L.layerGroup();
  const o = { renderer: overR, pane: 'overlays', interactive: false };
  try {
    if (p.area && Array.isArray(p.area.corners)) {
      g.addLayer(L.polygon(p.area.corners.map((c) => [c.lat, c.lon]), Object.assign({ color: '#f2b33d', weight: 1.5, dashArray: '6 4', fillColor: '#f2b33d', fillOpacity: 0.06 }, o)));
    }
    for (const [d, col] of [[p.datum, '#ff6b6b'], [p.datum_left, '#f2b33d'], [p.datum_right, '#f2b33d']]) {
      if (d && d.position && num(d.radius_nm)) {
        g.addLayer(L.circle([d.position.lat, d.position.lon], Object.assign({ radius: d.radius_nm * 1852, color: col, weight: 1, fill: false, dashArray: '2 3' }, o)));
      }
    }
    if (p.expanding_square && Array.isArray(p.expanding_square.waypoints)) {
      g.addLayer(L.polyline(p.expanding_square.waypoints.map((w) => [w.lat, w.lon]), Object.assign({ color: '#ffd27a', weight: 1, opacity: 0.8 }, o)));
    }
  } catch (e) { /* a plan of another shape: skip drawing */ }
  planLayer = g;
  overlayGroup.addLayer(g);
}

function closeAlert() {
  const prev = S.selectedAlert;
  S.selectedAlert = null;
  $('#alert-detail').hidden = true;
  $('#alert-detail').dataset.id = '';
  if (planLayer) { overlayGroup.removeLayer(planLayer); planLayer = null; }
  for (const el of alertRows.values()) el.classList.remove('selected');
  const a = prev && S.alerts.get(prev);
  if (a) syncAlertMarker(a);
}

// ------------------------------------------------------------------ selection: tracks, vessels

let trailSeq = 0;
function openTrack(id, opts) {
  const o = Object.assign({ pan: true, keepAlert: false }, opts || {});
  const t = S.tracks.get(id);
  S.selectedTrack = id;
  for (const [tid, el] of trackRows) el.classList.toggle('selected', tid === id);
  updateSelRing();
  if (!o.keepAlert && S.selectedAlert) {
    const a = S.alerts.get(S.selectedAlert);
    const related = a && (((a.mmsi || []).some((m) => 'ais:' + m === id)) || (a.contacts || []).includes(id));
    if (!related) closeAlert();
  }
  loadTrail(id);
  const isAis = (t && t.kind === 'ais') || id.startsWith('ais:');
  if (isAis) {
    $('#track-card').hidden = true;
    const mmsi = t && t.mmsi ? t.mmsi : parseInt(id.slice(4), 10);
    openVessel(mmsi);
  } else {
    closeVessel(true);
    renderTrackCard(id);
  }
  // After the card is shown, so the track is not left under it.
  if (t && map) showOnMap(L.latLng(t.position.lat, t.position.lon), null, true);
}

async function loadTrail(id) {
  const seq = ++trailSeq;
  if (trailLayer) { overlayGroup.removeLayer(trailLayer); trailLayer = null; }
  trailLines = null;
  const ref = S.live ? (S.liveClock || Date.now()) : S.replayAt;
  const from = isoSec(ref - 3600 * 1000);
  const to = isoSec(ref + (S.live ? 60 * 1000 : 0));
  try {
    const pts = await api('GET', `/api/tracks/${encodeURIComponent(id)}/trail?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    if (seq !== trailSeq || S.selectedTrack !== id || !map) return;
    const lls = (pts || []).map((p) => [p.lat, p.lon]);
    const t = S.tracks.get(id);
    if (t && S.live) lls.push([t.position.lat, t.position.lon]);
    const g = L.layerGroup();
    const bg = L.polyline(lls, { renderer: overR, pane: 'overlays', color: '#0a121c', weight: 5, opacity: 0.6, interactive: false });
    const fg = L.polyline(lls, { renderer: overR, pane: 'overlays', color: '#dfe8f2', weight: 2, opacity: 0.9, interactive: false });
    g.addLayer(bg);
    g.addLayer(fg);
    trailLines = S.live ? [bg, fg] : null;
    for (const p of pts || []) {
      g.addLayer(L.circleMarker([p.lat, p.lon], { renderer: overR, pane: 'overlays', radius: 1.8, color: '#dfe8f2', weight: 1, fill: true, fillOpacity: 1, interactive: false }));
    }
    trailLayer = g;
    overlayGroup.addLayer(g);
    const card = S.openMmsi ? $('#vessel-card') : $('#track-card');
    const note = card && $('.trail-note', card);
    if (note) note.textContent = `Trail: ${(pts || []).length} points in the last hour`;
  } catch (e) {
    if (e.status !== 404 && e.status !== 401) toast(`Trail: ${errText(e)}`, 'err');
  }
}

function closeTrack() {
  S.selectedTrack = null;
  trailSeq += 1;
  trailLines = null;
  if (trailLayer) { overlayGroup.removeLayer(trailLayer); trailLayer = null; }
  $('#track-card').hidden = true;
  for (const el of trackRows.values()) el.classList.remove('selected');
  updateSelRing();
}

function trackSubtitle(t) {
  if (t.kind === 'unit') return `Patrol unit${t.unit ? ' ' + t.unit : ''}`;
  if (t.kind === 'radar') return `Radar contact${t.unit ? ' of ' + t.unit : ''}`;
  if (t.kind === 'sighting') return `Sighting${t.unit ? ' reported by ' + t.unit : ''}`;
  return `${catOf(t.category).label} · ${t.kind.toUpperCase()}`;
}

function renderTrackCard(id) {
  const card = $('#track-card');
  const t = S.tracks.get(id);
  card.textContent = '';
  card.hidden = false;
  card.dataset.id = id;
  const head = h('div', { class: 'card-head' },
    h('div', null, h('div', { class: 'name', text: t ? t.label : id }),
      h('div', { class: 'sub muted', text: t ? trackSubtitle(t) : 'not in the picture' })),
    h('button', { type: 'button', class: 'close', 'data-close': 'track', title: 'Close (Esc)' }, '×'));
  const body = h('div', { class: 'card-body' });
  if (t) {
    const dl = h('dl', { class: 'kv' });
    kv(dl, 'Position', fmtPos(t.position.lat, t.position.lon), 'pos-line');
    kv(dl, 'SOG', fmtKn(t.sog_kn));
    kv(dl, 'COG', fmtDeg(t.cog_deg));
    if (num(t.heading_deg)) kv(dl, 'Heading', fmtDeg(t.heading_deg));
    kv(dl, 'Reported', `${fmtUTC(t._ms)} (${fmtAge(t._ms)})`);
    if (t.detail) kv(dl, t.kind === 'unit' ? 'State' : 'Detail', t.detail);
    if (t.open_alerts) kv(dl, 'Open alerts', String(t.open_alerts));
    body.append(dl);
    if (t.taskings && t.taskings.length) {
      body.append(h('h3', { text: 'Taskings' }));
      const ul = h('ul', { class: 'taskings' });
      for (const k of t.taskings) {
        ul.append(h('li', null,
          h('b', { text: k.kind.replace(/_/g, ' ') }), ' — ', h('span', { class: `task-${k.status}`, text: k.status }),
          ` · ${fmtShort(parseTime(k.time))}`,
          h('div', { text: k.instructions }),
          h('div', { class: 'muted small', text: `datum ${fmtPos(k.datum.lat, k.datum.lon)}${k.reason ? ' · declined: ' + k.reason : ''}` }),
          h('a', { href: '#', class: 'alink', 'data-alert': k.alert }, 'Show the alert')));
      }
      body.append(ul);
    }
  }
  body.append(h('div', { class: 'trail-note muted small' }));
  card.append(head, body);
}

let trackCardTimer = 0;
function refreshTrackCard() {
  if (!S.selectedTrack || S.selectedTrack.startsWith('ais:')) return;
  if (trackCardTimer) return;
  trackCardTimer = setTimeout(() => {
    trackCardTimer = 0;
    const card = $('#track-card');
    if (!card.hidden && S.selectedTrack && card.dataset.id === S.selectedTrack) {
      const note = $('.trail-note', card);
      const keep = note ? note.textContent : '';
      renderTrackCard(S.selectedTrack);
      const n2 = $('.trail-note', card);
      if (n2) n2.textContent = keep;
    }
  }, 1000);
}

let vesselSeq = 0;
async function openVessel(mmsi, opts) {
  const quiet = opts && opts.quiet;
  if (!num(mmsi)) return;
  const card = $('#vessel-card');
  const seq = ++vesselSeq;
  if (S.openMmsi !== mmsi) {
    S.openMmsi = mmsi;
    const t = S.tracks.get('ais:' + mmsi);
    $('.name', card).textContent = t ? t.label : `MMSI ${mmsi}`;
    $('.mmsi', card).textContent = String(mmsi);
    $('.flag', card).textContent = '';
    $('.vessel-facts', card).textContent = '';
    for (const c of ['.risk', '.identity-history', '.alerts', '.nearby']) $(c, card).textContent = '…';
    $('.card-msg', card).textContent = '';
  }
  card.hidden = false;
  try {
    const v = await api('GET', `/api/vessels/${mmsi}`);
    if (seq !== vesselSeq || S.openMmsi !== mmsi) return;
    renderVesselCard(v);
  } catch (e) {
    if (seq !== vesselSeq) return;
    if (!quiet) $('.card-msg', card).textContent = errText(e);
  }
}

function renderVesselCard(v) {
  const card = $('#vessel-card');
  card.dataset.mmsi = String(v.mmsi);
  const live = S.tracks.get('ais:' + v.mmsi);
  const t = live || v.track;
  $('.name', card).textContent = v.name || (t && t.label) || 'Name not reported';
  $('.mmsi', card).textContent = String(v.mmsi);
  $('.flag', card).textContent = v.flag ? `· ${v.flag}` : '· flag unknown';
  const dl = $('.vessel-facts', card);
  dl.textContent = '';
  kv(dl, 'Call sign', v.callsign || '—');
  kv(dl, 'IMO', v.imo ? String(v.imo) : '—');
  kv(dl, 'Type', shipTypeText(v.ship_type));
  kv(dl, 'Length', num(v.length_m) ? `${v.length_m} m` : '—');
  kv(dl, 'Destination', v.destination || '—');
  if (t) {
    kv(dl, 'Position', fmtPos(t.position.lat, t.position.lon), 'pos-line');
    kv(dl, 'SOG / COG', `${fmtKn(t.sog_kn)} / ${fmtDeg(t.cog_deg)}`, 'kin-line');
    kv(dl, 'Heading', fmtDeg(t.heading_deg), 'hdg-line');
    const ms = parseTime(t.time);
    kv(dl, 'Last report', `${fmtUTC(ms)} (${fmtAge(ms)})`, 'time-line');
  } else {
    kv(dl, 'Position', 'not in the live picture');
  }
  kv(dl, 'Reports', `${v.reports} messages`);
  if (!S.live) kv(dl, 'Note', 'Card shows current data, not the replay time.');

  const risk = $('.risk', card);
  risk.textContent = '';
  const score = num(v.risk && v.risk.score) ? v.risk.score : 0;
  const lvl = score >= 0.7 ? 'high' : score >= 0.4 ? 'medium' : score > 0 ? 'low' : 'none';
  risk.append(h('div', { class: 'risk-line' },
    h('span', { class: `risk-score risk-${lvl}`, text: `${score.toFixed(2)} / 1` }),
    h('span', { class: 'risk-bar' }, h('span', { class: `risk-fill risk-${lvl}`, style: `width:${Math.round(score * 100)}%` }))));
  if (v.risk && v.risk.reasons && v.risk.reasons.length) {
    risk.append(h('ul', { class: 'reasons' }, v.risk.reasons.map((r) => h('li', { text: r }))));
  } else {
    risk.append(h('div', { class: 'muted small', text: 'Nothing known against it.' }));
  }

  const ih = $('.identity-history', card);
  ih.textContent = '';
  const hist = (v.identity_history || []).slice().reverse();
  if (!hist.length) ih.append(h('div', { class: 'muted small', text: 'No identity data reported.' }));
  else {
    const tb = h('tbody');
    for (const c of hist) {
      tb.append(h('tr', { class: c.from != null ? 'changed' : null, title: c.position ? `at ${fmtPos(c.position.lat, c.position.lon)}` : null },
        h('td', { text: fmtShort(parseTime(c.time)) }),
        h('td', { text: c.field.replace(/_/g, ' ') }),
        h('td', null, c.from != null ? [h('s', { class: 'muted', text: c.from }), ' → '] : null,
          c.field === 'ship_type' ? shipTypeText(Number(c.to)) : c.to)));
    }
    ih.append(h('table', { class: 'grid small' },
      h('thead', null, h('tr', null, h('th', { text: 'Time' }), h('th', { text: 'Field' }), h('th', { text: 'Value' }))), tb));
  }

  const al = $('.alerts', card);
  al.textContent = '';
  if (!(v.alerts || []).length) al.append(h('div', { class: 'muted small', text: 'No alerts.' }));
  else {
    const ul = h('ul', { class: 'link-list' });
    for (const a of v.alerts) {
      ul.append(h('li', null, h('a', { href: '#', class: 'alink', 'data-alert': a.id },
        h('span', { class: `chip sev-bg-${a.severity}`, text: a.severity }), ' ', kindLabel(a.kind)),
      h('span', { class: 'muted small', text: ` ${fmtShort(parseTime(a.time))} · ${a.state} · ${a.triage ? a.triage.status : ''}` })));
    }
    al.append(ul);
  }

  const nb = $('.nearby', card);
  nb.textContent = '';
  if (!(v.nearby || []).length) nb.append(h('div', { class: 'muted small', text: 'Nothing within 10 NM.' }));
  else {
    const ul = h('ul', { class: 'link-list' });
    for (const n of v.nearby) {
      ul.append(h('li', null, h('a', { href: '#', class: 'tlink', 'data-track': n.id, text: n.label }),
        h('span', { class: 'nb-fig', text: ` ${fmtNM(n.distance_m)} · ${fmtDeg(n.bearing_deg)}` })));
    }
    nb.append(ul);
  }
  if (!$('.trail-note', card)) $('.card-body', card).append(h('div', { class: 'trail-note muted small' }));
  $('.card-msg', card).textContent = '';
}

function updateVesselPosition(t) {
  const card = $('#vessel-card');
  if (card.hidden) return;
  const p = $('dd.pos-line', card);
  if (p) p.textContent = fmtPos(t.position.lat, t.position.lon);
  const k = $('dd.kin-line', card);
  if (k) k.textContent = `${fmtKn(t.sog_kn)} / ${fmtDeg(t.cog_deg)}`;
  const hd = $('dd.hdg-line', card);
  if (hd) hd.textContent = fmtDeg(t.heading_deg);
  const tm = $('dd.time-line', card);
  if (tm) tm.textContent = `${fmtUTC(t._ms)} (${fmtAge(t._ms)})`;
}

function closeVessel(keepTrack) {
  S.openMmsi = null;
  vesselSeq += 1;
  $('#vessel-card').hidden = true;
  if (!keepTrack && S.selectedTrack && S.selectedTrack.startsWith('ais:')) closeTrack();
}

// ------------------------------------------------------------------ replay

let replayFetchTimer = 0;
function onReplayInput(immediate) {
  const slider = $('#replay');
  const m = parseInt(slider.value, 10) || 0;
  if (m <= 0) { goLive(); return; }
  if (S.live) {
    S.replayAnchor = S.liveClock || Date.now();
    S.live = false;
  }
  S.replayAt = S.replayAnchor - m * 60 * 1000;
  S.clock = S.replayAt;
  document.body.classList.add('replay');
  const label = `REPLAY ${fmtHM(S.replayAt)}`;
  $('#replay-label').textContent = label;
  const banner = $('#replay-banner');
  banner.hidden = false;
  banner.textContent = `${label} — ${fmtUTC(S.replayAt).slice(0, 10)}, ${m} min before ${fmtHM(S.replayAnchor)} · live updates paused`;
  updateClock();
  clearTimeout(replayFetchTimer);
  replayFetchTimer = setTimeout(fetchPicture, immediate ? 0 : 250);
}

function goLive() {
  clearTimeout(replayFetchTimer);
  const was = S.live;
  S.live = true;
  S.replayAnchor = 0;
  S.replayAt = 0;
  $('#replay').value = '0';
  $('#replay-label').textContent = 'LIVE';
  $('#replay-banner').hidden = true;
  document.body.classList.remove('replay');
  S.clock = S.liveClock;
  updateClock();
  if (!was) fetchPicture();
}

// ------------------------------------------------------------------ filters

function loadFilters() {
  try {
    const f = JSON.parse(localStorage.getItem(FILTER_KEY) || 'null');
    if (!f) return;
    S.filters.kind = typeof f.kind === 'string' ? f.kind : '';
    S.filters.severity = SEVERITIES.includes(f.severity) ? f.severity : '';
    if (Array.isArray(f.cats)) S.filters.cats = new Set(f.cats.filter((c) => CAT[c]));
    S.filters.area = !!f.area;
  } catch (e) { /* defaults */ }
}
function saveFilters() {
  try {
    localStorage.setItem(FILTER_KEY, JSON.stringify({
      kind: S.filters.kind, severity: S.filters.severity, cats: Array.from(S.filters.cats), area: S.filters.area,
    }));
  } catch (e) { /* private mode */ }
}

let filtersInit = false;
function initFilters() {
  if (filtersInit) return;
  filtersInit = true;
  loadFilters();
  const kind = $('#filter-kind');
  for (const [k, label] of ALERT_KINDS) kind.append(h('option', { value: k, text: label }));
  const cats = $('#filter-category');
  for (const [k, label, color, shape] of CATEGORIES) {
    cats.append(h('label', { class: 'check cat', title: k },
      h('input', { type: 'checkbox', value: k, checked: S.filters.cats.has(k) }),
      h('span', { class: `sym sym-${shape}`, style: `--c:${color}` }),
      h('span', { text: label })));
  }
  syncFilterInputs();
  kind.addEventListener('change', () => { S.filters.kind = kind.value; filtersChanged(); });
  $('#filter-severity').addEventListener('change', () => { S.filters.severity = $('#filter-severity').value; filtersChanged(); });
  cats.addEventListener('change', (e) => {
    const cb = e.target;
    if (!cb || cb.type !== 'checkbox') return;
    if (cb.checked) S.filters.cats.add(cb.value); else S.filters.cats.delete(cb.value);
    filtersChanged();
  });
  $('#filter-area').addEventListener('change', () => { S.filters.area = $('#filter-area').checked; filtersChanged(); });
  $('#filter-outside').addEventListener('change', () => { S.filters.outside = $('#filter-outside').checked; filtersChanged(); });
  $('#filter-reset').addEventListener('click', () => {
    S.filters = { kind: '', severity: '', cats: new Set(CATEGORIES.map((c) => c[0])), area: false, outside: false };
    syncFilterInputs();
    filtersChanged();
  });
}

function syncFilterInputs() {
  $('#filter-kind').value = S.filters.kind;
  $('#filter-severity').value = S.filters.severity;
  $('#filter-area').checked = S.filters.area;
  $('#filter-outside').checked = S.filters.outside;
  for (const cb of $$('#filter-category input[type=checkbox]')) cb.checked = S.filters.cats.has(cb.value);
  updateFilterNote();
}

function updateFilterNote() {
  const f = S.filters;
  const bits = [];
  if (f.kind) bits.push(kindLabel(f.kind));
  if (f.severity) bits.push(`≥ ${f.severity}`);
  const hidden = CATEGORIES.length - f.cats.size;
  if (hidden) bits.push(`${hidden} categor${hidden > 1 ? 'ies' : 'y'} hidden`);
  if (f.area) bits.push('map area');
  const note = $('#filter-note');
  note.textContent = bits.length ? `· ${bits.join(', ')}` : '';
  $('#filters').classList.toggle('active', bits.length > 0);
}

function filtersChanged() {
  saveFilters();
  updateFilterNote();
  if (map) viewBounds = map.getBounds();
  for (const t of S.tracks.values()) {
    const m = markers.get(t.id);
    const vis = trackVisible(t);
    if (m && vis !== m._shown) upsertMarker(t);
  }
  for (const a of S.alerts.values()) syncAlertMarker(a);
  renderTrackList();
  renderAlertList();
}

// ------------------------------------------------------------------ incidents

async function loadIncidents() {
  try {
    const list = await api('GET', '/api/incidents');
    S.incidents = list || [];
    renderIncidents();
  } catch (e) { /* shown elsewhere */ }
}
function addIncident(inc) {
  if (!inc || !inc.id) return;
  const i = S.incidents.findIndex((x) => x.id === inc.id);
  if (i >= 0) S.incidents[i] = inc; else S.incidents.push(inc);
  renderIncidents();
}
function renderIncidents() {
  const el = $('#incident-list');
  if (!el) return;
  el.textContent = '';
  const arr = S.incidents.slice().sort((a, b) => parseTime(b.created_at) - parseTime(a.created_at));
  $('#incident-count').textContent = arr.length ? String(arr.length) : '';
  if (!arr.length) { el.append(h('div', { class: 'muted small pad', text: 'No incidents.' })); return; }
  for (const i of arr) {
    el.append(h('div', { class: 'inc', tabindex: '0', role: 'button', 'data-incident-id': i.id, 'data-alert': (i.alerts || [])[0] || '' },
      h('div', null, h('span', { class: `chip inc-${i.kind}`, text: i.kind === 'sar' ? 'SAR' : 'LE' }), ' ', h('b', { text: i.id })),
      h('div', { class: 'inc-title', text: i.title }),
      h('div', { class: 'muted small', text: `${fmtShort(parseTime(i.created_at))} · by ${i.created_by}` },
        ' ', h('button', { type: 'button', class: 'ilog-open small', 'data-ilog': i.id, title: 'The incident\'s interception log' }, 'Log'),
        can('view_case') ? h('button', { type: 'button', class: 'case-open small', 'data-case': i.id, title: 'Article-8 cases, persons, place of safety, evidence' }, 'Case') : null)));
  }
}

// ------------------------------------------------------------------ interception log

const LOG_EVENTS = ['note', 'hail', 'flag_claim', 'message_out', 'message_in', 'headcount', 'transfer',
  'medevac', 'death', 'decision', 'imminent_danger_action'];

async function openLog(id) {
  $('#status').hidden = true; stopStatusPolling();
  $('#audit').hidden = true;
  const d = $('#ilog');
  d.hidden = false;
  d.dataset.incident = id;
  $('#ilog-incident').textContent = id;
  await loadLog(id);
}

async function loadLog(id) {
  const body = $('#ilog-body');
  try {
    renderLog(await api('GET', `/api/incidents/${encodeURIComponent(id)}/log`));
  } catch (e) {
    body.textContent = `Cannot load the log: ${e.message || e}`;
  }
}

function renderLog(log) {
  const body = $('#ilog-body');
  body.textContent = '';
  const n = (log.entries || []).length;
  body.append(log.first_break == null
    ? h('div', { class: 'chain-ok', text: `Hash chain verified: ${n} entries, none altered. Head ${log.head.slice(0, 16)}…` })
    : h('div', { class: 'chain-bad', text: `HASH CHAIN BROKEN at ${log.first_break}` }));
  if (can('record_interception')) {
    const ev = h('select', { id: 'ilog-event', 'aria-label': 'What happened' }, ...LOG_EVENTS.map((e) => h('option', { value: e, text: e.replace(/_/g, ' ') })));
    const why = h('textarea', { id: 'ilog-why', rows: '2', maxlength: '4000', placeholder: 'What happened, and why (required)', 'aria-label': 'Why' });
    const ago = h('input', { id: 'ilog-ago', type: 'number', min: '0', max: '10080', placeholder: 'min ago', 'aria-label': 'Minutes ago, if recorded after the fact' });
    const late = h('input', { id: 'ilog-late', type: 'text', maxlength: '2000', placeholder: 'why only now (if late)', 'aria-label': 'Why recorded only now' });
    const go = h('button', { id: 'ilog-record', type: 'button' }, 'Record');
    go.addEventListener('click', async () => {
      const req = { event: ev.value, why: why.value.trim() };
      if (!req.why) { toast('Say what happened and why.'); return; }
      if (ago.value !== '') req.late = { minutes_ago: parseInt(ago.value, 10), reason: late.value.trim() };
      try {
        renderLog(await api('POST', `/api/incidents/${encodeURIComponent(log.incident)}/log`, req));
        toast('Recorded in the interception log.');
      } catch (e) { toast(`Not recorded: ${e.message || e}`); }
    });
    body.append(h('div', { class: 'ilog-form' }, ev, why, h('div', null, ago, ' ', late, ' ', go)));
  }
  const tb = h('tbody');
  for (const e of (log.entries || []).slice().reverse()) {
    const what = e.corrects ? `${e.event} of #${e.corrects}` : e.event;
    tb.append(h('tr', { 'data-seq': String(e.seq) },
      h('td', { text: String(e.seq) }),
      h('td', { text: fmtUTC(parseTime(e.occurred_at)) }),
      h('td', { text: fmtUTC(parseTime(e.recorded_at)) + (e.late_reason ? ` (late: ${e.late_reason})` : '') }),
      h('td', { text: `${e.actor.user} (${e.actor.role})` }),
      h('td', { text: what.replace(/_/g, ' ') }),
      h('td', { class: 'detail', text: e.why })));
  }
  body.append(h('table', { class: 'grid small' },
    h('thead', null, h('tr', null, ...['#', 'occurred', 'recorded', 'who', 'what', 'why'].map((t) => h('th', { text: t })))), tb));
}

// ------------------------------------------------------------------ partner liaison

/** What was released to the liaison officer's State, incident by incident (R52). */
async function loadReleased() {
  const box = $('#no-access');
  box.textContent = '';
  try {
    const r = await api('GET', '/api/released');
    box.append(h('h2', { text: `Released to ${r.state}` }));
    if (!r.incidents.length) box.append(h('p', { class: 'muted', text: 'Nothing has been released to your State.' }));
    for (const inc of r.incidents) {
      box.append(h('div', { class: 'case-sec', 'data-released': inc.incident }, h('h3', { text: inc.incident }),
        ...inc.items.map((i) => h('div', { class: 'small' }, h('b', { text: i.id }),
          ` · from ${i.originator} (${i.originator_ref})${i.no_further_dissemination ? ' · NO FURTHER DISSEMINATION' : ''}`,
          h('div', { text: i.content })))));
    }
  } catch (e) {
    box.append(h('p', { text: `Cannot load what was released: ${e.message || e}` }));
  }
}

// ------------------------------------------------------------------ case file

const MEASURES = ['board', 'search', 'detain_vessel', 'divert_to_port', 'seize_cargo', 'seize_evidence', 'apprehend_persons'];
const MSG = [['authority', 'text', 'Counterpart authority'], ['channel', 'text', 'Channel'], ['our_ref', 'text', 'Our reference'],
  ['their_ref', 'text', 'Their reference'], ['content', 'area', 'Content (hashed)']];
const CASE = ['case', 'int', 'Art-8 case #', 1];
/** Each action's fields: [name, kind, label, default]. Kinds: text, area, int, num, bool,
 *  list (comma-separated), measures, msg (a message group), welfare, files, select:a|b. */
const ACTION_FIELDS = {
  open_art8: [['target', 'text', 'Target vessel'], ['vessel_kind', 'select:private|warship|naval_auxiliary|government_non_commercial', 'Vessel kind'], ['grounds', 'area', 'Grounds for suspicion']],
  notify_flag_state: [CASE, ['flag', 'text', 'Claimed flag (ISO 2)'], ['message', 'msg']],
  registry_reply: [CASE, ['confirmed', 'bool', 'Registry confirmed'], ['message', 'msg']],
  request_authorization: [CASE, ['measures', 'measures', 'Measures asked for'], ['message', 'msg']],
  deemed_authorization: [CASE],
  record_authorization: [CASE, ['reference', 'text', 'Authorization reference'], ['issued_by', 'text', 'Issued by (official)'],
    ['measures', 'measures', 'Measures authorized'], ['conditions', 'lines', 'Conditions (one per line)'], ['valid_hours', 'num', 'Valid for (hours)'],
    ['registry_in_same_reply', 'bool', 'Same reply confirms registry'], ['message', 'msg']],
  record_refusal: [CASE, ['grounds', 'area', 'Grounds the reply gives (if any)'], ['message', 'msg']],
  stateless_determination: [CASE, ['facts', 'area', 'Facts (art. 8(7))']],
  acknowledge_condition: [CASE, ['condition', 'int', 'Condition #', 1]],
  board: [CASE, ['unit', 'text', 'Unit']],
  search: [CASE],
  search_outcome: [CASE, ['evidence', 'bool', 'Evidence of smuggling found'], ['damage_or_delay', 'text', 'Damage or delay caused']],
  finalise_boarding: [CASE, ['welfare', 'welfare']],
  measure: [CASE, ['kind', 'select:' + MEASURES.join('|'), 'Measure'], ['unit', 'text', 'Unit']],
  condition_compliance: [CASE, ['condition', 'int', 'Condition #', 1], ['complied', 'bool', 'Complied with']],
  report_results: [CASE, ['message', 'msg']],
  decide_compensation: [CASE, ['decision', 'area', 'Decision']],
  close_art8: [CASE],
  withdraw_art8: [CASE, ['reason', 'area', 'Reason'], ['message', 'msg']],
  imminent_danger: [['action', 'text', 'Action taken'], ['danger', 'text', 'Danger'], ['persons_at_risk', 'int', 'Persons at risk']],
  rescue: [['unit', 'text', 'Unit'], ['count', 'int', 'Persons taken on board']],
  headcount: [['unit', 'text', 'Unit'], ['alive', 'int', 'Alive'], ['deceased', 'int', 'Deceased', 0]],
  vulnerability: [['tag', 'text', 'Person tag'], ['flag', 'select:MED_EMERG|UASC|PREGNANT|VOT', 'Flag'], ['over', 'bool', 'The medical emergency is over (treated, stabilised)']],
  asylum: [['tag', 'text', 'Person tag'], ['summary', 'area', 'What the person said'], ['blocked_states', 'list', 'States feared (ISO 2, comma-separated)']],
  referral: [['tag', 'text', 'Person tag'], ['to', 'text', 'Referred to (authority, agency)'], ['reasons', 'list', 'Why (UASC, MED_EMERG, VOT, ASYLUM…)']],
  transfer_out: [['tags', 'list', 'Person tags (comma-separated)'], ['from', 'text', 'From unit'], ['to', 'text', 'To unit'],
    ['reason', 'area', 'Why a family group is split (only if it is)']],
  medevac: [['tags', 'list', 'Persons evacuated (tags)'], ['unit', 'text', 'From unit'], ['facility', 'text', 'To (hospital, helicopter)'],
    ['reason', 'area', 'Why a medical emergency waits, or a family is split (only if so)']],
  person_missing: [['tag', 'text', 'Person tag'], ['circumstances', 'area', 'What happened']],
  person_found: [['tag', 'text', 'Person tag'], ['unit', 'text', 'Unit that has them now']],
  person_died: [['tag', 'text', 'Person tag'], ['circumstances', 'area', 'What is known']],
  transfer_received: [['transfer', 'int', 'Transfer #'], ['tags', 'list', 'Person tags received']],
  detain: [['tag', 'text', 'Person (tag)'], ['legal_basis', 'text', 'Legal basis'], ['consular_rights_informed_at', 'text', 'Consular rights told at (ISO time with offset)'], ['consular_not_applicable', 'text', 'Or: why consular notification does not apply']],
  family: [['tags', 'list', 'Persons (tags) kept together'], ['protection_approval', 'area', 'Protection officer\'s approval (a child alone with adults)']],
  age: [['tag', 'text', 'Person (tag)'], ['years', 'int', 'Age, years'], ['provenance', 'select:declared|observed', 'Where it came from (an assessed age, with its method and assessor, through the API)']],
  nationality: [['tag', 'text', 'Person (tag)'], ['state', 'text', 'Nationality (ISO 2)'], ['provenance', 'select:declared|observed', 'Where it came from (an assessed one, with its method and assessor, through the API)']],
  close_incident: [['reconciliation', 'area', 'Reconciliation note (if the headcounts and tags differ)']],
  place_of_safety: [['name', 'text', 'Port or facility'], ['state', 'text', 'Its State (ISO 2)'], ['rationale', 'area', 'Why this place']],
  protection_override: [['tag', 'text', 'Person tag'], ['state', 'text', 'State (ISO 2)'], ['justification', 'area', 'Justification']],
  disembark: [['unit', 'text', 'Unit']],
  suspect: [['tag', 'text', 'Person tag'], ['offences', 'list', 'Offences (smuggling, document_fraud, enabling_stay)'], ['grounds', 'area', 'Grounds']],
  seize: [['description', 'text', 'Exhibit'], ['found', 'text', 'Found where'], ['seal', 'text', 'Seal number'], ['place', 'text', 'Held at'],
    ['case', 'int', 'Under art-8 case # (blank: other basis)'], ['legal_basis', 'text', 'Other legal basis'], ['files', 'files', 'Files (photos, images)']],
  custody_transfer: [['exhibit', 'text', 'Exhibit number'], ['to', 'text', 'To (user)'], ['seal', 'text', 'Seal as seen'], ['place', 'text', 'Where']],
  custody_receive: [['exhibit', 'text', 'Exhibit number'], ['seal', 'text', 'Seal as seen']],
  reseal: [['exhibit', 'text', 'Exhibit number'], ['seal', 'text', 'New seal'], ['reason', 'area', 'Why it was opened']],
  mla_request: [['to', 'text', 'Central authority'], ['our_ref', 'text', 'Our reference'], ['requesting_authority', 'text', '(a) Requesting authority'],
    ['subject_and_nature', 'area', '(b) Subject and nature of the investigation'], ['facts_summary', 'area', '(c) Summary of the facts'],
    ['assistance_sought', 'area', '(d) Assistance sought'], ['persons_concerned', 'text', '(e) Persons concerned (where possible)'],
    ['purpose', 'area', '(f) Purpose'], ['service_of_documents', 'bool', 'Only to serve judicial documents'],
    ['persons', 'list', 'Persons of this incident it concerns (tags): it goes to no State they fear'], ['state', 'text', 'State it goes to (ISO 2)']],
  interview: [['tag', 'text', 'Person tag'], ['as_suspect', 'bool', 'As a suspect'], ['language', 'text', 'Language'],
    ['interviewer_languages', 'list', 'Interviewer speaks (comma-separated)'], ['interpreter_language', 'text', 'Interpreter: language'],
    ['interpreter_id', 'text', 'Interpreter: name, accreditation'], ['legal_advice_given', 'bool', 'Legal advice given']],
  info_item: [['content', 'area', 'Information'], ['evidence', 'bool', 'Usable as evidence (else intelligence only)'],
    ['originator', 'text', 'Originating State (ISO 2)'], ['originator_ref', 'text', 'Originator reference'],
    ['purposes', 'list', 'Permitted purposes (investigation, prosecution, sar, intelligence, statistics)'],
    ['recipients', 'list', 'May be shared with (ISO 2, comma-separated)'], ['no_further_dissemination', 'bool', 'No further dissemination'],
    ['exculpatory', 'bool', 'Exculpatory'],
    ['persons', 'list', 'Persons of this incident it concerns (tags): released to no State they fear']],
  release: [['item', 'text', 'Item (IX-n)'], ['to_state', 'text', 'Release to State (ISO 2)']],
  incoming_request: [['requesting_state', 'text', 'Requesting State (ISO 2)'], ['authority', 'text', 'Its authority'],
    ['their_ref', 'text', 'Their reference'], ['our_ref', 'text', 'Our reference']],
  incoming_registry: [['request', 'int', 'Request #', 1], ['result', 'select:confirmed|not_entitled|unknown', 'Our registry says'],
    ['evidence', 'text', 'Registry evidence consulted']],
  incoming_decision: [['request', 'int', 'Request #', 1], ['measures', 'measures', 'Measures granted (none: refused)'],
    ['conditions', 'lines', 'Conditions (one per line)'], ['jurisdiction_reserved', 'bool', 'We reserve jurisdiction']],
  incoming_respond: [['request', 'int', 'Request #', 1]],
  incoming_results: [['request', 'int', 'Request #', 1]],
  originator_consent: [['item', 'text', 'Item (IX-n)'], ['purpose', 'text', 'Purpose consented'], ['reference', 'text', 'Consent reference']],
  disclosure_notice: [['item', 'text', 'Item (IX-n)'], ['before', 'bool', 'Given before the disclosure'], ['text', 'area', 'Reference, or why only after']],
};
/** Actions that happen at sea: a position is required (R18). */
const AT_SEA = new Set(['board', 'search', 'measure', 'imminent_danger', 'rescue', 'seize', 'transfer_out', 'medevac',
  'person_missing', 'person_found']);

async function openCase(id) {
  $('#status').hidden = true; stopStatusPolling();
  $('#audit').hidden = true;
  $('#ilog').hidden = true;
  const d = $('#case');
  d.hidden = false;
  d.dataset.incident = id;
  $('#case-incident').textContent = id;
  try {
    renderCase(await api('GET', `/api/incidents/${encodeURIComponent(id)}/case`));
  } catch (e) {
    $('#case-body').textContent = `Cannot load the case file: ${e.message || e}`;
  }
}

function caseField(f, prefix) {
  const [name, kind, label, dflt] = f;
  const id = `cf-${prefix}${name}`;
  if (kind === 'msg') return MSG.map((m) => caseField(m, `${prefix}${name}-`));
  if (kind === 'welfare') {
    return [['injuries', 'text', 'Injuries'], ['medical_care', 'text', 'Medical care'], ['food_water', 'text', 'Food and water'],
      ['use_of_force', 'text', 'Use of force']].map((m) => caseField(m, `${prefix}${name}-`));
  }
  let input;
  if (kind === 'area' || kind === 'lines') input = h('textarea', { id, rows: '2' });
  else if (kind === 'int' || kind === 'num') input = h('input', { id, type: 'number', step: kind === 'int' ? '1' : 'any', value: dflt == null ? null : String(dflt) });
  else if (kind === 'bool') input = h('input', { id, type: 'checkbox' });
  else if (kind === 'files') input = h('input', { id, type: 'file', multiple: true });
  else if (kind === 'measures') {
    input = h('span', { id }, ...MEASURES.map((m) => h('label', null, h('input', { type: 'checkbox', value: m, 'data-measure': m }), ` ${m.replace(/_/g, ' ')} `)));
  } else if (kind.startsWith('select:')) {
    input = h('select', { id }, ...kind.slice(7).split('|').map((o) => h('option', { value: o, text: o.replace(/_/g, ' ') })));
  } else input = h('input', { id, type: 'text' });
  return [h('label', { for: id, text: label || name }), input];
}

function readField(f, prefix) {
  const [name, kind] = f;
  const id = `cf-${prefix}${name}`;
  if (kind === 'msg') {
    const o = {};
    for (const m of MSG) { const v = readField(m, `${prefix}${name}-`); if (v !== undefined) o[m[0]] = v; }
    return o;
  }
  if (kind === 'welfare') {
    const o = {};
    for (const k of ['injuries', 'medical_care', 'food_water', 'use_of_force']) o[k] = $(`#cf-${prefix}${name}-${k}`).value;
    return o;
  }
  const el = document.getElementById(id);
  if (kind === 'bool') return el.checked;
  if (kind === 'measures') return [...el.querySelectorAll('input:checked')].map((x) => x.value);
  if (kind === 'files') return undefined;
  const v = el.value.trim();
  if (kind === 'int' || kind === 'num') return v === '' ? undefined : Number(v);
  if (kind === 'list') return v ? v.split(',').map((x) => x.trim()).filter(Boolean) : [];
  if (kind === 'lines') return v ? v.split('\n').map((x) => x.trim()).filter(Boolean) : [];
  const optional = ['their_ref', 'damage_or_delay', 'legal_basis', 'persons_concerned', 'consular_rights_informed_at',
    'consular_not_applicable', 'protection_approval', 'reconciliation'];
  return v === '' && optional.includes(name) ? undefined : v;
}

async function uploadFiles(incident, input) {
  const out = [];
  for (const file of input.files || []) {
    const r = await fetch(`/api/incidents/${encodeURIComponent(incident)}/evidence-files`, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/octet-stream', 'X-CSRF-Token': S.csrf || '' },
      body: await file.arrayBuffer(),
    });
    const d = await r.json().catch(() => ({}));
    if (!r.ok) throw new ApiError(r.status, d.error, d.message);
    out.push({ name: file.name, sha256: d.sha256 });
  }
  return out;
}

function renderCase(v) {
  const body = $('#case-body');
  body.textContent = '';
  for (const p of v.problems || []) body.append(h('div', { class: 'case-problem', text: `INTEGRITY: ${p}` }));
  for (const r of v.legal_reviews || []) body.append(h('div', { class: 'case-review', text: `Legal review: ${r}` }));
  for (const r of v.sla_alerts || []) body.append(h('div', { class: 'case-problem', text: `Flag-State request overdue: ${r}` }));
  for (const r of v.transfer_alerts || []) body.append(h('div', { class: 'case-problem', text: `Transfer overdue: ${r}` }));
  for (const r of v.headcount_discrepancies || []) body.append(h('div', { class: 'case-problem', text: `Headcount discrepancy: ${r}` }));
  if (v.closed) body.append(h('div', { class: 'case-review', text: `Closed by ${v.closed[0]} at ${v.closed[1]}: only rescue actions are taken` }));
  // Article-8 cases
  const a8 = h('div', { class: 'case-sec', id: 'case-art8' }, h('h3', { text: 'Article 8 (flag-State request and boarding)' }));
  if (!v.art8.length) a8.append(h('div', { class: 'muted small', text: 'No article-8 case.' }));
  for (const c of v.art8) {
    const au = c.authorization;
    a8.append(h('div', { 'data-art8': String(c.number) },
      h('div', null, h('b', { text: `#${c.number} ${c.target}` }), ' · ', h('span', { class: 'case-state', text: c.state.replace(/_/g, ' ') }),
        c.flag_state ? ` · flag ${c.flag_state}` : '', c.basis ? ` · basis ${JSON.stringify(c.basis).replace(/"/g, '')}` : ''),
      au ? h('div', { class: 'small' }, `Authorization ${au.reference} by ${au.issued_by}: ${au.measures.join(', ').replace(/_/g, ' ')}`,
        au.valid_to ? ` until ${fmtUTC(parseTime(au.valid_to))}` : '',
        h('ol', null, ...au.conditions.map((k) => h('li', { text: `${k.text} — ${k.acknowledged ? 'acknowledged by ' + k.acknowledged[0] : 'NOT acknowledged'}${k.complied == null ? '' : k.complied ? ', complied' : ', NOT complied'}` })))) : null,
      c.boarding ? h('div', { class: 'small', text: `Boarded by ${c.boarding[0].name} at ${fmtUTC(parseTime(c.boarding[1]))}${c.boarding[2] ? ' (report finalised)' : ''}` }) : null,
      c.measures.length ? h('div', { class: 'small', text: `Measures: ${c.measures.map((m) => `${m[0]} ${m[1]}`).join(', ')}` }) : null));
  }
  for (const [i, r] of (v.incoming || []).entries()) {
    a8.append(h('div', { class: 'small', 'data-incoming': String(i + 1) },
      h('b', { text: `Request #${i + 1} from ${r.requesting_state}` }), ` (${r.authority}, their ref ${r.their_ref}) · ${r.state.replace(/_/g, ' ')}`,
      r.responded_at ? ` · answered ${fmtUTC(parseTime(r.responded_at))}` : ' · not answered yet'));
  }
  body.append(a8);
  // Persons
  const p = v.persons;
  const ps = h('div', { class: 'case-sec', id: 'case-persons' }, h('h3', { text: `Persons: ${p.total} rescued` }),
    h('div', { class: 'small', text: Object.entries(p.by_status).map(([k, n]) => `${n} ${k}`).join(' · ') || 'None yet.' }));
  const hc = p.headcounts[p.headcounts.length - 1];
  if (hc) ps.append(h('div', { class: 'small', text: `Last headcount on ${hc.unit}: ${hc.alive} alive, ${hc.deceased} deceased (${hc.by}, ${fmtUTC(parseTime(hc.at))})` }));
  const flagged = p.people.filter((x) => x.flags.length || x.asylum_expressed);
  if (flagged.length) ps.append(h('ul', { class: 'small' }, ...flagged.map((x) => h('li', { text: `${x.tag}: ${x.flags.join(', ')}${x.asylum_expressed ? ' · asked for protection' : ''}${x.asylum ? ` (${x.asylum.summary}; fears ${x.asylum.blocked_states.join(', ')})` : ''}` }))));
  for (const r of p.referrals || []) ps.append(h('div', { class: 'small', text: `Referral: ${r.tag} to ${r.to} (${r.reasons.join(', ')}), by ${r.by}` }));
  body.append(ps);
  // Place of safety and disembarkation
  const pos = v.place_of_safety;
  body.append(h('div', { class: 'case-sec', id: 'case-pos' }, h('h3', { text: 'Place of safety and disembarkation' }),
    h('div', { class: 'small', text: pos ? `${pos.name} (${pos.state}), decided by ${pos.decided[0]}: ${pos.rationale}` : 'No place of safety decided yet.' }),
    ...v.disembarkations.map((d) => h('div', { class: 'small', text: `${d.tags.length} disembarked from ${d.unit} at ${d.port}, ${fmtUTC(parseTime(d.at))}; landing order ${d.tags.slice(0, 4).join(', ')}${d.tags.length > 4 ? ', …' : ''}` }))));
  // Evidence
  const ev = h('div', { class: 'case-sec', id: 'case-evidence' }, h('h3', { text: 'Evidence register' }));
  const exs = Array.isArray(v.evidence.exhibits) ? v.evidence.exhibits : Object.values(v.evidence.exhibits || {});
  if (!exs.length) ev.append(h('div', { class: 'muted small', text: 'No exhibits.' }));
  for (const x of exs) {
    const last = x.custody ? x.custody[x.custody.length - 1] : null;
    ev.append(h('div', { class: 'small', 'data-exhibit': x.number },
      h('b', { text: x.number }), ` · ${x.status.replace(/_/g, ' ')}`,
      x.description ? ` · ${x.description}` : '',
      last ? ` · held by ${last.to}, seal ${last.seal}` : (x.holder ? ` · held by ${x.holder}` : ''),
      x.files ? ` · ${x.files.length} file(s), SHA-256 ${x.files.map((f) => f.sha256.slice(0, 12) + '…').join(', ')}` : ''));
  }
  if (v.evidence.manifests) ev.append(h('div', { class: 'muted small', text: `${v.evidence.manifests.length} signed manifests, chained.` }));
  if (v.evidence.restricted) ev.append(h('div', { class: 'muted small', text: v.evidence.restricted }));
  body.append(ev);
  if ((v.items || []).length) {
    body.append(h('div', { class: 'case-sec', id: 'case-items' }, h('h3', { text: 'Information exchanged (caveats)' }),
      ...v.items.map((i) => h('div', { class: 'small', 'data-item': i.id },
        h('b', { text: i.id }), ` · from ${i.originator} (${i.originator_ref}) · ${String(i.evidential).replace(/_/g, ' ')}`,
        i.released_to.length ? ` · released to ${i.released_to.join(', ')}` : '',
        i.content ? h('div', { text: i.content }) : h('div', { class: 'muted', text: i.withheld || 'content withheld' })))));
  }
  // Export
  if (can('export_case')) {
    const out = h('div', { id: 'case-export-out', class: 'small' });
    const ex = h('button', { id: 'case-export', type: 'button' }, 'Export for court');
    ex.addEventListener('click', async () => {
      try {
        const r = await api('POST', `/api/incidents/${encodeURIComponent(v.incident)}/export`, {});
        out.textContent = `Exported and verified: ${r.log_entries} log entries (head ${r.log_head.slice(0, 16)}…), ${r.manifests} manifests, ${r.files} files → ${r.dir}`;
        toast('Export written and verified.');
      } catch (e) { out.textContent = `Export refused: ${e.message || e}`; }
    });
    body.append(h('div', { class: 'case-sec' }, h('h3', { text: 'Investigator' }), ex, ' ',
      h('a', { id: 'case-report', href: `/api/incidents/${encodeURIComponent(v.incident)}/report`, target: '_blank', rel: 'noopener' }, 'Printable report'), ' · ',
      h('a', { id: 'case-report-pdf', href: `/api/incidents/${encodeURIComponent(v.incident)}/report.pdf`, target: '_blank', rel: 'noopener' }, 'PDF'), out));
  }
  // Act
  if (v.may.length) {
    const sel = h('select', { id: 'case-action', 'aria-label': 'Action' }, ...v.may.map((a) => h('option', { value: a, text: a.replace(/_/g, ' ') })));
    const fields = h('div', { class: 'case-act', id: 'case-fields' });
    const fill = () => {
      fields.textContent = '';
      for (const f of ACTION_FIELDS[sel.value] || []) fields.append(...[caseField(f, '')].flat(2));
      if (AT_SEA.has(sel.value)) {
        fields.append(...caseField(['lat', 'num', 'Latitude (at sea, R18)'], 'pos-'), ...caseField(['lon', 'num', 'Longitude'], 'pos-'));
      }
      fields.append(h('label', { for: 'case-why', text: 'Why' }), h('textarea', { id: 'case-why', rows: '2', maxlength: '4000', placeholder: 'What happened and why (required)' }));
    };
    sel.addEventListener('change', fill);
    fill();
    const go = h('button', { id: 'case-submit', type: 'button' }, 'Record');
    go.addEventListener('click', async () => {
      const type = sel.value;
      const action = { type };
      try {
        for (const f of ACTION_FIELDS[type] || []) {
          if (f[1] === 'files') { action.files = await uploadFiles(v.incident, $('#cf-files')); continue; }
          const val = readField(f, '');
          if (val !== undefined) action[f[0]] = val;
        }
        if ((type === 'seize') && action.case == null) delete action.case;
        if (type === 'withdraw_art8' && !(action.message && action.message.our_ref)) delete action.message;
        if (type === 'interview') {
          const { interpreter_language: language, interpreter_id: id } = action;
          delete action.interpreter_language; delete action.interpreter_id;
          if (language || id) action.interpreter = { language: language || '', id: id || '' };
        }
        const req = { action, why: $('#case-why').value.trim() };
        if (AT_SEA.has(type)) {
          const lat = $('#cf-pos-lat').value, lon = $('#cf-pos-lon').value;
          if (lat !== '' && lon !== '') req.position = { lat: Number(lat), lon: Number(lon) };
        }
        if (!req.why) { toast('Say what happened and why.'); return; }
        renderCase(await api('POST', `/api/incidents/${encodeURIComponent(v.incident)}/case`, req));
        toast(`Recorded: ${type.replace(/_/g, ' ')}.`);
      } catch (e) { toast(`Refused: ${e.message || e}`, 'crit'); }
    });
    body.prepend(h('div', { class: 'case-sec', id: 'case-act' }, h('h3', { text: 'Record' }), sel, fields, go));
  }
}

// ------------------------------------------------------------------ status

let statusTimer = 0;
let prevStatus = null;

function toggleStatus() {
  const p = $('#status');
  if (p.hidden) {
    $('#audit').hidden = true;
    p.hidden = false;
    pollStatus();
    statusTimer = setInterval(pollStatus, 5000);
  } else {
    p.hidden = true;
    stopStatusPolling();
  }
}
function stopStatusPolling() { clearInterval(statusTimer); statusTimer = 0; }

const sampleKey = (s) => s.name + '{' + Object.entries(s.labels || {}).map(([k, v]) => `${k}=${v}`).join(',') + '}';

async function pollStatus() {
  let st;
  try {
    st = await api('GET', '/api/status');
  } catch (e) {
    $('#status-body').textContent = `Status unavailable: ${errText(e)}`;
    return;
  }
  const t = parseTime(st.time);
  const vals = new Map();
  for (const s of st.samples || []) vals.set(sampleKey(s), s.value);
  let rates = null;
  if (prevStatus && t - prevStatus.t >= 2000 && t - prevStatus.t <= 60000) {
    rates = new Map();
    const dt = (t - prevStatus.t) / 1000;
    for (const [k, v] of vals) {
      const p = prevStatus.vals.get(k);
      if (p != null && v >= p) rates.set(k, (v - p) / dt);
    }
  }
  prevStatus = { t, vals };
  renderStatus(st, rates);
}

function renderStatus(st, rates) {
  const body = $('#status-body');
  body.textContent = '';
  $('#status-time').textContent = `read ${fmtHMS(parseTime(st.time))}`;
  const samples = st.samples || [];
  const by = (name) => samples.filter((s) => s.name === name);
  const one = (name) => { const s = by(name)[0]; return s ? s.value : null; };
  const rateOf = (s) => (rates ? rates.get(sampleKey(s)) : undefined);
  const fmtRate = (r) => (r == null ? (rates ? '—' : 'measuring…') : `${r < 10 ? r.toFixed(2) : r.toFixed(1)} /s`);
  const fmtN = (v) => (v == null ? '—' : Number.isInteger(v) ? v.toLocaleString('en-GB') : v.toFixed(2));

  const feed = !!st.feed_connected;
  setLink('feed', feed, feed ? 'Feed connected' : 'FEED DISCONNECTED');
  const ov = h('dl', { class: 'kv status-kv' });
  kv(ov, 'Feed', feed ? 'connected' : 'DISCONNECTED', feed ? 'ok-text' : 'bad-text');
  kv(ov, 'Picture clock', fmtUTC(parseTime(st.picture_time)));
  kv(ov, 'Server clock', fmtUTC(parseTime(st.time)));
  kv(ov, 'Tracks (picture)', fmtN(st.tracks));
  const lag = one('tidewatch_fusion_lag_seconds');
  if (lag != null) kv(ov, 'Fusion lag', `${lag.toFixed(1)} s`, Math.abs(lag) > 60 ? 'warn-text' : null);
  const oc = one('tidewatch_broker_open_connections');
  if (oc != null) kv(ov, 'Broker connections', fmtN(oc));
  const lc = one('tidewatch_console_live_clients');
  if (lc != null) kv(ov, 'Live console clients', fmtN(lc));
  const ss = one('tidewatch_console_sessions');
  if (ss != null) kv(ov, 'Sessions', fmtN(ss));
  // Disks: a full raw archive disk is critical (ingest acknowledges nothing until space returns).
  const diskFull = one('tidewatch_ingest_disk_full');
  if (diskFull != null) {
    kv(ov, 'Raw archive disk', diskFull > 0 ? 'FULL: ingest acknowledges nothing until space returns' : 'ok',
      diskFull > 0 ? 'bad-text' : 'ok-text');
  }
  const fusionStore = one('tidewatch_fusion_store_failing');
  if (fusionStore > 0) kv(ov, 'Fusion stores', 'CANNOT BE WRITTEN (disk full?): fusion acknowledges nothing until they can', 'bad-text');
  const restore = one('tidewatch_fusion_restore_seconds');
  if (restore != null) {
    const snap = one('tidewatch_fusion_restored_from_snapshot');
    kv(ov, 'Fusion state at start', `${snap > 0 ? 'snapshot' : 'no snapshot'} + ${fmtN(one('tidewatch_fusion_replayed_entries') || 0)} journal entries in ${restore.toFixed(1)} s`);
  }
  // Held acknowledgements: publishers wait for ingest, fusion and the console to have each
  // message. A wait of seconds names the consumer that holds everyone up; a loss is critical.
  const oldest = one('tidewatch_broker_held_oldest_seconds');
  if (oldest != null) {
    const slow = by('tidewatch_broker_held_waiting').filter((s) => s.value > 0)
      .sort((a, b) => b.value - a.value).map((s) => `${(s.labels || {}).consumer} (${fmtN(s.value)})`);
    const waiting = oldest >= 5;
    kv(ov, 'Publishers wait on', waiting ? `${slow.join(', ') || '?'}: oldest ${oldest.toFixed(0)} s` : 'nobody (acknowledged as kept)',
      waiting ? 'warn-text' : 'ok-text');
  }
  const released = one('tidewatch_broker_released_total');
  if (released) kv(ov, 'Must-see consumers released', `${fmtN(released)} times (away or hung 60 s; see the log)`, 'warn-text');
  for (const s of by('tidewatch_broker_lost_total').filter((x) => x.value > 0)) {
    kv(ov, `Broker lost for ${(s.labels || {}).consumer} (${(s.labels || {}).filter})`, `${fmtN(s.value)} messages (never acknowledged to their publishers)`, 'bad-text');
  }
  const fmtGB = (v) => `${(v / 1e9).toFixed(2)} GB`;
  const free = one('tidewatch_disk_free_bytes');
  if (free != null) kv(ov, 'Disk free (data)', fmtGB(free), free < 5e9 ? 'warn-text' : null);
  for (const s of by('tidewatch_store_bytes')) kv(ov, `Store: ${(s.labels || {}).store || '?'}`, fmtGB(s.value));
  body.append(ov);

  const table = (title, rows, cols) => {
    body.append(h('h3', { text: title }));
    if (!rows.length) { body.append(h('div', { class: 'muted small', text: 'none' })); return; }
    body.append(h('table', { class: 'grid small' },
      h('thead', null, h('tr', null, cols.map((c) => h('th', { text: c })))),
      h('tbody', null, rows.map((r) => h('tr', { class: r.cls || null }, r.cells.map((c) => h('td', { text: c })))))));
  };
  const lbl = (s, keys) => keys.map((k) => (s.labels || {})[k] || '').filter(Boolean).join(' · ') || '—';
  const counterRows = (name, keys, nonZeroOnly, badIfNonZero) => by(name)
    .filter((s) => !nonZeroOnly || s.value > 0)
    .map((s) => ({ cells: [lbl(s, keys), fmtN(s.value), fmtRate(rateOf(s))], cls: badIfNonZero && s.value > 0 ? 'warn-row' : null }));

  table('Ingest lines (by source, verdict)', counterRows('tidewatch_ingest_lines_total', ['source', 'verdict']), ['Source · verdict', 'Total', 'Rate']);
  table('Rejected lines (by reason)', counterRows('tidewatch_ingest_rejected_total', ['reason'], false, true), ['Reason', 'Total', 'Rate']);
  table('Observations', [
    ...by('tidewatch_ingest_observations_total').map((s) => ({ cells: [`ingest · ${lbl(s, ['kind'])}`, fmtN(s.value), fmtRate(rateOf(s))] })),
    ...by('tidewatch_fusion_observations_total').map((s) => ({ cells: [`fusion · ${lbl(s, ['kind'])}`, fmtN(s.value), fmtRate(rateOf(s))] })),
  ], ['Stage · kind', 'Total', 'Rate']);
  table('Alerts and taskings', [
    ...by('tidewatch_fusion_alert_revisions_total').map((s) => ({ cells: [`revisions · ${lbl(s, ['kind'])}`, fmtN(s.value), fmtRate(rateOf(s))] })),
    ...by('tidewatch_fusion_taskings_total').map((s) => ({ cells: ['taskings sent', fmtN(s.value), fmtRate(rateOf(s))] })),
  ], ['What', 'Total', 'Rate']);
  table('Queues', by('tidewatch_ingest_queue_depth').map((s) => ({ cells: [lbl(s, ['queue']), fmtN(s.value)], cls: s.value > 1000 ? 'warn-row' : null })), ['Queue', 'Depth']);
  const problems = samples.filter((s) => /(_errors_total|_refusals_total|_future_times_total|_out_of_order_total|_missing_total)$/.test(s.name) && s.value > 0);
  table('Errors and refusals (non-zero)', problems.map((s) => ({
    cells: [`${s.name.replace(/^tidewatch_/, '')}${Object.keys(s.labels || {}).length ? ' · ' + Object.values(s.labels).join(' · ') : ''}`, fmtN(s.value), fmtRate(rateOf(s))], cls: 'warn-row',
  })), ['Counter', 'Total', 'Rate']);

  const all = h('details', { class: 'all-samples' }, h('summary', { text: `All samples (${samples.length})` }));
  all.append(h('table', { class: 'grid small' }, h('tbody', null, samples.map((s) => h('tr', null,
    h('td', { text: sampleKey(s).replace(/^tidewatch_/, '').replace(/\{\}$/, '') }), h('td', { text: fmtN(s.value) }),
    h('td', { text: /_total$/.test(s.name) ? fmtRate(rateOf(s)) : '' }))))));
  body.append(all);
}

// ------------------------------------------------------------------ audit (oversight)

async function toggleAudit() {
  const p = $('#audit');
  if (!p.hidden) { p.hidden = true; return; }
  $('#status').hidden = true;
  stopStatusPolling();
  // One wide drawer at a time: the case file or log open would lie over its forms.
  $('#case').hidden = true;
  $('#ilog').hidden = true;
  p.hidden = false;
  loadAudit();
}

async function loadAudit() {
  const body = $('#audit-body');
  body.textContent = 'Loading…';
  try {
    let after = 0;
    let entries = [];
    let chain = null;
    for (let i = 0; i < 10; i += 1) {
      const page = await api('GET', `/api/audit?after=${after}&limit=5000`);
      chain = page.chain_broken_at;
      entries = entries.concat(page.entries || []);
      if (!page.entries || page.entries.length < 5000) break;
      after = page.entries[page.entries.length - 1].seq;
    }
    body.textContent = '';
    body.append(chain == null
      ? h('div', { class: 'chain-ok', text: `Hash chain verified: ${entries.length} entries, none altered.` })
      : h('div', { class: 'chain-bad', text: `HASH CHAIN BROKEN at entry ${chain}: the log was altered from there on.` }));
    const tb = h('tbody');
    for (const e of entries.slice().reverse()) {
      tb.append(h('tr', { class: chain != null && e.seq >= chain ? 'warn-row' : null },
        h('td', { text: String(e.seq) }), h('td', { text: fmtUTC(parseTime(e.time)) }),
        h('td', { text: e.user || '—' }), h('td', { text: e.role || '' }), h('td', { text: e.action }),
        h('td', { text: e.target || '' }), h('td', { class: 'detail', text: e.detail && Object.keys(e.detail).length ? JSON.stringify(e.detail) : '' })));
    }
    body.append(unmaskPanel(entries));
    body.append(h('table', { class: 'grid small' },
      h('thead', null, h('tr', null, ['#', 'Time', 'User', 'Role', 'Action', 'Target', 'Detail'].map((c) => h('th', { text: c })))), tb));
  } catch (e) {
    body.textContent = `Audit log unavailable: ${errText(e)}`;
  }
}

// R58: an auditor reads personal data pseudonymised unless a second auditor approved their
// justified request to unmask one incident. The requests and approvals are audit entries.
function unmaskPanel(entries) {
  const box = h('div', { class: 'unmask' });
  const approved = new Set(entries.filter((e) => e.action === 'unmask_approve').map((e) => e.detail && e.detail.request));
  const waiting = entries.filter((e) => e.action === 'unmask_request' && !approved.has(e.seq) && e.user !== S.me.name);
  box.append(h('h3', { text: 'Unmask requests (R58)' }));
  if (!waiting.length) box.append(h('div', { class: 'small', text: 'No other auditor\'s request awaits approval.' }));
  for (const e of waiting) {
    const out = h('span', { class: 'small unmask-approved' });
    const btn = h('button', { type: 'button', 'data-unmask-approve': String(e.seq) }, 'Approve');
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      try {
        const r = await api('POST', `/api/unmask/${e.seq}/approve`, {});
        out.textContent = ` approved, valid until ${fmtUTC(parseTime(r.valid_until))}`;
      } catch (err) {
        out.textContent = ` ${errText(err)}`;
        btn.disabled = false;
      }
    });
    box.append(h('div', { class: 'approval' },
      h('div', null, h('b', { text: `#${e.seq} ${e.target}` }), ` asked by ${e.user} at ${fmtUTC(parseTime(e.time))}: `,
        h('i', { text: (e.detail && e.detail.justification) || '' })), btn, out));
  }
  const incident = h('input', { id: 'unmask-incident', type: 'text', placeholder: 'incident id', 'aria-label': 'Incident to unmask' });
  const why = h('input', { id: 'unmask-why', type: 'text', placeholder: 'justification (kept in the audit log)', 'aria-label': 'Justification', size: 50 });
  const said = h('span', { id: 'unmask-said', class: 'small' });
  const ask = h('button', { id: 'unmask-ask', type: 'button' }, 'Ask to unmask');
  ask.addEventListener('click', async () => {
    try {
      const r = await api('POST', `/api/incidents/${encodeURIComponent(incident.value.trim())}/unmask`, { justification: why.value });
      said.textContent = ` request #${r.request} recorded: a second auditor approves it.`;
    } catch (err) {
      said.textContent = ` ${errText(err)}`;
    }
  });
  box.append(h('div', { class: 'small' }, incident, ' ', why, ' ', ask, said));
  return box;
}

// ------------------------------------------------------------------ accounts to approve (SAR coordinator)

// An account the administrator asked for with an operational role is approved by a second
// person, who alone receives its one-time password (separation of duties).
async function toggleApprovals() {
  const p = $('#approvals');
  if (!p.hidden) { p.hidden = true; return; }
  p.hidden = false;
  loadApprovals();
}

async function loadApprovals() {
  const body = $('#approvals-body');
  body.textContent = 'Loading…';
  try {
    const list = await api('GET', '/api/approvals');
    body.textContent = '';
    if (!list || !list.length) { body.textContent = 'No account awaits approval.'; return; }
    for (const a of list) {
      const out = h('div', { class: 'small' });
      const btn = h('button', { type: 'button', 'data-approve': a.name }, 'Approve');
      btn.addEventListener('click', async () => {
        btn.disabled = true;
        try {
          const r = await api('POST', `/api/approvals/${encodeURIComponent(a.name)}`, {});
          out.textContent = '';
          out.append('One-time password: ', h('code', { class: 'otp-code', text: r.one_time_password }),
            ' (shown once: hand it to the officer in person).');
        } catch (e) {
          out.textContent = errText(e);
          btn.disabled = false;
        }
      });
      body.append(h('div', { class: 'approval' },
        h('div', null, h('b', { text: a.name }), ` (${a.role}), asked for by ${a.requested_by} at ${fmtUTC(parseTime(a.requested_at))}`),
        btn, out));
    }
  } catch (e) {
    body.textContent = `Unavailable: ${errText(e)}`;
  }
}

// ------------------------------------------------------------------ users (administrator)

async function loadUsers() {
  try {
    const list = await api('GET', '/api/users');
    const tb = $('#user-rows');
    tb.textContent = '';
    for (const u of list || []) {
      tb.append(h('tr', null, h('td', { text: u.name }), h('td', { text: u.role }),
        h('td', { class: u.pending_approval || u.must_change_password ? 'warn-text' : null,
          text: u.pending_approval ? 'awaiting approval' : u.must_change_password ? 'one-time, not yet changed' : 'set' }),
        h('td', { text: fmtUTC(parseTime(u.created_at)) })));
    }
  } catch (e) {
    $('#user-error').textContent = errText(e);
  }
}

async function onUserCreate(ev) {
  ev.preventDefault();
  const name = $('#user-name').value.trim();
  const role = $('#user-role').value;
  const err = $('#user-error');
  err.textContent = '';
  if (!/^[A-Za-z0-9._-]{2,64}$/.test(name)) { err.textContent = 'Name: 2 to 64 letters, digits, “.”, “_” or “-”.'; return; }
  const btn = $('#user-create');
  btn.disabled = true;
  try {
    const c = await api('POST', '/api/users', { name, role });
    $('#user-name').value = '';
    const box = $('#user-otp');
    box.textContent = '';
    if (c.pending_approval) {
      // An operational account: a second person approves it and receives its password.
      box.append(
        h('div', null, 'Account ', h('b', { text: c.name }), ` (${c.role}) requested. It stays inactive until a SAR mission coordinator approves it; the one-time password goes to the approver.`),
        h('button', { type: 'button', id: 'user-otp-hide' }, 'Done, hide it'));
    } else {
      box.append(
        h('div', null, 'Account ', h('b', { text: c.name }), ` (${c.role}) created. One-time password:`),
        h('code', { class: 'otp-code', text: c.one_time_password }),
        h('div', { class: 'small' }, 'Shown only once: hand it over securely. The user must change it at first login.'),
        h('button', { type: 'button', id: 'user-otp-hide' }, 'Done, hide it'));
    }
    box.hidden = false;
    loadUsers();
  } catch (e) {
    err.textContent = errText(e);
  } finally {
    btn.disabled = false;
  }
}

// ------------------------------------------------------------------ wiring

function wire() {
  $('#login-form').addEventListener('submit', onLoginSubmit);
  $('#password-form').addEventListener('submit', onPasswordSubmit);
  $('#pw-logout').addEventListener('click', logout);
  $('#logout').addEventListener('click', logout);
  $('#status-button').addEventListener('click', toggleStatus);
  $('#audit-button').addEventListener('click', toggleAudit);
  $('#approvals-button').addEventListener('click', toggleApprovals);
  $('#audit-refresh').addEventListener('click', loadAudit);
  $('#critical-badge').addEventListener('click', focusFirstCritical);
  $('#user-form').addEventListener('submit', onUserCreate);
  $('#user-otp').addEventListener('click', (e) => {
    if (e.target && e.target.id === 'user-otp-hide') { $('#user-otp').hidden = true; $('#user-otp').textContent = ''; }
  });

  const search = $('#track-search');
  search.addEventListener('input', () => { S.search = search.value; renderTrackList(); });

  const slider = $('#replay');
  slider.addEventListener('input', () => onReplayInput(false));
  slider.addEventListener('change', () => onReplayInput(true));
  $('#live-button').addEventListener('click', goLive);

  const tl = $('#track-list');
  tl.addEventListener('click', (e) => {
    const row = e.target.closest('[data-track-id]');
    if (row) openTrack(row.dataset.trackId, { pan: true });
  });
  tl.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    const row = e.target.closest('[data-track-id]');
    if (row) { e.preventDefault(); openTrack(row.dataset.trackId, { pan: true }); }
  });

  const al = $('#alert-list');
  al.addEventListener('click', (e) => {
    const row = e.target.closest('[data-alert-id]');
    if (!row) return;
    const id = row.dataset.alertId;
    const btn = e.target.closest('button');
    if (btn) {
      for (const action of ['ack', 'assign', 'dismiss', 'escalate']) {
        if (btn.classList.contains(action)) { doTriage(id, action, row); return; }
      }
      return;
    }
    if (e.target.closest('input, .actions, .a-msg')) return;
    selectAlert(id, { zoom: true });
  });
  al.addEventListener('keydown', (e) => {
    const row = e.target.closest('[data-alert-id]');
    if (!row || e.key !== 'Enter') return;
    if (e.target.classList.contains('reason')) { e.preventDefault(); doTriage(row.dataset.alertId, 'dismiss', row); }
    else if (e.target.classList.contains('assignee')) { e.preventDefault(); doTriage(row.dataset.alertId, 'assign', row); }
    else if (e.target === row) { e.preventDefault(); selectAlert(row.dataset.alertId, { zoom: true }); }
  });
  al.addEventListener('focusout', () => {
    setTimeout(() => { if (alertRenderDeferred && !al.contains(document.activeElement)) renderAlertList(); }, 0);
  });

  // Links inside cards, close buttons.
  document.addEventListener('click', (e) => {
    const t = e.target;
    if (!(t instanceof Element)) return;
    const close = t.closest('[data-close]');
    if (close) {
      const w = close.getAttribute('data-close');
      if (w === 'vessel') closeVessel();
      else if (w === 'track') closeTrack();
      else if (w === 'alert') closeAlert();
      else if (w === 'status') { $('#status').hidden = true; stopStatusPolling(); }
      else if (w === 'audit') $('#audit').hidden = true;
      else if (w === 'approvals') $('#approvals').hidden = true;
      else if (w === 'ilog') $('#ilog').hidden = true;
      else if (w === 'case') $('#case').hidden = true;
      return;
    }
    const lg = t.closest('[data-ilog]');
    if (lg) { e.preventDefault(); e.stopPropagation(); openLog(lg.dataset.ilog); return; }
    const cf = t.closest('[data-case]');
    if (cf) { e.preventDefault(); e.stopPropagation(); openCase(cf.dataset.case); return; }
    const v = t.closest('a.vlink');
    if (v) { e.preventDefault(); const m = parseInt(v.dataset.mmsi, 10); if (S.tracks.has('ais:' + m)) openTrack('ais:' + m, { keepAlert: true }); else openVessel(m); return; }
    const tr = t.closest('a.tlink');
    if (tr) { e.preventDefault(); openTrack(tr.dataset.track, { keepAlert: true }); return; }
    const a = t.closest('a.alink');
    if (a) { e.preventDefault(); selectAlert(a.dataset.alert, { zoom: true, scroll: true }); return; }
    const inc = t.closest('.inc');
    if (inc && inc.dataset.alert) { selectAlert(inc.dataset.alert, { zoom: true, scroll: true }); }
  });

  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    if (!$('#status').hidden) { $('#status').hidden = true; stopStatusPolling(); return; }
    if (!$('#audit').hidden) { $('#audit').hidden = true; return; }
    if (!$('#ilog').hidden) { $('#ilog').hidden = true; return; }
    if (!$('#case').hidden) { $('#case').hidden = true; return; }
    if (!$('#alert-detail').hidden) { closeAlert(); return; }
    if (!$('#vessel-card').hidden) { closeVessel(); return; }
    if (!$('#track-card').hidden) { closeTrack(); }
  });
}

async function boot() {
  wire();
  let me;
  try {
    me = await api('GET', '/api/me', null, { quiet: true });
  } catch (e) {
    if (S.loginBusy || S.me) return; // a login is under way or done
    if (e.status === 401) showLogin(e.code === 'session_expired' ? 'Your session has expired. Log in again.' : '');
    else showLogin(e.status ? '' : 'The console is unreachable. Check the connection and reload.');
    return;
  }
  if (S.me) return;
  onMe(me);
}

boot();

})();
