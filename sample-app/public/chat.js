// Plain-JS MobileIMSDK client for the browser: WebSocket transport, one JSON
// packet per text frame (PROTOCOL.md §1.2, §2-3). No framework, no build step.
(function () {
  'use strict';

  var TYPE = { LOGIN: 0, KEEPALIVE: 1, DATA: 2, LOGOUT: 3, ACK: 4, LOGIN_RESPONSE: 50, KEEPALIVE_RESPONSE: 51, ERROR: 52, ECHO_RESPONSE: 53, KICKOUT: 54 };
  // Application typeu values; must match sample-app/im/message-types.ts.
  var TYPEU = { STATUS: 101, OFFLINE_MESSAGE: 200 };
  var KEEPALIVE_MS = 5000; // the server runs sense mode 5S: idle timeout 11 s
  var RESEND_MS = 4000;    // like the SDKs: resend an unACKed message, at most twice
  var MAX_RESENDS = 2;

  var $ = function (sel) { return document.querySelector(sel); };
  var loginForm = $('#login'), sendForm = $('#send'), presenceForm = $('#presence');
  var logoutBtn = $('#logout'), statusEl = $('#status'), logEl = $('#log');

  var ws = null, me = null, keepaliveTimer = null, wsUrl = null;
  var pending = new Map(); // fp -> { packet, mark, resends, timer }: our QoS messages awaiting an ACK
  var seen = new Map();    // fp -> time: drop retransmitted copies, as the SDKs do (10 min)

  fetch('/config.json').then(function (r) { return r.json(); }).then(function (cfg) {
    var scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    wsUrl = scheme + '://' + (location.hostname || 'localhost') + ':' + cfg.wsPort + cfg.wsPath;
    log('sys', 'IM server: ' + wsUrl);
  }).catch(function (e) { log('err', 'cannot read /config.json: ' + e); });

  // crypto.randomUUID exists only in secure contexts (https, localhost); fall back elsewhere.
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  // Field order and defaults as the Java SDK writes them (PROTOCOL.md §2.1-2.2).
  function packet(type, to, dataContent, extra) {
    var p = { bridge: false, type: type, dataContent: dataContent, from: me, to: to, QoS: false, typeu: -1, sm: -1 };
    return Object.assign(p, extra || {});
  }

  function send(p) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(p));
    return true;
  }

  function log(kind, text, meta) {
    var li = document.createElement('li');
    li.className = kind;
    if (meta) {
      var m = document.createElement('span');
      m.className = 'meta';
      m.textContent = meta + ' ';
      li.appendChild(m);
    }
    li.appendChild(document.createTextNode(text)); // textContent only: message text is never parsed as HTML
    logEl.appendChild(li);
    logEl.scrollTop = logEl.scrollHeight;
    return li;
  }

  function time(ms) { return new Date(ms || Date.now()).toLocaleTimeString(); }

  function setOnline(online) {
    statusEl.textContent = online ? 'online as ' + me : 'offline';
    statusEl.className = online ? 'online' : 'offline';
    sendForm.querySelector('button').disabled = !online;
    presenceForm.querySelector('button').disabled = !online;
    logoutBtn.disabled = !ws;
  }

  function connect(userId, token) {
    if (!wsUrl) { log('err', 'IM server address not known yet'); return; }
    disconnect();
    me = userId;
    var socket = new WebSocket(wsUrl);
    ws = socket;
    socket.onopen = function () {
      // firstLoginTime 0: a fresh login, which takes over any older session of this user (§7.3).
      var info = { loginUserId: userId, loginToken: token, firstLoginTime: 0 };
      send(packet(TYPE.LOGIN, '0', JSON.stringify(info)));
    };
    socket.onmessage = function (ev) {
      var p;
      try { p = JSON.parse(ev.data); } catch (e) { log('err', 'unparseable frame: ' + ev.data); return; }
      onPacket(p);
    };
    socket.onclose = function (ev) {
      if (ws !== socket) return;
      stopKeepalive();
      ws = null;
      setOnline(false);
      log('sys', 'disconnected (' + ev.code + (ev.reason ? ' ' + ev.reason : '') + ')');
    };
    socket.onerror = function () { log('err', 'WebSocket error'); };
    logoutBtn.disabled = false;
  }

  function disconnect() {
    stopKeepalive();
    pending.forEach(function (e) { clearTimeout(e.timer); });
    pending.clear();
    if (ws) { var s = ws; ws = null; s.close(); }
    setOnline(false);
  }

  function startKeepalive() {
    stopKeepalive();
    keepaliveTimer = setInterval(function () { send(packet(TYPE.KEEPALIVE, '0', '{}')); }, KEEPALIVE_MS);
  }

  function stopKeepalive() {
    if (keepaliveTimer) clearInterval(keepaliveTimer);
    keepaliveTimer = null;
  }

  function onPacket(p) {
    // ACK every QoS packet, duplicates included, before anything else (§10.6).
    if (p.QoS && p.fp) send({ bridge: !!p.bridge, type: TYPE.ACK, dataContent: p.fp, from: p.to, to: p.from, QoS: false, typeu: -1, sm: -1 });

    switch (p.type) {
      case TYPE.LOGIN_RESPONSE: {
        var res = JSON.parse(p.dataContent);
        if (res.code === 0) {
          setOnline(true);
          startKeepalive();
          log('sys', 'logged in as ' + me);
        } else {
          log('err', 'login refused, code ' + res.code);
        }
        break;
      }
      case TYPE.KEEPALIVE_RESPONSE:
        break;
      case TYPE.DATA:
        if (p.fp && isDuplicate(p.fp)) break;
        showData(p);
        break;
      case TYPE.ACK:
        settle(p.dataContent);
        break;
      case TYPE.ERROR: {
        var err = JSON.parse(p.dataContent);
        log('err', 'server error ' + err.errorCode + ': ' + err.errorMsg);
        break;
      }
      case TYPE.KICKOUT: {
        var k = JSON.parse(p.dataContent);
        log('err', k.code === 1 ? 'logged in elsewhere; this session was closed' : 'kicked by the server' + (k.reason ? ': ' + k.reason : ''));
        break;
      }
      case TYPE.ECHO_RESPONSE:
        log('sys', 'echo: ' + p.dataContent);
        break;
    }
  }

  function isDuplicate(fp) {
    var now = Date.now();
    seen.forEach(function (t, k) { if (now - t > 600000) seen.delete(k); });
    if (seen.has(fp)) return true;
    seen.set(fp, now);
    return false;
  }

  function showData(p) {
    if (p.from === '0' && p.typeu === TYPEU.OFFLINE_MESSAGE) {
      // A message stored while we were offline: the original sender is in the envelope.
      var env = JSON.parse(p.dataContent);
      if (env.fp && isDuplicate(env.fp)) return;
      log('in', env.data, time(env.storedAt) + ' ' + env.from + ' (while you were away):');
    } else if (p.from === '0') {
      log('in', p.dataContent, time() + ' server:');
    } else {
      log('in', p.dataContent, time() + ' ' + p.from + ':');
    }
  }

  function sendText(to, text) {
    var fp = uuid();
    var p = packet(TYPE.DATA, to, text, { fp: fp, QoS: true });
    if (!send(p)) { log('err', 'not connected'); return; }
    var li = log('out', text, time() + ' me → ' + to + ':');
    var mark = document.createElement('span');
    mark.className = 'mark';
    mark.textContent = '…';
    li.appendChild(mark);
    var entry = { packet: p, mark: mark, resends: 0, timer: null };
    pending.set(fp, entry);
    schedule(fp, entry);
  }

  // The server's ACK means "written to the recipient" or "stored for later"; without one, resend the same packet.
  function schedule(fp, entry) {
    entry.timer = setTimeout(function () {
      if (!pending.has(fp)) return;
      if (entry.resends >= MAX_RESENDS) {
        pending.delete(fp);
        entry.mark.textContent = '✗ not delivered';
        return;
      }
      entry.resends++;
      send(entry.packet);
      schedule(fp, entry);
    }, RESEND_MS);
  }

  function settle(fp) {
    var entry = pending.get(fp);
    if (!entry) return;
    clearTimeout(entry.timer);
    pending.delete(fp);
    entry.mark.textContent = '✓';
  }

  loginForm.addEventListener('submit', function (e) {
    e.preventDefault();
    connect(loginForm.userId.value.trim(), loginForm.token.value);
  });

  logoutBtn.addEventListener('click', function () {
    send(packet(TYPE.LOGOUT, '0'));
    disconnect();
    log('sys', 'logged out');
  });

  sendForm.addEventListener('submit', function (e) {
    e.preventDefault();
    sendText(sendForm.to.value.trim(), sendForm.text.value);
    sendForm.text.value = '';
  });

  // C2S (to "0") with typeu 101; the server validates the JSON and answers a bad one with a type-52 error.
  presenceForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var body = { status: presenceForm.status.value };
    if (presenceForm.message.value) body.message = presenceForm.message.value;
    send(packet(TYPE.DATA, '0', JSON.stringify(body), { fp: uuid(), QoS: true, typeu: TYPEU.STATUS }));
    log('sys', 'status sent: ' + JSON.stringify(body));
  });
})();
