import * as fc from 'fast-check';
import { TransportKind } from '../../lib/core/connection';
import { Session } from '../../lib/core/session';
import { PacketType } from '../../lib/protocol/packet-type';
import { CoreHarness, FakeConnection, quietLogger } from './core-harness';
import { anyUtf16, fuzzParams, jsonishText } from './fuzz-params';

/** Connection slots the attackers use; each slot has its own remote address. */
const SLOTS = 5;
/** User ids the attackers may log in as; the victim's id is not among them. */
const USERS = ['u0', 'u1', 'u2', 'u3'];
const VICTIM = 'victim';
const FPS = ['fp-a', 'fp-b', 'fp-c'];

/** `from` as the harness fills it in: the slot's own user (what a client sends), or a forgery. */
type From = { self: true } | { self: false; value: string | undefined };

/** One packet sent by an attacker slot; fields may be of the wrong kind on purpose. */
interface PacketStep {
  kind: 'packet';
  slot: number;
  type: number;
  from: From;
  to: string | undefined;
  fp: string | undefined;
  QoS: boolean;
  dataContent: string | undefined;
}

type Step =
  | PacketStep
  | { kind: 'garbage'; slot: number; text: string }
  | { kind: 'flood'; packet: PacketStep; times: number }
  | { kind: 'ackReceived'; slot: number }
  | { kind: 'close'; slot: number }
  | { kind: 'reopen'; slot: number; transport: TransportKind; login: string | null }
  | { kind: 'break'; slot: number }
  | { kind: 'advance'; ms: number };

const slot = fc.integer({ min: 0, max: SLOTS - 1 });
/** Strings around the core's length limits (fingerprints of 64 and user ids of 128 characters by default). */
const longText = fc.integer({ min: 60, max: 300 }).map((n) => 'x'.repeat(n));
const userId = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...USERS) },
  { weight: 1, arbitrary: fc.constantFrom('0', '-1', '', ' u0') },
  { weight: 1, arbitrary: anyUtf16(40) },
  { weight: 1, arbitrary: longText },
);
const fp = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FPS) }, { weight: 1, arbitrary: anyUtf16(120) }, { weight: 1, arbitrary: longText }, { weight: 1, arbitrary: fc.constant(undefined) });

const loginInfo = fc
  .record({
    loginUserId: fc.oneof({ weight: 8, arbitrary: userId }, { weight: 1, arbitrary: fc.constant(undefined) }),
    loginToken: fc.constantFrom('ok', 'ok', 'bad', 'bad', undefined),
    firstLoginTime: fc.constantFrom(0, -1, 1000, 2000, 1_000_000, '1000', 'x', undefined),
  })
  .map((info) => JSON.stringify(info));

const anyText = fc.oneof(fc.constantFrom(...FPS), fc.constant(undefined), jsonishText(60), loginInfo);
const from: fc.Arbitrary<From> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ self: true } as From) },
  { weight: 1, arbitrary: fc.option(userId, { nil: undefined }).map((value): From => ({ self: false, value })) },
);
const to = fc.oneof(fc.constant('0'), fc.constantFrom(...USERS), fc.constant(VICTIM), fc.constant(undefined));

/** A packet of one type with fields that mostly suit it, so every path of the core is reached. */
const packetOf = (type: fc.Arbitrary<number>, fields: { to?: fc.Arbitrary<string | undefined>; dataContent?: fc.Arbitrary<string | undefined>; QoS?: fc.Arbitrary<boolean> }): fc.Arbitrary<PacketStep> =>
  fc.record({
    kind: fc.constant('packet' as const),
    slot,
    type,
    from,
    to: fields.to ?? to,
    fp,
    QoS: fields.QoS ?? fc.boolean(),
    dataContent: fields.dataContent ?? anyText,
  });

const packetStep: fc.Arbitrary<PacketStep> = fc.oneof(
  { weight: 6, arbitrary: packetOf(fc.constant(PacketType.DATA), { QoS: fc.constantFrom(true, true, true, false) }) },
  { weight: 4, arbitrary: packetOf(fc.constant(PacketType.ACK), { dataContent: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FPS) }, { weight: 1, arbitrary: anyText }) }) },
  { weight: 2, arbitrary: packetOf(fc.constant(PacketType.LOGIN), { dataContent: fc.oneof({ weight: 4, arbitrary: loginInfo }, { weight: 1, arbitrary: anyText }) }) },
  { weight: 2, arbitrary: packetOf(fc.constant(PacketType.KEEPALIVE), {}) },
  { weight: 1, arbitrary: packetOf(fc.constant(PacketType.ECHO), {}) },
  { weight: 1, arbitrary: packetOf(fc.integer({ min: -5, max: 60 }), {}) },
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 20, arbitrary: packetStep },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('garbage' as const), slot, text: fc.oneof(anyUtf16(100), jsonishText(100), fc.json({ maxDepth: 3 })) }) },
  // Many packets at once: reaches the rate limit, the queue bound (async login) and the QoS and dedup caps.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flood' as const), packet: packetStep, times: fc.integer({ min: 2, max: 450 }) }) },
  // The slot ACKs what it got, as an SDK does: the path that settles the server's QoS table.
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('ackReceived' as const), slot }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), slot }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('reopen' as const),
      slot,
      transport: fc.constantFrom<TransportKind>('tcp', 'udp', 'ws'),
      login: fc.option(fc.constantFrom(...USERS), { nil: null, freq: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('break' as const), slot }) },
  // Shorter than any idle timeout, so the victim's keepalives keep it alive; long enough to reach retransmission and "lost".
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 3000, max: 9000 })) }) },
);

/** A run: enough steps to log in, exchange and ACK messages, and time out. */
const steps = fc.array(step, { minLength: 5, maxLength: 60, size: 'max' });

