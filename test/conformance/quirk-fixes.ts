/**
 * The ONE place that says, for every scenario tagged `quirk` in the recorded
 * scenarios (test/conformance/scenarios), what nestjs-im does instead of the reference
 * (PROTOCOL.md §12 "Fix" recommendations).
 *
 * - `replicate`: nestjs-im behaves like the reference; the recorded steps run as is.
 * - `fixed`: nestjs-im deliberately differs; `steps` is a modified copy of the
 *   recorded steps (same step language, same client names, placeholders and
 *   packets) that asserts the FIXED behaviour. Steps that differ from the
 *   recording carry a `comment` (ignored by the runner) saying what changed.
 *
 * The fixes, as implemented by the server:
 * - QUIRK-1  a keepalive is answered only on the session that is its user's
 *            current table entry; a superseded session gets nothing, and the
 *            answer never goes to another session.
 * - QUIRK-2  equal firstLoginTime: the old (superseded) TCP/WS connection is
 *            closed quietly (no kick-out packet), its user detached.
 * - QUIRK-3  a kicked UDP session is detached: its next data/keepalive gets the
 *            301 error; it is not otherwise torn down.
 * - QUIRK-4  re-login as a different user id on a logged-in session = logout of
 *            the old user (table entry removed) + full verified login as the new one.
 * - QUIRK-5  C2C/C2S with a forged `from`: not forwarded/processed, no ACK; the
 *            sender gets a type-52 error 403 (to = its real user id) and stays connected.
 * - QUIRK-8  C2S with QoS:true and no fp: not processed; 52 error 422 to the
 *            sender; the session stays open and logged in (TCP and UDP).
 * - QUIRK-9  a bad UDP datagram (malformed, or over 2048 bytes) is dropped; the
 *            session is kept. (Exactly 2048 bytes is shown processed with a C2S:
 *            UDP replies never exceed udp.maxOutboundBytes, so a 2 KiB echo is not answered.)
 * - QUIRK-10 echo before login stays allowed (default config): replicate.
 */
import { ExpectStep, Json, Scenario, SendStep, Step } from './scenario-runner';

export type QuirkFix =
  | {
      mode: 'replicate';
      /** PROTOCOL.md §12 quirk ids the scenario records. */
      quirks: string[];
      /** Why nestjs-im keeps the reference behaviour. */
      reason: string;
    }
  | {
      mode: 'fixed';
      quirks: string[];
      /** What nestjs-im does instead, and why. */
      reason: string;
      /** The scenario's steps rewritten for the fixed behaviour. */
      steps: Step[];
    };

// --- Packet builders shared by the fixed steps. They produce exactly the
// --- packets and matchers of the recorded scenarios (Java SDK login shape).

/** `send` of a login packet for `{{uid:USER}}` (token `token-<user>`), as in the recordings. */
function login(client: string, user: string, firstLoginTime: Json = 0): SendStep {
  return {
    client,
    action: 'send',
    packet: {
      bridge: false,
      type: 0,
      dataContent: { $stringify: { loginUserId: `{{uid:${user}}}`, loginToken: `token-${user.toLowerCase()}`, firstLoginTime } },
      from: `{{uid:${user}}}`,
      to: '0',
      QoS: false,
      typeu: -1,
      sm: -1,
    },
  };
}

/** `expect` of a successful login response for `{{uid:USER}}`. */
function loginOk(client: string, user: string, firstLoginTime: Json = '<number>'): ExpectStep {
  return {
    client,
    action: 'expect',
    packet: {
      bridge: false,
      type: 50,
      dataContent: { $json: { code: 0, firstLoginTime } },
      from: '0',
      to: `{{uid:${user}}}`,
      QoS: false,
      typeu: -1,
      sm: -1,
    },
    withinMs: 1000,
  };
}

function keepalivePacket(user: string): Json {
  return { bridge: false, type: 1, dataContent: '{}', from: `{{uid:${user}}}`, to: '0', QoS: false, typeu: -1, sm: -1 };
}

