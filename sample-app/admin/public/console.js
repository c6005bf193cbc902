// The admin console: polls the admin API once a second with the bearer token
// the operator typed (kept in sessionStorage, never in a cookie).
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const SERIES = [
    { key: 'c2c', label: 'C2C / s', color: '#2563eb' },
    { key: 'c2s', label: 'C2S / s', color: '#16a34a' },
    { key: 'delivered', label: 'QoS delivered / s', color: '#9333ea', dash: [6, 4] },
    { key: 'lost', label: 'QoS lost / s', color: '#c2410c' },
  ];
  const HISTORY = 60;
  const history = [];
  let token = sessionStorage.getItem('im-admin-token') || '';
  let previous = null;
  let timer = null;

  $('legend').innerHTML = SERIES.map((s) => `<span><i style="background:${s.color}"></i>${s.label}</span>`).join('');

  async function api(path, body) {
    const init = { headers: { authorization: 'Bearer ' + token }, cache: 'no-store' };
    if (body !== undefined) {
      init.method = 'POST';
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch('/admin/api/' + path, init);
    if (res.status === 401) throw new Error('the token was refused');
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res.json();
  }

  function status(text, error) {
    $('status').textContent = text;
    $('status').className = error ? 'error' : '';
  }

  // User ids are chosen by clients: escape them for text and for quoted attributes.
  const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  function text(s) {
    return String(s).replace(/[&<>"']/g, (c) => ENTITIES[c]);
  }

  async function poll() {
    try {
      const search = $('search').value.trim();
      const [counters, page] = await Promise.all([api('counters'), api('users?limit=200&search=' + encodeURIComponent(search))]);
      showCounters(counters);
      showUsers(page);
      status('connected, updated ' + new Date().toLocaleTimeString());
    } catch (err) {
      status(err.message, true);
    }
  }

  function showCounters(c) {
    $('t-online').textContent = c.online;
    $('t-connections').textContent = c.connections;
    $('t-pending').textContent = c.pendingQoS;
    $('t-delivered').textContent = c.stats.delivered;
    $('t-lost').textContent = c.stats.lost;
    if (previous && c.at > previous.at) {
      const seconds = (c.at - previous.at) / 1000;
      const point = {};
      for (const s of SERIES) point[s.key] = Math.max(0, (c.stats[s.key] - previous.stats[s.key]) / seconds);
      history.push(point);
      if (history.length > HISTORY) history.shift();
      $('t-rate').textContent = Math.round(point.c2c + point.c2s);
      draw();
    }
    previous = c;
  }

  function showUsers(page) {
    const rows = page.users.map((u) => `<tr data-user="${text(u.userId)}">
      <td>${text(u.userId)}</td><td>${text(u.transport)}</td>
      <td class="num">${new Date(u.loginTime).toLocaleTimeString()}</td>
      <td class="num">${text(u.remoteAddress)}:${u.remotePort}</td>
      <td><button class="kick" data-kick="${text(u.userId)}">Kick</button></td></tr>`);
    $('users').innerHTML = rows.join('') || '<tr><td colspan="5" class="empty">nobody online</td></tr>';
    $('users-more').hidden = page.total <= page.users.length;
    $('users-more').textContent = `${page.total - page.users.length} more; narrow the search`;
  }

  function draw() {
    const canvas = $('chart');
    canvas.dataset.points = String(history.length);
    const ctx = canvas.getContext('2d');
    const w = canvas.width;
    const h = canvas.height;
    const pad = 30;
    ctx.clearRect(0, 0, w, h);
    let max = 1;
    for (const p of history) for (const s of SERIES) max = Math.max(max, p[s.key]);
    const top = niceCeiling(max);
    ctx.strokeStyle = '#e3e6eb';
    ctx.fillStyle = '#6b7380';
    ctx.font = '11px system-ui, sans-serif';
    for (let i = 0; i <= 4; i++) {
      const y = h - pad + ((pad * 2 - h) * i) / 4;
      ctx.beginPath();
      ctx.moveTo(pad + 20, y);
      ctx.lineTo(w, y);
      ctx.stroke();
      const label = (top * i) / 4;
      ctx.fillText(Number.isInteger(label) ? String(label) : label.toFixed(1), 0, y + 4);
    }
    const x = (i) => pad + 20 + ((w - pad - 20) * (i + HISTORY - history.length)) / (HISTORY - 1);
    const y = (v) => h - pad - ((h - pad * 2) * v) / top;
    for (const s of SERIES) {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 2;
      ctx.setLineDash(s.dash || []);
      ctx.beginPath();
      history.forEach((p, i) => (i === 0 ? ctx.moveTo(x(i), y(p[s.key])) : ctx.lineTo(x(i), y(p[s.key]))));
      ctx.stroke();
    }
  }

  function niceCeiling(v) {
    const step = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 4, 5, 10]) if (m * step >= v) return m * step;
    return 10 * step;
  }

  function start() {
    if (timer) clearInterval(timer);
    previous = null;
    history.length = 0;
    void poll();
    timer = setInterval(poll, 1000);
  }

  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    token = $('token').value.trim();
    sessionStorage.setItem('im-admin-token', token);
    start();
  });

  $('search').addEventListener('input', () => void poll());

  $('users').addEventListener('click', async (e) => {
    const userId = e.target && e.target.getAttribute && e.target.getAttribute('data-kick');
    if (!userId) return;
    try {
      const r = await api('users/' + encodeURIComponent(userId) + '/kick', { reason: 'kicked from the admin console' });
      status(r.kicked ? `${userId} kicked` : `${userId} was not online`);
      void poll();
    } catch (err) {
      status(err.message, true);
    }
  });

  $('push-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const userId = $('push-user').value.trim();
    $('push-result').textContent = 'sending…';
    try {
      const r = await api('users/' + encodeURIComponent(userId) + '/push', { data: $('push-text').value, qos: $('push-qos').checked });
      $('push-result').textContent = `${r.userId}: ${r.status}`;
    } catch (err) {
      $('push-result').textContent = err.message;
    }
  });

  if (token) {
    $('token').value = token;
    start();
  }
})();
