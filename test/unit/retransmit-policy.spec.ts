import { resolveOptions } from '../../lib/im-options';
import { encodePacket } from '../../lib/protocol/packet-codec';
import { Packet } from '../../lib/protocol/packet';
import {
  backoffRetransmitPolicy, constantRetransmitPolicy, giveUpAfterMs, qosOutcomeDeadlineMs, retransmitPolicies, RetransmitPolicy,
} from '../../lib/qos/retransmit-policy';
import { SendQoSTable } from '../../lib/qos/send-qos-table';

const packet = (to: string, fp: string): Packet => ({ bridge: false, type: 2, dataContent: 'hi', from: 'alice', to, fp, QoS: true, typeu: -1, sm: -1 });

/** Runs a table tick by tick from 0 to `untilMs` and records when each fp was retransmitted and lost. */
function timeline(policies: Record<string, RetransmitPolicy>, untilMs: number, tickMs = 100) {
  const events: string[] = [];
  let now = 0;
  const table = new SendQoSTable(
    { retransmitIntervalMs: 4000, maxRetransmits: 1, maxPending: 100 },
    { retransmit: (e) => events.push(`${now} retransmit ${e.fp}`), lost: (es) => es.forEach((e) => events.push(`${now} lost ${e.fp}`)) },
  );
  for (const [fp, policy] of Object.entries(policies)) table.track('bob', fp, packet('bob', fp), encodePacket(packet('bob', fp)), 0, undefined, policy);
  for (now = 0; now <= untilMs; now += tickMs) table.tick(now);
  return { events, table };
}

describe('retransmit policies (issue 10 item 6, issue 11 item 3)', () => {
  it('constant: the reference timeline, one retransmission then lost', () => {
    const p = constantRetransmitPolicy(4000, 1);
    expect(giveUpAfterMs(p)).toBe(8000);
    expect(timeline({ a: p }, 20_000).events).toEqual(['4000 retransmit a', '8000 lost a']);
  });

  it('backoff: growing delays up to the cap, no retransmission after the lifetime', () => {
    const p = backoffRetransmitPolicy({ initialDelayMs: 1000, factor: 2, maxDelayMs: 4000, maxRetransmits: 10, lifetimeMs: 10_000 });
    // Attempts at 0, 1, 3, 7, 11 s: 11 s is past the lifetime, so the verdict comes at 11 s.
    expect(timeline({ u: p }, 30_000).events).toEqual(['1000 retransmit u', '3000 retransmit u', '7000 retransmit u', '11000 lost u']);
    expect(giveUpAfterMs(p)).toBe(11_000);
  });

  it('backoff: bounded by maxRetransmits too', () => {
    const p = backoffRetransmitPolicy({ initialDelayMs: 2000, factor: 1.5, maxDelayMs: 10_000, maxRetransmits: 2, lifetimeMs: 60_000 });
    expect(timeline({ u: p }, 30_000).events).toEqual(['2000 retransmit u', '5000 retransmit u', '9500 lost u']);
    expect(giveUpAfterMs(p)).toBe(9500);
  });

  it('entries with different policies share one table and each keeps its own timeline', () => {
    const tcp = constantRetransmitPolicy(4000, 1);
    const udp = backoffRetransmitPolicy({ initialDelayMs: 1000, factor: 2, maxDelayMs: 8000, maxRetransmits: 3, lifetimeMs: 60_000 });
    const { events, table } = timeline({ t: tcp, u: udp }, 30_000);
    expect(events).toEqual(['1000 retransmit u', '3000 retransmit u', '4000 retransmit t', '7000 retransmit u', '8000 lost t', '15000 lost u']);
    expect(table.size).toBe(0);
  });

  it('a late tick retransmits rather than giving up early (the verdict follows the schedule, not the tick)', () => {
    const p = constantRetransmitPolicy(4000, 1);
    expect(timeline({ a: p }, 20_000, 1500).events).toEqual(['4500 retransmit a', '9000 lost a']);
  });

  it('from the options: TCP/WS as the reference, UDP with backoff; the cluster deadline follows the slowest', () => {
    const o = resolveOptions({}).qos;
    const p = retransmitPolicies(o);
    expect(p.tcp).toBe(p.ws);
    expect(giveUpAfterMs(p.tcp)).toBe(8000);
    // UDP defaults: attempts at 0, 2, 6, 14, 22, 30 s, lost at 38 s.
    expect(giveUpAfterMs(p.udp)).toBe(38_000);
    expect(qosOutcomeDeadlineMs(o)).toBe(40_000);
    const tcpOnly = resolveOptions({ qos: { udpRetransmitLifetimeMs: 0, udpRetransmitIntervalMs: 1000 } }).qos;
    // With UDP giving up after 2 s, the TCP policy sets the deadline: as before, interval × (retransmits + 2).
    expect(qosOutcomeDeadlineMs(tcpOnly)).toBe(12_000);
  });
});