function keepalive(client: string, user: string): SendStep {
  return { client, action: 'send', packet: keepalivePacket(user) };
}

function keepaliveOk(client: string, user: string, comment?: string): ExpectStep {
  return {
    client,
    action: 'expect',
    packet: { bridge: false, type: 51, dataContent: '{}', from: '0', to: `{{uid:${user}}}`, QoS: false, typeu: -1, sm: -1 },
    withinMs: 1000,
    ...(comment ? { comment } : {}),
  };
}

/** The protocol's 301 error quoting `offending` (normalised), addressed to "-1". */
function error301(client: string, offending: Json, comment: string): ExpectStep {
  return {
    client,
    action: 'expect',
    packet: {
      bridge: false,
      type: 52,
      dataContent: { $json: { errorCode: 301, errorMsg: { $json: offending } } },
      from: '0',
      to: '-1',
      QoS: false,
      typeu: -1,
      sm: -1,
    },
    withinMs: 1000,
    comment,
  };
}

/** A nestjs-im error (type 52, code 400-499) addressed to the sender's own user id. */
function imError(client: string, user: string, errorCode: number, comment: string): ExpectStep {
  return {
    client,
    action: 'expect',
    packet: {
      bridge: false,
      type: 52,
      dataContent: { $json: { errorCode, errorMsg: '<any-string>' } },
      from: '0',
      to: `{{uid:${user}}}`,
      QoS: false,
      typeu: -1,
      sm: -1,
    },
    withinMs: 1000,
    comment,
  };
}

// --- The registry -----------------------------------------------------------