/** The packet text for a step, with `from` filled in from the slot's session. */
function packetText(s: PacketStep, session: Session): string {
  const from = s.from.self ? (session.userId ?? USERS[s.slot % USERS.length]) : s.from.value;
  return JSON.stringify({ bridge: false, type: s.type, dataContent: s.dataContent, from, to: s.to, fp: s.fp, QoS: s.QoS, typeu: -1, sm: -1 });
}

const keepalive = (user: string) => JSON.stringify({ bridge: false, type: PacketType.KEEPALIVE, dataContent: '{}', from: user, to: '0', QoS: false, typeu: -1, sm: -1 });
const login = (user: string) => JSON.stringify({ bridge: false, type: PacketType.LOGIN, dataContent: JSON.stringify({ loginUserId: user, loginToken: 'ok', firstLoginTime: 0 }), from: user, to: '0', QoS: false, typeu: -1, sm: -1 });

/** Attacker slots: one connection each, replaced on `reopen`; most start logged in, so the data paths are reached. */
class Slots {
  private readonly sessions: (Session | undefined)[] = [];

  constructor(private readonly h: CoreHarness) {
    for (let i = 0; i < SLOTS; i++) this.reopen(i, 'tcp', i < USERS.length ? USERS[i] : null);
  }

  reopen(i: number, transport: TransportKind, user: string | null): void {
    const old = this.sessions[i];
    if (old) this.h.peerClosed(old);
    const session = this.h.open(transport, `10.0.0.${i + 1}`)?.session;
    this.sessions[i] = session;
    if (session && user !== null) this.h.receive(session, login(user));
  }

  get(i: number): Session | undefined {
    const s = this.sessions[i];
    return s && this.h.live.has(s) ? s : undefined;
  }
}

/** How far each connection has ACKed what it received. */
const ackedUpTo = new WeakMap<FakeConnection, number>();

/** Runs one step; steps on a closed slot do nothing, as a client whose connection is gone sends nothing. */
function apply(h: CoreHarness, slots: Slots, s: Step): void {
  if (s.kind === 'advance') return h.advance(s.ms);
  if (s.kind === 'reopen') return slots.reopen(s.slot, s.transport, s.login);
  if (s.kind === 'flood') {
    // Distinct fingerprints, so that every QoS packet takes a new table entry.
    for (let i = 0; i < s.times; i++) apply(h, slots, { ...s.packet, fp: s.packet.fp === undefined ? undefined : `${s.packet.fp}#${i}` });
    return;
  }
  const session = slots.get(s.slot);
  if (!session) return;
  if (s.kind === 'close') return h.peerClosed(session);
  const connection = h.live.get(session) as FakeConnection;
  if (s.kind === 'break') return void (connection.broken = true);
  if (s.kind === 'ackReceived') {
    const user = session.userId ?? USERS[s.slot % USERS.length];
    const from = ackedUpTo.get(connection) ?? 0;
    ackedUpTo.set(connection, connection.received.length);
    for (const p of connection.received.slice(from)) {
      if (session.closed) break;
      if (p.type !== PacketType.DATA || !p.QoS || p.fp === undefined) continue;
      h.receive(session, JSON.stringify({ bridge: false, type: PacketType.ACK, dataContent: p.fp, from: user, to: p.from, QoS: false, typeu: -1, sm: -1 }));
    }
    return;
  }
  h.receive(session, s.kind === 'garbage' ? s.text : packetText(s, session));
}

/** Sometimes one attacker's C2S handler never returns: its session must hold only itself up. */
const stuckUser = fc.option(fc.constantFrom(...USERS), { nil: undefined });

const verifiers = {
  sync: (token: string | undefined) => (token === 'ok' ? 0 : 1025),
  async: (token: string | undefined) => Promise.resolve(token === 'ok' ? 0 : 1025),
};

describe('fuzz: core login, ACK and data paths', () => {
  quietLogger();

  it('arbitrary packet sequences from several sessions never throw, and the tables stay consistent and bounded', async () => {
    await fc.assert(
      fc.asyncProperty(steps, fc.constantFrom<keyof typeof verifiers>('sync', 'async'), stuckUser, async (steps, verify, stuck) => {
        const h = new CoreHarness(verifiers[verify], stuck);
        const slots = new Slots(h);
        for (const s of steps) {
          apply(h, slots, s);
          if (verify === 'async') await h.settle();
          h.checkInvariants();
        }
        h.shutdown();
      }),
      fuzzParams(150),
    );
  });

  it("no attacker sequence stops another session's keepalive from being answered", async () => {
    await fc.assert(
      fc.asyncProperty(steps, fc.constantFrom<keyof typeof verifiers>('sync', 'async'), stuckUser, async (steps, verify, stuck) => {
        const h = new CoreHarness(verifiers[verify], stuck);
        const { session: victim, connection } = h.open('tcp', '10.9.9.9') as NonNullable<ReturnType<CoreHarness['open']>>;
        h.receive(victim, login(VICTIM));
        await h.settle();
        expect(victim.userId).toBe(VICTIM);
        const slots = new Slots(h);
        for (const s of steps) {
          apply(h, slots, s);
          const before = connection.received.filter((p) => p.type === PacketType.KEEPALIVE_RESPONSE).length;
          h.receive(victim, keepalive(VICTIM));
          if (verify === 'async') await h.settle();
          const after = connection.received.filter((p) => p.type === PacketType.KEEPALIVE_RESPONSE).length;
          if (after !== before + 1) throw new Error(`keepalive not answered after ${JSON.stringify(s)} (victim closed=${victim.closed}, user=${victim.userId})`);
        }
        h.checkInvariants();
        h.shutdown();
      }),
      fuzzParams(100),
    );
  });
});