export const QUIRK_FIXES: Readonly<Record<string, QuirkFix>> = {
  'quirk-c2s-qos-without-fp': {
    mode: 'fixed',
    quirks: ['QUIRK-8', 'QUIRK-9'],
    reason:
      'The reference crashes on C2S with QoS:true and no fp (TCP closed, UDP session discarded). ' +
      'nestjs-im treats it as bad input that cannot be acknowledged: it is not processed, the sender gets ' +
      'a type-52 error 422 addressed to its user id, and the session is left alone (TCP stays open, the UDP ' +
      'session stays logged in, so the next keepalive gets 51).',
    steps: [
      { client: 'A', transport: 'tcp', action: 'connect' },
      login('A', 'A'),
      loginOk('A', 'A'),
      { client: 'A', action: 'send', packet: { bridge: false, type: 2, dataContent: 'no fp', from: '{{uid:A}}', to: '0', QoS: true, typeu: -1, sm: -1 } },
      imError('A', 'A', 422, 'fixed: error 422 instead of the connection being closed'),
      { client: 'A', action: 'expectOpen', comment: 'fixed: the TCP connection stays open' },
      keepalive('A', 'A'),
      keepaliveOk('A', 'A', 'fixed: still logged in'),
      { client: 'B', transport: 'udp', action: 'connect' },
      login('B', 'B'),
      loginOk('B', 'B'),
      { client: 'B', action: 'send', packet: { bridge: false, type: 2, dataContent: 'no fp', from: '{{uid:B}}', to: '0', QoS: true, typeu: -1, sm: -1 } },
      imError('B', 'B', 422, 'fixed: error 422 instead of silence'),
      keepalive('B', 'B'),
      keepaliveOk('B', 'B', 'fixed: the UDP session was kept (the reference answers 301 here)'),
      { client: 'B', action: 'expectNothing', forMs: 300 },
      { client: 'A', action: 'expectOpen' },
    ],
  },

  'quirk-echo-before-login': {
    mode: 'replicate',
    quirks: ['QUIRK-10'],
    reason:
      'Echo is part of the protocol and works without login in the default configuration ' +
      '(echoRequiresLogin: false); echo replies are never QoS-tracked, which this scenario does not exercise.',
  },

  'quirk-forged-from-forwarded': {
    mode: 'fixed',
    quirks: ['QUIRK-5'],
    reason:
      'The reference forwards C2C packets with a forged "from" and ACKs them to the forged id (impersonation). ' +
      'nestjs-im requires "from" to equal the session user on C2C and C2S: the packet is not forwarded or ' +
      'processed and not ACKed; the sender gets a type-52 error 403 from "0" to its real user id, and its ' +
      'connection stays open.',
    steps: [
      { client: 'A', transport: 'tcp', action: 'connect' },
      { client: 'B', transport: 'tcp', action: 'connect' },
      login('A', 'A'),
      loginOk('A', 'A'),
      login('B', 'B'),
      loginOk('B', 'B'),
      {
        client: 'A',
        action: 'send',
        packet: { bridge: false, type: 2, dataContent: 'I am someone else', from: '{{uid:Forged}}', to: '{{uid:B}}', fp: '{{fp:M1}}', QoS: true, typeu: -1, sm: -1 },
      },
      imError('A', 'A', 403, 'fixed: error 403 to the real sender instead of an ACK addressed to the forged id'),
      { client: 'B', action: 'expectNothing', forMs: 500, comment: 'fixed: the forged packet is not forwarded' },
      {
        client: 'A',
        action: 'send',
        packet: { bridge: false, type: 2, dataContent: 'I am someone else', from: '{{uid:Forged}}', to: '0', fp: '{{fp:M2}}', QoS: true, typeu: -1, sm: -1 },
        comment: 'added: the same fix for C2S (to "0")',
      },
      imError('A', 'A', 403, 'added: forged C2S gets error 403, no ACK'),
      { client: 'A', action: 'expectNothing', forMs: 300 },
      { client: 'A', action: 'expectOpen', comment: 'fixed: the connection stays open' },
      { client: 'B', action: 'expectNothing', forMs: 100 },
    ],
  },

  'quirk-keepalive-routed-by-uid': {
    mode: 'fixed',
    quirks: ['QUIRK-1', 'QUIRK-2'],
    reason:
      'In the reference the older connection of an equal-firstLoginTime re-login stays open and logged in ' +
      '(QUIRK-2) and its keepalive is answered on the newer connection (QUIRK-1). nestjs-im closes the ' +
      'superseded connection quietly (no kick-out packet) and answers keepalives only on the session that ' +
      "is its user's table entry, i.e. the newer connection's own keepalive is answered on it. (With the " +
      'QUIRK-2 fix a superseded TCP session no longer exists to send a keepalive; the "never answered on ' +
      'another session" half of QUIRK-1 is shown by quirk-udp-kicked-session-still-logged-in.)',
    steps: [
      { client: 'A1', transport: 'tcp', action: 'connect' },
      { client: 'A2', transport: 'tcp', action: 'connect' },
      login('A1', 'U'),
      loginOk('A1', 'U', { $capture: 'T1', $match: '<number>' }),
      login('A2', 'U', '{{var:T1}}'),
      loginOk('A2', 'U', '{{var:T1}}'),
      {
        client: 'A1',
        action: 'expectClosed',
        withinMs: 1000,
        comment: 'fixed: the superseded connection is closed quietly (a kick-out or any other packet before the close fails this step)',
      },
      { client: 'A2', action: 'expectNothing', forMs: 300 },
      { client: 'A2', action: 'expectOpen' },
      keepalive('A2', 'U'),
      keepaliveOk('A2', 'U', 'fixed: the keepalive of the table-entry session is answered on that session'),
      { client: 'A2', action: 'expectNothing', forMs: 500 },
    ],
  },

  'quirk-relogin-different-uid-stale-route': {
    mode: 'fixed',
    quirks: ['QUIRK-4'],
    reason:
      'In the reference a session logged in as U can re-login as V without verification while U\'s table ' +
      'entry keeps pointing at it (messages for U still arrive and are ACKed). nestjs-im treats a re-login ' +
      'as a different user id as a logout of U (its table entry is removed) followed by a full, verified ' +
      'login as V. The test app accepts every token, so the V login succeeds; U is then offline, so a ' +
      'message for U takes the offline path (no delivery, no ACK with the default offline handling), while ' +
      'messages for V reach the session.',
    steps: [
      { client: 'A', transport: 'tcp', action: 'connect' },
      { client: 'C', transport: 'tcp', action: 'connect' },
      login('A', 'U'),
      loginOk('A', 'U'),
      login('A', 'V'),
      loginOk('A', 'V'),
      login('C', 'C'),
      loginOk('C', 'C'),
      {
        client: 'C',
        action: 'send',
        packet: { bridge: false, type: 2, dataContent: 'for U', from: '{{uid:C}}', to: '{{uid:U}}', fp: '{{fp:M1}}', QoS: true, typeu: -1, sm: -1 },
      },
      { client: 'C', action: 'expectNothing', forMs: 1000, comment: 'fixed: U is offline, so no ACK on its behalf' },
      { client: 'A', action: 'expectNothing', forMs: 100, comment: 'fixed: the message for U is not delivered to the session now logged in as V' },
      keepalive('A', 'V'),
      keepaliveOk('A', 'V'),
      {
        client: 'C',
        action: 'send',
        packet: { bridge: false, type: 2, dataContent: 'for V', from: '{{uid:C}}', to: '{{uid:V}}', fp: '{{fp:M2}}', QoS: true, typeu: -1, sm: -1 },
        comment: 'added: V is a full login, so V is routed to the session',
      },
      {
        client: 'A',
        action: 'expect',
        packet: { bridge: false, type: 2, dataContent: 'for V', from: '{{uid:C}}', to: '{{uid:V}}', fp: '{{fp:M2}}', QoS: true, typeu: -1, sm: -1 },
        withinMs: 1000,
      },
      {
        client: 'C',
        action: 'expect',
        packet: { bridge: false, type: 4, dataContent: '{{fp:M2}}', from: '{{uid:V}}', to: '{{uid:C}}', QoS: false, typeu: -1, sm: -1 },
        withinMs: 1000,
      },
      { client: 'A', action: 'send', packet: { bridge: false, type: 4, dataContent: '{{fp:M2}}', from: '{{uid:V}}', to: '{{uid:C}}', QoS: false, typeu: -1, sm: -1 } },
      { client: 'A', action: 'expectNothing', forMs: 300 },
      { client: 'C', action: 'expectNothing', forMs: 100 },
    ],
  },

  'quirk-udp-bad-datagram-drops-session': {
    mode: 'fixed',
    quirks: ['QUIRK-9'],
    reason:
      'The reference discards the UDP session (logging the user out) on any datagram it cannot process, ' +
      'which lets anyone who can spoof the source address log UDP users out. nestjs-im drops the bad ' +
      'datagram (malformed JSON, or over 2048 bytes) and keeps the session, so the next keepalive gets 51, ' +
      'not 301. A datagram of exactly 2048 bytes is still processed.',
    steps: [
      { client: 'A', transport: 'udp', action: 'connect' },
      login('A', 'A'),
      loginOk('A', 'A'),
      { client: 'A', action: 'sendText', text: '{"type":1,' },
      { client: 'A', action: 'expectNothing', forMs: 500 },
      keepalive('A', 'A'),
      keepaliveOk('A', 'A', 'fixed: the session survived the malformed datagram (the reference answers 301)'),
      { client: 'B', transport: 'udp', action: 'connect' },
      login('B', 'B'),
      loginOk('B', 'B'),
      {
        client: 'B',
        action: 'sendText',
        text: '{"type":2,"from":"{{uid:B}}","to":"0","fp":"{{fp:M1}}","QoS":true,"dataContent":"{{pad}}"}',
        padToBytes: 2048,
        comment: 'a C2S rather than the recording\'s echo: an echo reply of 2 KiB exceeds udp.maxOutboundBytes (1 KiB, what the UDP SDKs read) and is not sent',
      },
      {
        client: 'B',
        action: 'expect',
        packet: { bridge: false, type: 4, dataContent: '{{fp:M1}}', from: '0', to: '{{uid:B}}', QoS: false, typeu: -1, sm: -1 },
        withinMs: 1000,
      },
      { client: 'B', action: 'sendText', text: '{"type":5,"dataContent":"{{pad}}"}', padToBytes: 2049 },
      { client: 'B', action: 'expectNothing', forMs: 500 },
      keepalive('B', 'B'),
      keepaliveOk('B', 'B', 'fixed: the session survived the oversized datagram (the reference answers 301)'),
    ],
  },

  'quirk-udp-kicked-session-still-logged-in': {
    mode: 'fixed',
    quirks: ['QUIRK-3', 'QUIRK-1'],
    reason:
      'In the reference a UDP session kicked by a duplicate login stays logged in: its C2S is ACKed and its ' +
      'keepalive is answered on the session that replaced it. nestjs-im detaches the user from the kicked ' +
      'UDP session after the kick-out, so its next data or keepalive gets the 301 error on that session ' +
      '(which makes the Java UDP SDK re-login); nothing is ever answered on another session, and the new ' +
      "session's own keepalive is answered normally.",
    steps: [
      { client: 'A1', transport: 'udp', action: 'connect' },
      { client: 'A2', transport: 'tcp', action: 'connect' },
      login('A1', 'U'),
      loginOk('A1', 'U'),
      login('A2', 'U'),
      loginOk('A2', 'U'),
      {
        client: 'A1',
        action: 'expect',
        packet: { bridge: false, type: 54, dataContent: { $json: { code: 1 } }, from: '0', to: '{{uid:U}}', QoS: false, typeu: -1, sm: -1 },
        withinMs: 1000,
      },
      {
        client: 'A1',
        action: 'send',
        packet: { bridge: false, type: 2, dataContent: 'still here', from: '{{uid:U}}', to: '0', fp: '{{fp:M1}}', QoS: true, typeu: -1, sm: -1 },
      },
      error301(
        'A1',
        { bridge: false, type: 2, dataContent: 'still here', from: '{{uid:U}}', to: '0', fp: '{{fp:M1}}', QoS: true, typeu: -1, sm: -1 },
        'fixed: the kicked session is detached, so its data gets 301 instead of an ACK',
      ),
      keepalive('A1', 'U'),
      error301('A1', keepalivePacket('U'), 'fixed: its keepalive gets 301 on the kicked session itself, not a 51 on the new session'),
      { client: 'A2', action: 'expectNothing', forMs: 300, comment: 'fixed: nothing is routed to the new session' },
      { client: 'A1', action: 'expectNothing', forMs: 100 },
      keepalive('A2', 'U'),
      keepaliveOk('A2', 'U', 'added: the new session is the table entry and its own keepalive is answered'),
      { client: 'A2', action: 'expectNothing', forMs: 100 },
      { client: 'A2', action: 'expectOpen' },
    ],
  },
};

export interface EffectiveScenario {
  scenario: Scenario;
  mode: 'core' | 'replicate' | 'fixed';
  /** The reason of the quirk decision (quirk scenarios only). */
  reason?: string;
  quirks?: string[];
}

/**
 * The scenario as nestjs-im must pass it: non-quirk scenarios unchanged,
 * quirk scenarios per {@link QUIRK_FIXES}. A quirk scenario without an entry
 * is an error (nothing is skipped silently).
 */
export function effectiveScenario(scenario: Scenario): EffectiveScenario {
  if (!scenario.tags.includes('quirk')) return { scenario, mode: 'core' };
  const fix = QUIRK_FIXES[scenario.name];
  if (!fix) throw new Error(`quirk scenario "${scenario.name}" has no entry in test/conformance/quirk-fixes.ts`);
  if (fix.mode === 'replicate') return { scenario, mode: 'replicate', reason: fix.reason, quirks: fix.quirks };
  return { scenario: { ...scenario, steps: fix.steps }, mode: 'fixed', reason: fix.reason, quirks: fix.quirks };
}
