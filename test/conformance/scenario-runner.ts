/**
 * Conformance scenario runner for the MobileIMSDK golden scenarios in
 * `test/conformance/scenarios` (format: that folder's README.md).
 *
 * Pure and reusable: it knows nothing about Nest or the nestjs-im server. Give
 * it a scenario and the host/ports of a running server; it replays the steps
 * over real TCP, WebSocket and UDP sockets and throws a {@link ScenarioFailure}
 * naming the scenario, the failing step (index + action), what was expected
 * and the packet actually received.
 *
 * Its socket clients are its own on purpose, not `nestjs-im/client`'s links:
 * it replays recordings of the reference server, so it must see what a link
 * hides (bytes per packet, binary WebSocket frames, close codes and reasons,
 * a half-closed TCP stream, frames of any size) and send what a link refuses
 * (bytes with no framing, sends after the peer closed), and it must stay an
 * independent check of the server rather than share a client with it. Only
 * the TCP framing (`TcpFrameDecoder`, `encodeTcpFrame`) and the transport
 * names come from `lib/protocol`; packets are matched as recorded JSON.
 *
 * Contents:
 *  - scenario types, loading and validation;
 *  - placeholders (`{{uid:N}}`, `{{fp:N}}`, `{{var:N}}`, `{{pad}}`) and `$stringify`;
 *  - the matcher language (`<any>`, `<capture:N>`, `{$json}`, exact objects, ...);
 *  - `keyOrder` checking on the raw received text;
 *  - tcp / ws / udp clients, each with a FIFO of received packets;
 *  - {@link runScenario}.
 */
import { randomBytes } from 'crypto';
import * as dgram from 'dgram';
import { readdirSync, readFileSync } from 'fs';
import * as net from 'net';
import * as path from 'path';
import { performance } from 'perf_hooks';
import WebSocket from 'ws';
import { encodeTcpFrame, TcpFrameDecoder } from '../../lib/protocol/tcp-frame-decoder';
import { TRANSPORT_KINDS, TransportKind } from '../../lib/protocol/transport-kind';

// ---------------------------------------------------------------------------
// Scenario types
// ---------------------------------------------------------------------------

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
/** The transport a scenario step uses (the protocol's one union). */
export type TransportName = TransportKind;

/** Fields a recorded step may carry that runners ignore (README "Informational fields"). */
interface StepBase {
  observed?: string;
  observedBytes?: number;
  observedMs?: number;
  observedWsClose?: [number, string];
  /** Free text; used by the quirk fixes to say what was changed. Ignored by the runner. */
  comment?: string;
}

export interface ConnectStep extends StepBase {
  action: 'connect';
  client: string;
  transport: TransportName;
  /** WebSocket only; default `/websocket`. */
  path?: string;
}
export interface SendStep extends StepBase {
  action: 'send';
  client: string;
  packet: Json;
}
export interface SendTextStep extends StepBase {
  action: 'sendText';
  client: string;
  text: string;
  padToBytes?: number;
  padChar?: string;
}
export interface SendRawStep extends StepBase {
  action: 'sendRaw';
  client: string;
  bytesHex: string;
}
export interface SendBinaryStep extends StepBase {
  action: 'sendBinary';
  client: string;
  bytesHex: string;
}
export interface ExpectStep extends StepBase {
  action: 'expect';
  client: string;
  packet: Json;
  withinMs: number;
  notBeforeMs?: number;
  sinceMark?: string;
  keyOrder?: string[];
}
export interface ExpectNothingStep extends StepBase {
  action: 'expectNothing';
  client: string;
  forMs: number;
}
export interface ExpectClosedStep extends StepBase {
  action: 'expectClosed';
  client: string;
  withinMs: number;
  notBeforeMs?: number;
  sinceMark?: string;
  wsCloseCode?: number;
}
export interface ExpectOpenStep extends StepBase {
  action: 'expectOpen';
  client: string;
}
export interface CloseStep extends StepBase {
  action: 'close';
  client: string;
}
export interface SleepStep extends StepBase {
  action: 'sleep';
  ms: number;
}
export interface MarkStep extends StepBase {
  action: 'mark';
  name: string;
}

export type Step =
  | ConnectStep
  | SendStep
  | SendTextStep
  | SendRawStep
  | SendBinaryStep
  | ExpectStep
  | ExpectNothingStep
  | ExpectClosedStep
  | ExpectOpenStep
  | CloseStep
  | SleepStep
  | MarkStep;

export type StepAction = Step['action'];

export interface Scenario {
  name: string;
  description?: string;
  tags: string[];
  steps: Step[];
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/** The scenario file itself is malformed (not a server failure). */
export class ScenarioError extends Error {
  override name = 'ScenarioError';
}

/** A step did not hold. Thrown by step code, turned into a ScenarioFailure by the runner. */
export class StepFailure extends Error {
  override name = 'StepFailure';
  constructor(
    message: string,
    readonly details: { expected?: string; received?: ReceivedPacket; mismatch?: string; extra?: string[] } = {},
  ) {
    super(message);
  }
}

/** The error {@link runScenario} throws: names scenario, step and packets. */
export class ScenarioFailure extends Error {
  override name = 'ScenarioFailure';
  constructor(
    message: string,
    readonly scenario: string,
    /** 0-based index into the steps; `steps.length` for the final check. */
    readonly stepIndex: number,
    readonly action: string,
    readonly reason: string,
    readonly expected?: string,
    readonly receivedText?: string,
  ) {
    super(message);
    // The message says everything; a stack into the runner only adds noise to reports.
    this.stack = `${this.name}: ${message}`;
  }
}

// ---------------------------------------------------------------------------
// Loading and validation
// ---------------------------------------------------------------------------

const INFORMATIONAL_FIELDS = ['observed', 'observedBytes', 'observedMs', 'observedWsClose', 'comment'];

const STEP_FIELDS: Record<StepAction, { required: string[]; optional: string[]; client: boolean }> = {
  connect: { required: ['transport'], optional: ['path'], client: true },
  send: { required: ['packet'], optional: [], client: true },
  sendText: { required: ['text'], optional: ['padToBytes', 'padChar'], client: true },
  sendRaw: { required: ['bytesHex'], optional: [], client: true },
  sendBinary: { required: ['bytesHex'], optional: [], client: true },
  expect: { required: ['packet', 'withinMs'], optional: ['notBeforeMs', 'sinceMark', 'keyOrder'], client: true },
  expectNothing: { required: ['forMs'], optional: [], client: true },
  expectClosed: { required: ['withinMs'], optional: ['notBeforeMs', 'sinceMark', 'wsCloseCode'], client: true },
  expectOpen: { required: [], optional: [], client: true },
  close: { required: [], optional: [], client: true },
  sleep: { required: ['ms'], optional: [], client: false },
  mark: { required: ['name'], optional: [], client: false },
};

/**
 * Structural check of a scenario: known actions, required fields, clients
 * connected before use, transport-specific actions on the right transport,
 * marks defined before `sinceMark`. Returns a list of problems (empty = ok).
 */
export function validateScenario(scenario: Scenario): string[] {
  const problems: string[] = [];
  if (!scenario || typeof scenario !== 'object') return ['scenario is not an object'];
  if (typeof scenario.name !== 'string' || !scenario.name) problems.push('missing "name"');
  if (!Array.isArray(scenario.tags)) problems.push('"tags" is not an array');
  if (!Array.isArray(scenario.steps) || scenario.steps.length === 0) {
    problems.push('"steps" is missing or empty');
    return problems;
  }
  const transports = new Map<string, TransportName>();
  const marks = new Set<string>();
  scenario.steps.forEach((raw, i) => {
    const step = raw as unknown as Record<string, unknown>;
    const at = `step ${i}`;
    const spec = STEP_FIELDS[step.action as StepAction];
    if (!spec) {
      problems.push(`${at}: unknown action ${JSON.stringify(step.action)}`);
      return;
    }
    const allowed = new Set(['action', ...(spec.client ? ['client'] : []), ...spec.required, ...spec.optional, ...INFORMATIONAL_FIELDS]);
    for (const key of Object.keys(step)) if (!allowed.has(key)) problems.push(`${at} (${step.action}): unknown field "${key}"`);
    for (const key of spec.required) if (step[key] === undefined) problems.push(`${at} (${step.action}): missing "${key}"`);
    for (const key of ['withinMs', 'notBeforeMs', 'forMs', 'ms', 'padToBytes', 'wsCloseCode']) {
      if (step[key] !== undefined && (typeof step[key] !== 'number' || !Number.isFinite(step[key] as number) || (step[key] as number) < 0)) {
        problems.push(`${at} (${step.action}): "${key}" must be a non-negative number`);
      }
    }
    if (spec.client && (typeof step.client !== 'string' || !step.client)) {
      problems.push(`${at} (${step.action}): missing "client"`);
      return;
    }
    const client = step.client as string;
    if (step.action === 'connect') {
      if (!(TRANSPORT_KINDS as readonly string[]).includes(step.transport as string)) problems.push(`${at}: unknown transport ${JSON.stringify(step.transport)}`);
      if (transports.has(client)) problems.push(`${at}: client "${client}" connected twice`);
      if (step.path !== undefined && step.transport !== 'ws') problems.push(`${at}: "path" is only valid for ws`);
      transports.set(client, step.transport as TransportName);
    } else if (spec.client && !transports.has(client)) {
      problems.push(`${at} (${step.action}): client "${client}" used before its connect step`);
    }
    const transport = transports.get(client);
    if (step.action === 'sendBinary' && transport && transport !== 'ws') problems.push(`${at}: sendBinary is WebSocket only`);
    if (step.action === 'sendRaw' && transport === 'ws') problems.push(`${at}: sendRaw is TCP/UDP only`);
    if (step.action === 'expectClosed' && transport === 'udp') problems.push(`${at}: expectClosed is not valid for UDP`);
    if (step.action === 'expectClosed' && step.wsCloseCode !== undefined && transport !== 'ws') {
      problems.push(`${at}: wsCloseCode is WebSocket only`);
    }
    if ((step.action === 'sendRaw' || step.action === 'sendBinary') && !/^(?:[0-9a-fA-F]{2})*$/.test(String(step.bytesHex))) {
      problems.push(`${at}: bytesHex is not an even-length hex string`);
    }
    if (step.action === 'sendText') {
      const count = String(step.text).split(PAD_TOKEN).length - 1;
      if (step.padToBytes !== undefined && count !== 1) problems.push(`${at}: padToBytes needs exactly one {{pad}} in text (found ${count})`);
      if (step.padToBytes === undefined && count > 0) problems.push(`${at}: {{pad}} without padToBytes`);
      if (step.padChar !== undefined && (typeof step.padChar !== 'string' || step.padChar.length === 0)) problems.push(`${at}: padChar must be a non-empty string`);
    }
    if (step.action === 'expect' && step.keyOrder !== undefined && (!Array.isArray(step.keyOrder) || step.keyOrder.some((k) => typeof k !== 'string'))) {
      problems.push(`${at}: keyOrder must be an array of strings`);
    }
    if (step.action === 'mark') marks.add(String(step.name));
    if (step.sinceMark !== undefined && !marks.has(String(step.sinceMark))) problems.push(`${at}: sinceMark "${step.sinceMark}" is not defined by an earlier mark step`);
  });
  return problems;
}

/** Reads and validates one scenario file; `name` must equal the file name. */
export function loadScenario(file: string): Scenario {
  let scenario: Scenario;
  try {
    scenario = JSON.parse(readFileSync(file, 'utf8')) as Scenario;
  } catch (err) {
    throw new ScenarioError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  const expectedName = path.basename(file, '.json');
  const problems = validateScenario(scenario);
  if (scenario && scenario.name !== expectedName) problems.unshift(`name "${scenario.name}" does not match file name "${expectedName}"`);
  if (problems.length) throw new ScenarioError(`${file}: invalid scenario:\n  ${problems.join('\n  ')}`);
  return scenario;
}

/** All `*.json` scenarios of a folder, sorted by name. */
export function loadScenarios(dir: string): Scenario[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => loadScenario(path.join(dir, f)));
}

// ---------------------------------------------------------------------------
// Placeholders
// ---------------------------------------------------------------------------

export const PAD_TOKEN = '{{pad}}';
const WHOLE_VAR = /^\{\{var:([^{}]+)\}\}$/;
const TOKEN = /\{\{(uid|fp|var):([^{}]+)\}\}/g;

/** Per-run state for placeholders: the random suffix and the captured variables. */
export interface PlaceholderContext {
  /** Random suffix of this run, e.g. `k3j9x2`. */
  readonly suffix: string;
  /** Variables captured by `<capture:N>` / `$capture`. */
  readonly vars: Map<string, Json>;
}

/** A fresh random suffix: 6 characters of [a-z0-9]. */
export function randomSuffix(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(6), (b) => alphabet[b % alphabet.length]).join('');
}

export function createContext(suffix: string = randomSuffix()): PlaceholderContext {
  return { suffix, vars: new Map() };
}

export function uidFor(ctx: PlaceholderContext, name: string): string {
  return `g-${ctx.suffix}-${name.toLowerCase()}`;
}

export function fpFor(ctx: PlaceholderContext, name: string): string {
  return `fp-${ctx.suffix}-${name.toLowerCase()}`;
}

function lookupVar(ctx: PlaceholderContext, name: string, pending?: Map<string, Json>): Json {
  if (pending?.has(name)) return pending.get(name) as Json;
  if (!ctx.vars.has(name)) throw new ScenarioError(`{{var:${name}}} used before it was captured`);
  return ctx.vars.get(name) as Json;
}

/** Replaces `{{uid:..}}`, `{{fp:..}}` and `{{var:..}}` inside a string; the result is always a string. */
export function substituteText(text: string, ctx: PlaceholderContext, pending?: Map<string, Json>): string {
  return text.replace(TOKEN, (_all, kind: string, name: string) => {
    if (kind === 'uid') return uidFor(ctx, name);
    if (kind === 'fp') return fpFor(ctx, name);
    const value = lookupVar(ctx, name, pending);
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

/**
 * Substitutes one string value. A string that is exactly `{{var:NAME}}`
 * becomes the captured value with its JSON type; otherwise the result is text.
 */
export function substituteString(text: string, ctx: PlaceholderContext, pending?: Map<string, Json>): Json {
  const whole = WHOLE_VAR.exec(text);
  if (whole) return lookupVar(ctx, whole[1], pending);
  return substituteText(text, ctx, pending);
}

/** Deep placeholder substitution (object keys are left alone). */
export function substitute(value: Json, ctx: PlaceholderContext): Json {
  if (typeof value === 'string') return substituteString(value, ctx);
  if (Array.isArray(value)) return value.map((v) => substitute(v, ctx));
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = substitute(v, ctx);
    return out;
  }
  return value;
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Builds the value to send for a `send` step: placeholder substitution, then
 * every `{"$stringify": X}` is replaced by the JSON text of (resolved) X.
 */
export function resolvePacket(value: Json, ctx: PlaceholderContext): Json {
  if (typeof value === 'string') return substituteString(value, ctx);
  if (Array.isArray(value)) return value.map((v) => resolvePacket(v, ctx));
  if (isObject(value)) {
    if ('$stringify' in value) {
      if (Object.keys(value).length !== 1) throw new ScenarioError('a {"$stringify": X} object must have no other keys');
      return JSON.stringify(resolvePacket(value.$stringify, ctx));
    }
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolvePacket(v, ctx);
    return out;
  }
  return value;
}

/**
 * Replaces the single `{{pad}}` of `text` with as many `padChar` as needed for
 * the UTF-8 encoding of the result to be exactly `padToBytes` bytes.
 */
export function padText(text: string, padToBytes: number, padChar = 'x'): string {
  const parts = text.split(PAD_TOKEN);
  if (parts.length !== 2) throw new ScenarioError(`padToBytes needs exactly one ${PAD_TOKEN} in the text (found ${parts.length - 1})`);
  if (!padChar) throw new ScenarioError('padChar must not be empty');
  const base = Buffer.byteLength(parts[0] + parts[1], 'utf8');
  const unit = Buffer.byteLength(padChar, 'utf8');
  const missing = padToBytes - base;
  if (missing < 0) throw new ScenarioError(`text is already ${base} bytes without padding, more than padToBytes ${padToBytes}`);
  if (missing % unit !== 0) throw new ScenarioError(`cannot reach ${padToBytes} bytes with padChar "${padChar}" (${unit} bytes each) from ${base} bytes`);
  return parts[0] + padChar.repeat(missing / unit) + parts[1];
}

// ---------------------------------------------------------------------------
// Matcher
// ---------------------------------------------------------------------------

export interface MatchMismatch {
  /** Where, e.g. `$.dataContent<json>.firstLoginTime`. */
  path: string;
  /** Human-readable reason. */
  reason: string;
}

export type MatchResult = { ok: true; captures: Map<string, Json> } | { ok: false; mismatch: MatchMismatch };

const CAPTURE = /^<capture:([^<>]+)>$/;

function show(value: Json | undefined): string {
  if (value === undefined) return '(absent)';
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || a === undefined || b === undefined) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (typeof a === 'object') {
    if (Array.isArray(b) || typeof b !== 'object') return false;
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Matches a received (parsed) JSON value against a matcher. Placeholders in
 * the matcher are substituted as it is walked. Captures are returned, not
 * stored; the caller commits them only if the whole packet matched.
 */
export function matchValue(matcher: Json, actual: Json | undefined, ctx: PlaceholderContext): MatchResult {
  const captures = new Map<string, Json>();
  const mismatch = matchAt(matcher, actual, '$', ctx, captures);
  return mismatch ? { ok: false, mismatch } : { ok: true, captures };
}

function matchAt(matcher: Json, actual: Json | undefined, at: string, ctx: PlaceholderContext, captures: Map<string, Json>): MatchMismatch | null {
  const fail = (reason: string): MatchMismatch => ({ path: at, reason });

  if (typeof matcher === 'number') {
    return typeof actual === 'number' && actual === matcher ? null : fail(`expected the number ${matcher}, got ${show(actual)}`);
  }
  if (typeof matcher === 'boolean' || matcher === null) {
    return actual === matcher ? null : fail(`expected ${JSON.stringify(matcher)}, got ${show(actual)}`);
  }
  if (typeof matcher === 'string') {
    switch (matcher) {
      case '<any>':
        return actual !== undefined ? null : fail('expected a value (<any>), but the key is absent');
      case '<any-string>':
        return typeof actual === 'string' ? null : fail(`expected a string (<any-string>), got ${show(actual)}`);
      case '<number>':
        return typeof actual === 'number' && Number.isFinite(actual) ? null : fail(`expected a number (<number>), got ${show(actual)}`);
      case '<boolean>':
        return typeof actual === 'boolean' ? null : fail(`expected a boolean (<boolean>), got ${show(actual)}`);
      case '<json>':
        if (typeof actual !== 'string') return fail(`expected a string holding JSON (<json>), got ${show(actual)}`);
        try {
          JSON.parse(actual);
          return null;
        } catch {
          return fail(`expected a string holding JSON (<json>), got non-JSON text ${show(actual)}`);
        }
      case '<absent>':
        return actual === undefined ? null : fail(`expected the key to be absent, got ${show(actual)}`);
    }
    const capture = CAPTURE.exec(matcher);
    if (capture) {
      if (actual === undefined) return fail(`expected a value to capture as "${capture[1]}", but the key is absent`);
      captures.set(capture[1], actual);
      return null;
    }
    const whole = WHOLE_VAR.exec(matcher);
    if (whole) {
      const value = lookupVar(ctx, whole[1], captures);
      return deepEqual(value, actual) ? null : fail(`expected ${show(value)} ({{var:${whole[1]}}}), got ${show(actual)}`);
    }
    const expected = substituteText(matcher, ctx, captures);
    return actual === expected ? null : fail(`expected the string ${show(expected)}, got ${show(actual)}`);
  }
  if (Array.isArray(matcher)) {
    if (!Array.isArray(actual)) return fail(`expected an array of ${matcher.length}, got ${show(actual)}`);
    if (actual.length !== matcher.length) return fail(`expected an array of ${matcher.length} elements, got ${actual.length}: ${show(actual)}`);
    for (let i = 0; i < matcher.length; i++) {
      const m = matchAt(matcher[i], actual[i], `${at}[${i}]`, ctx, captures);
      if (m) return m;
    }
    return null;
  }
  // Object matchers.
  if ('$capture' in matcher) {
    const name = matcher.$capture;
    const extra = Object.keys(matcher).filter((k) => k !== '$capture' && k !== '$match');
    if (typeof name !== 'string' || !name || extra.length) throw new ScenarioError(`bad $capture matcher at ${at}: ${JSON.stringify(matcher)}`);
    if (actual === undefined) return fail(`expected a value to capture as "${name}", but the key is absent`);
    if ('$match' in matcher) {
      const m = matchAt(matcher.$match, actual, at, ctx, captures);
      if (m) return m;
    }
    captures.set(name, actual);
    return null;
  }
  if ('$json' in matcher) {
    if (Object.keys(matcher).length !== 1) throw new ScenarioError(`a {"$json": M} matcher must have no other keys (at ${at})`);
    if (typeof actual !== 'string') return fail(`expected a string holding JSON ($json), got ${show(actual)}`);
    let parsed: Json;
    try {
      parsed = JSON.parse(actual) as Json;
    } catch {
      return fail(`expected a string holding JSON ($json), got non-JSON text ${show(actual)}`);
    }
    return matchAt(matcher.$json, parsed, `${at}<json>`, ctx, captures);
  }
  if ('$stringify' in matcher) throw new ScenarioError(`$stringify is for sent packets only, found in a matcher at ${at}`);
  if (!isObject(actual)) return fail(`expected an object, got ${show(actual)}`);
  const partial = matcher.$partial === true;
  const keys = Object.keys(matcher).filter((k) => k !== '$partial');
  for (const key of keys) {
    const sub = matcher[key];
    const has = Object.prototype.hasOwnProperty.call(actual, key);
    if (sub === '<absent>') {
      if (has) return { path: `${at}.${key}`, reason: `expected the key to be absent, got ${show(actual[key])}` };
      continue;
    }
    if (!has) return { path: `${at}.${key}`, reason: `missing key (expected ${show(substituteForDisplay(sub, ctx, captures))})` };
    const m = matchAt(sub, actual[key], `${at}.${key}`, ctx, captures);
    if (m) return m;
  }
  if (!partial) {
    const unexpected = Object.keys(actual).filter((k) => !keys.includes(k));
    if (unexpected.length) {
      return fail(`unexpected key${unexpected.length > 1 ? 's' : ''} ${unexpected.map((k) => `"${k}": ${show(actual[k])}`).join(', ')}`);
    }
  }
  return null;
}

/** The matcher with placeholders filled in (vars that are not captured yet are left as is), for messages. */
export function substituteForDisplay(matcher: Json, ctx: PlaceholderContext, pending?: Map<string, Json>): Json {
  if (typeof matcher === 'string') {
    try {
      return substituteString(matcher, ctx, pending);
    } catch {
      return matcher;
    }
  }
  if (Array.isArray(matcher)) return matcher.map((m) => substituteForDisplay(m, ctx, pending));
  if (isObject(matcher)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(matcher)) out[k] = k === '$capture' ? v : substituteForDisplay(v, ctx, pending);
    return out;
  }
  return matcher;
}

// ---------------------------------------------------------------------------
// keyOrder
// ---------------------------------------------------------------------------

/**
 * Top-level keys of a JSON object text, in the order they appear (duplicates
 * kept). The text must already be known to be valid JSON. Returns [] when the
 * text is not an object.
 */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const readString = (): string => {
    const start = i;
    i++; // opening quote
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++; // closing quote
    return JSON.parse(text.slice(start, i)) as string;
  };
  const skipValue = () => {
    ws();
    if (text[i] === '"') {
      readString();
      return;
    }
    if (text[i] === '{' || text[i] === '[') {
      let depth = 0;
      while (i < text.length) {
        const c = text[i];
        if (c === '"') {
          readString();
          continue;
        }
        if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') depth--;
        i++;
        if (depth === 0) return;
      }
      return;
    }
    while (i < text.length && !',}]'.includes(text[i])) i++;
  };
  ws();
  if (text[i] !== '{') return keys;
  i++;
  for (;;) {
    ws();
    if (i >= text.length || text[i] === '}') break;
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] !== '"') break;
    keys.push(readString());
    ws();
    if (text[i] === ':') i++;
    skipValue();
  }
  return keys;
}

/**
 * Checks that the keys of the received text that appear in `order` come in
 * that relative order. Returns null when they do, otherwise a description.
 */
export function checkKeyOrder(text: string, order: string[]): string | null {
  const seen = topLevelKeys(text).filter((k) => order.includes(k));
  for (let i = 1; i < seen.length; i++) {
    if (order.indexOf(seen[i]) <= order.indexOf(seen[i - 1])) {
      return `key order [${seen.join(', ')}] does not follow [${order.join(', ')}] ("${seen[i]}" after "${seen[i - 1]}")`;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------

const now = (): number => performance.now();

export interface ReceivedPacket {
  /** The packet text (UTF-8 decoded frame body / datagram / WebSocket message). */
  text: string;
  /** Size of the body in bytes. */
  bytes: number;
  /** Arrival time (performance.now()). */
  at: number;
  /** WebSocket binary frame (the protocol only uses text frames). */
  binary?: boolean;
  /** Index of the step that consumed it. */
  consumedBy?: number;
}

/** One scenario client: a FIFO of received packets plus close tracking. */
export abstract class ScenarioClient {
  readonly received: ReceivedPacket[] = [];
  /** Index of the first packet no step has consumed. */
  private head = 0;
  /** When the connection was found closed (server close, reset or client close). */
  closedAt?: number;
  /** The client closed its side itself (`close` step or cleanup). */
  closedByClient = false;
  /** WebSocket close code / reason of the close frame received. */
  closeCode?: number;
  closeReason?: string;
  /** Last socket error, if any (kept for reports). */
  lastError?: Error;
  private listeners = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly transport: TransportName,
  ) {}

  abstract open(timeoutMs: number): Promise<void>;
  /** Sends one packet text (framed for TCP, one text frame for ws, one datagram for UDP). */
  abstract sendText(text: string): void;
  /** TCP: bytes with no framing; UDP: one datagram. */
  abstract sendRaw(bytes: Buffer): void;
  /** WebSocket: one binary frame. */
  abstract sendBinary(bytes: Buffer): void;
  /** Close our side gracefully. */
  abstract close(): void;
  /** Release everything now (cleanup). */
  abstract destroy(): void;

  get isClosed(): boolean {
    return this.closedAt !== undefined;
  }

  /** The next unconsumed packet, without consuming it. */
  peek(): ReceivedPacket | undefined {
    return this.received[this.head];
  }

  /** Consumes the next packet. */
  take(stepIndex: number): ReceivedPacket | undefined {
    const packet = this.received[this.head];
    if (packet) {
      packet.consumedBy = stepIndex;
      this.head++;
    }
    return packet;
  }

  unconsumed(): ReceivedPacket[] {
    return this.received.slice(this.head);
  }

  /** Resolves at the next packet/close event, or after `ms`. */
  waitForEvent(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.listeners.add(done);
    });
  }

  protected pushPacket(text: string, bytes: number, binary = false): void {
    this.received.push({ text, bytes, at: now(), binary: binary || undefined });
    this.notify();
  }

  protected markClosed(code?: number, reason?: string): void {
    if (code !== undefined && this.closeCode === undefined) {
      this.closeCode = code;
      this.closeReason = reason;
    }
    if (this.closedAt === undefined) {
      this.closedAt = now();
      this.notify();
    }
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`${what} not established within ${ms} ms`));
    }, ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** TCP: 4-byte big-endian length + UTF-8 JSON body, both directions. */
export class TcpClient extends ScenarioClient {
  private socket?: net.Socket;
  /** No size limit: a recording may hold any frame the server sent (the header's maximum is 2^32-1). */
  private readonly decoder = new TcpFrameDecoder(0xffff_ffff);

  constructor(
    name: string,
    private readonly host: string,
    private readonly port: number,
  ) {
    super(name, 'tcp');
  }

  open(timeoutMs: number): Promise<void> {
    const socket = net.connect({ host: this.host, port: this.port });
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.markClosed());
    socket.on('close', () => this.markClosed());
    socket.on('error', (err) => {
      this.lastError = err;
      this.markClosed();
    });
    const connected = new Promise<void>((resolve, reject) => {
      socket.once('connect', () => {
        socket.setNoDelay(true);
        resolve();
      });
      socket.once('error', reject);
    });
    return withTimeout(connected, timeoutMs, () => socket.destroy(), `TCP connection to ${this.host}:${this.port}`);
  }

  private onData(chunk: Buffer): void {
    const bad = this.decoder.push(chunk, (body) => this.pushPacket(body.toString('utf8'), body.length));
    if (bad) {
      // A zero-length frame: no MobileIMSDK peer sends one; report it with the close.
      this.lastError = new Error(`server sent an ${bad} TCP frame`);
      this.socket?.destroy();
    }
  }

  /** Bytes of an incomplete frame still buffered (reported on failure). */
  get pendingBytes(): number {
    return this.decoder.bufferedBytes;
  }

  sendText(text: string): void {
    this.write(encodeTcpFrame(text));
  }

  sendRaw(bytes: Buffer): void {
    this.write(bytes);
  }

  sendBinary(): void {
    throw new ScenarioError('sendBinary is WebSocket only');
  }

  private write(bytes: Buffer): void {
    // Asynchronous write errors (the server closed or reset meanwhile) are
    // recorded by the 'error' handler as a close; they do not fail the send.
    this.socket?.write(bytes);
  }

  close(): void {
    this.closedByClient = true;
    this.socket?.end();
  }

  destroy(): void {
    this.socket?.destroy();
  }
}

/** WebSocket: one packet per text frame; no compression, no subprotocol. */
export class WsClient extends ScenarioClient {
  private socket?: WebSocket;

  constructor(
    name: string,
    private readonly url: string,
  ) {
    super(name, 'ws');
  }

  open(timeoutMs: number): Promise<void> {
    const socket = new WebSocket(this.url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    this.socket = socket;
    socket.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      this.pushPacket(buf.toString('utf8'), buf.length, isBinary);
    });
    socket.on('close', (code: number, reason: Buffer) => this.markClosed(code, reason.toString('utf8')));
    socket.on('error', (err) => {
      this.lastError = err;
    });
    const opened = new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => {
        reject(new Error(`WebSocket handshake answered with HTTP ${res.statusCode}`));
        socket.terminate();
      });
    });
    return withTimeout(opened, timeoutMs, () => socket.terminate(), `WebSocket ${this.url}`);
  }

  sendText(text: string): void {
    this.sendFrame(text, false);
  }

  sendRaw(): void {
    throw new ScenarioError('sendRaw is TCP/UDP only');
  }

  sendBinary(bytes: Buffer): void {
    this.sendFrame(bytes, true);
  }

  private sendFrame(data: string | Buffer, binary: boolean): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      const state = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'][socket?.readyState ?? 3];
      throw new StepFailure(`cannot send: the WebSocket is ${state}`);
    }
    socket.send(data, { binary, compress: false, fin: true }, (err) => {
      if (err) this.lastError = err;
    });
  }

  close(): void {
    this.closedByClient = true;
    this.socket?.close(1000);
  }

  destroy(): void {
    this.socket?.terminate();
  }
}

/** UDP: one datagram per packet, from a socket bound to 127.0.0.1:ephemeral. */
export class UdpClient extends ScenarioClient {
  private socket?: dgram.Socket;
  private socketClosed = false;

  constructor(
    name: string,
    private readonly host: string,
    private readonly port: number,
  ) {
    super(name, 'udp');
  }

  open(timeoutMs: number): Promise<void> {
    const socket = dgram.createSocket('udp4');
    this.socket = socket;
    socket.on('message', (msg: Buffer) => this.pushPacket(msg.toString('utf8'), msg.length));
    socket.on('error', (err) => {
      this.lastError = err;
    });
    socket.on('close', () => {
      this.socketClosed = true;
    });
    const bound = new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: '127.0.0.1', port: 0 }, () => resolve());
    });
    return withTimeout(bound, timeoutMs, () => this.destroy(), 'UDP socket');
  }

  /** The local port, i.e. the session identity on the server. */
  get localPort(): number | undefined {
    try {
      return this.socket?.address().port;
    } catch {
      return undefined;
    }
  }

  sendText(text: string): void {
    this.sendRaw(Buffer.from(text, 'utf8'));
  }

  sendRaw(bytes: Buffer): void {
    this.socket?.send(bytes, this.port, this.host, (err) => {
      if (err) this.lastError = err;
    });
  }

  sendBinary(): void {
    throw new ScenarioError('sendBinary is WebSocket only');
  }

  close(): void {
    this.closedByClient = true;
    this.destroy();
  }

  destroy(): void {
    if (this.socket && !this.socketClosed) {
      this.socketClosed = true;
      this.socket.close();
    }
  }
}

// ---------------------------------------------------------------------------
// Runner
// ---------------------------------------------------------------------------

export interface ServerAddress {
  host: string;
  ports: { tcp: number; udp: number; ws: number };
}

export interface RunOptions extends ServerAddress {
  /** Default WebSocket path when a connect step gives none. Default `/websocket`. */
  wsPath?: string;
  /** Replaces parts of the run; `steps` replaces the scenario's steps (quirk fixes). */
  overrides?: {
    steps?: Step[];
    /** Fixed placeholder suffix (default: random per run). */
    suffix?: string;
    /** Connect timeout, default 3000 ms. */
    connectTimeoutMs?: number;
    /** Wait after the last step before the final check, default 300 ms. */
    finalWaitMs?: number;
  };
  /** Receives one line per step (for debugging). */
  log?: (line: string) => void;
}

export interface RunResult {
  scenario: string;
  suffix: string;
  steps: number;
  durationMs: number;
}

const DEFAULT_WS_PATH = '/websocket';
const TRUNCATE = 1200;

function truncate(text: string, max = TRUNCATE): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

function stepForDisplay(step: Step): string {
  const copy: Record<string, unknown> = { ...step };
  for (const key of INFORMATIONAL_FIELDS) delete copy[key];
  return truncate(JSON.stringify(copy), 600);
}

interface RunState {
  ctx: PlaceholderContext;
  clients: Map<string, ScenarioClient>;
  marks: Map<string, number>;
  start: number;
  stepIndex: number;
}

/**
 * Runs one scenario against a server. Resolves when every step and the final
 * check held; otherwise rejects with a {@link ScenarioFailure} (or a
 * {@link ScenarioError} for a malformed scenario). All clients are closed
 * before it returns.
 */
export async function runScenario(scenario: Scenario, options: RunOptions): Promise<RunResult> {
  const steps = options.overrides?.steps ?? scenario.steps;
  const effective: Scenario = { ...scenario, steps };
  const problems = validateScenario(effective);
  if (problems.length) throw new ScenarioError(`scenario "${scenario.name}" is invalid:\n  ${problems.join('\n  ')}`);

  const state: RunState = {
    ctx: createContext(options.overrides?.suffix),
    clients: new Map(),
    marks: new Map(),
    start: now(),
    stepIndex: 0,
  };
  const log = options.log ?? (() => undefined);
  try {
    for (let i = 0; i < steps.length; i++) {
      state.stepIndex = i;
      const step = steps[i];
      log(`[${scenario.name}] +${Math.round(now() - state.start)}ms step ${i} ${stepForDisplay(step)}`);
      try {
        await runStep(step, i, state, options);
      } catch (err) {
        throw toFailure(err, scenario.name, i, step, state);
      }
    }
    // Final check: every packet any client received must have been consumed.
    await sleep(options.overrides?.finalWaitMs ?? 300);
    for (const client of state.clients.values()) {
      const left = client.unconsumed();
      if (left.length) {
        const failure = new StepFailure(
          `client ${client.name} (${client.transport}) has ${left.length} unconsumed packet${left.length > 1 ? 's' : ''} after the last step`,
          { received: left[0], extra: left.slice(1).map((p) => `also unconsumed: ${truncate(p.text, 300)}`) },
        );
        throw toFailure(failure, scenario.name, steps.length, { action: 'final check' } as unknown as Step, state);
      }
    }
    return { scenario: scenario.name, suffix: state.ctx.suffix, steps: steps.length, durationMs: Math.round(now() - state.start) };
  } finally {
    for (const client of state.clients.values()) client.destroy();
  }
}

function toFailure(err: unknown, scenario: string, index: number, step: Step, state: RunState): Error {
  if (err instanceof ScenarioError) return new ScenarioError(`scenario "${scenario}", step ${index} (${step.action}): ${err.message}`);
  const failure = err instanceof StepFailure ? err : new StepFailure(`unexpected error: ${(err as Error)?.stack ?? String(err)}`);
  const clientName = (step as { client?: string }).client;
  const title = `Scenario "${scenario}" failed at step ${index} (${step.action}${clientName ? `, client ${clientName}` : ''}): ${failure.message}`;
  const lines = [title];
  if (step.action !== ('final check' as StepAction)) lines.push(`  step:      ${stepForDisplay(step)}`);
  if (failure.details.expected !== undefined) lines.push(`  expected:  ${truncate(failure.details.expected)}`);
  const received = failure.details.received;
  if (received) {
    lines.push(`  received:  ${truncate(received.text)}`);
    lines.push(`             (${received.bytes} bytes${received.binary ? ', binary frame' : ''}, arrived at +${Math.round(received.at - state.start)} ms of the run)`);
  }
  if (failure.details.mismatch) lines.push(`  mismatch:  ${failure.details.mismatch}`);
  for (const extra of failure.details.extra ?? []) lines.push(`  ${extra}`);
  lines.push(`  run:       uid suffix "${state.ctx.suffix}", failed at +${Math.round(now() - state.start)} ms`);
  for (const client of state.clients.values()) lines.push(...describeClient(client, state.start));
  return new ScenarioFailure(
    lines.join('\n'),
    scenario,
    index,
    step.action,
    failure.message,
    failure.details.expected,
    received?.text,
  );
}

function describeClient(client: ScenarioClient, start: number): string[] {
  const status = client.isClosed
    ? `closed at +${Math.round((client.closedAt as number) - start)} ms${client.closedByClient ? ' (by the client)' : ''}${
        client.closeCode !== undefined ? `, close code ${client.closeCode}${client.closeReason ? ` "${client.closeReason}"` : ''}` : ''
      }`
    : 'open';
  const lines = [`  client ${client.name} (${client.transport}, ${status}${client.lastError ? `, last error: ${client.lastError.message}` : ''}):`];
  if (client instanceof TcpClient && client.pendingBytes) lines.push(`    ${client.pendingBytes} bytes of an incomplete frame buffered`);
  for (const packet of client.received) {
    const by = packet.consumedBy !== undefined ? `step ${packet.consumedBy}` : 'UNCONSUMED';
    lines.push(`    +${Math.round(packet.at - start)}ms [${by}] ${truncate(packet.text, 300)}`);
  }
  if (!client.received.length) lines.push('    (nothing received)');
  return lines;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `probe` returns a value or `deadline` (performance.now()) passes. */
async function waitFor<T>(client: ScenarioClient, probe: () => T | undefined, deadline: number): Promise<T | undefined> {
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    const left = deadline - now();
    if (left <= 0) return undefined;
    await client.waitForEvent(left);
  }
}

function clientOf(state: RunState, name: string): ScenarioClient {
  const client = state.clients.get(name);
  if (!client) throw new ScenarioError(`client "${name}" is not connected`);
  return client;
}

function referenceTime(state: RunState, stepStart: number, sinceMark?: string): number {
  if (sinceMark === undefined) return stepStart;
  const mark = state.marks.get(sinceMark);
  if (mark === undefined) throw new ScenarioError(`mark "${sinceMark}" is not set`);
  return mark;
}

function rel(t: number, ref: number): string {
  const d = Math.round(t - ref);
  return d >= 0 ? `+${d} ms` : `${d} ms`;
}

function hexBytes(hex: string): Buffer {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new ScenarioError(`bytesHex is not an even-length hex string: ${hex}`);
  return Buffer.from(hex, 'hex');
}

function refuseIfClosed(client: ScenarioClient, state: RunState): void {
  if (client.transport !== 'udp' && client.isClosed) {
    throw new StepFailure(
      `cannot send: the connection is already closed (${client.closedByClient ? 'by the client' : 'by the server'} at +${Math.round((client.closedAt as number) - state.start)} ms of the run)`,
    );
  }
}

async function runStep(step: Step, index: number, state: RunState, options: RunOptions): Promise<void> {
  const stepStart = now();
  switch (step.action) {
    case 'connect': {
      if (state.clients.has(step.client)) throw new ScenarioError(`client "${step.client}" is already connected`);
      const timeout = options.overrides?.connectTimeoutMs ?? 3000;
      let client: ScenarioClient;
      if (step.transport === 'tcp') client = new TcpClient(step.client, options.host, options.ports.tcp);
      else if (step.transport === 'udp') client = new UdpClient(step.client, options.host, options.ports.udp);
      else {
        const wsPath = step.path ?? options.wsPath ?? DEFAULT_WS_PATH;
        client = new WsClient(step.client, `ws://${options.host}:${options.ports.ws}${wsPath.startsWith('/') ? '' : '/'}${wsPath}`);
      }
      state.clients.set(step.client, client);
      try {
        await client.open(timeout);
      } catch (err) {
        throw new StepFailure(`${step.transport} connect failed: ${(err as Error).message}`);
      }
      return;
    }
    case 'send': {
      const client = clientOf(state, step.client);
      refuseIfClosed(client, state);
      client.sendText(JSON.stringify(resolvePacket(step.packet, state.ctx)));
      return;
    }
    case 'sendText': {
      const client = clientOf(state, step.client);
      refuseIfClosed(client, state);
      let text = substituteText(step.text, state.ctx);
      if (step.padToBytes !== undefined) text = padText(text, step.padToBytes, step.padChar ?? 'x');
      else if (text.includes(PAD_TOKEN)) throw new ScenarioError('{{pad}} without padToBytes');
      client.sendText(text);
      return;
    }
    case 'sendRaw': {
      const client = clientOf(state, step.client);
      if (client.transport === 'ws') throw new ScenarioError('sendRaw is TCP/UDP only');
      refuseIfClosed(client, state);
      client.sendRaw(hexBytes(step.bytesHex));
      return;
    }
    case 'sendBinary': {
      const client = clientOf(state, step.client);
      if (client.transport !== 'ws') throw new ScenarioError('sendBinary is WebSocket only');
      refuseIfClosed(client, state);
      client.sendBinary(hexBytes(step.bytesHex));
      return;
    }
    case 'expect':
      return expectPacket(step, index, state, stepStart);
    case 'expectNothing': {
      const client = clientOf(state, step.client);
      const waiting = client.peek();
      if (waiting) {
        throw new StepFailure(`expected nothing, but a packet was already waiting when the step started`, {
          expected: `no packet for ${step.forMs} ms`,
          received: waiting,
        });
      }
      const packet = await waitFor(client, () => client.peek(), stepStart + step.forMs);
      if (packet) {
        throw new StepFailure(`expected nothing for ${step.forMs} ms, but a packet arrived at ${rel(packet.at, stepStart)}`, {
          expected: `no packet for ${step.forMs} ms`,
          received: packet,
        });
      }
      return;
    }
    case 'expectClosed':
      return expectClosed(step, state, stepStart);
    case 'expectOpen': {
      const client = clientOf(state, step.client);
      await new Promise((resolve) => setImmediate(resolve)); // let pending socket events land
      if (client.transport !== 'udp' && client.isClosed) {
        throw new StepFailure(
          `expected the connection to be open, but it was closed ${client.closedByClient ? 'by the client' : 'by the server'} at +${Math.round(
            (client.closedAt as number) - state.start,
          )} ms of the run${client.closeCode !== undefined ? ` (close code ${client.closeCode})` : ''}`,
        );
      }
      return;
    }
    case 'close':
      clientOf(state, step.client).close();
      return;
    case 'sleep':
      await sleep(step.ms);
      return;
    case 'mark':
      state.marks.set(step.name, stepStart);
      return;
    default:
      throw new ScenarioError(`unknown action ${JSON.stringify((step as { action: unknown }).action)}`);
  }
}

async function expectPacket(step: ExpectStep, index: number, state: RunState, stepStart: number): Promise<void> {
  const client = clientOf(state, step.client);
  const ref = referenceTime(state, stepStart, step.sinceMark);
  const deadline = ref + step.withinMs;
  const refName = step.sinceMark !== undefined ? `mark "${step.sinceMark}"` : 'step start';
  const expected = JSON.stringify(substituteForDisplay(step.packet, state.ctx));
  const alreadyWaiting = client.peek() !== undefined;
  const packet = await waitFor(client, () => client.peek(), deadline);
  if (!packet) {
    const closed =
      client.isClosed && client.transport !== 'udp'
        ? ` (the connection was closed ${client.closedByClient ? 'by the client' : 'by the server'} at ${rel(client.closedAt as number, ref)} after the ${refName}${
            client.closeCode !== undefined ? `, close code ${client.closeCode}` : ''
          })`
        : '';
    throw new StepFailure(`no packet within ${step.withinMs} ms of the ${refName}${closed}`, { expected });
  }
  client.take(index);
  // A packet found while waiting arrived before the deadline timer fired; one
  // that was already queued must not have arrived after the deadline.
  if (alreadyWaiting && packet.at > deadline) {
    throw new StepFailure(`packet arrived too late: at ${rel(packet.at, ref)} after the ${refName}, window ${step.withinMs} ms`, { expected, received: packet });
  }
  if (step.notBeforeMs !== undefined && packet.at - ref < step.notBeforeMs) {
    throw new StepFailure(`packet arrived too early: at ${rel(packet.at, ref)} after the ${refName}, expected not before +${step.notBeforeMs} ms`, {
      expected,
      received: packet,
    });
  }
  if (packet.binary) throw new StepFailure('received a binary WebSocket frame (the server must send text frames)', { expected, received: packet });
  let parsed: Json;
  try {
    parsed = JSON.parse(packet.text) as Json;
  } catch (err) {
    throw new StepFailure(`received packet is not valid JSON (${(err as Error).message})`, { expected, received: packet });
  }
  const result = matchValue(step.packet, parsed, state.ctx);
  if (!result.ok) {
    throw new StepFailure('received packet does not match', {
      expected,
      received: packet,
      mismatch: `at ${result.mismatch.path}: ${result.mismatch.reason}`,
    });
  }
  if (step.keyOrder) {
    const problem = checkKeyOrder(packet.text, step.keyOrder);
    if (problem) throw new StepFailure('received packet has the wrong key order', { expected, received: packet, mismatch: problem });
  }
  for (const [name, value] of result.captures) state.ctx.vars.set(name, value);
}

async function expectClosed(step: ExpectClosedStep, state: RunState, stepStart: number): Promise<void> {
  const client = clientOf(state, step.client);
  if (client.transport === 'udp') throw new ScenarioError('expectClosed is not valid for UDP');
  if (step.wsCloseCode !== undefined && client.transport !== 'ws') throw new ScenarioError('wsCloseCode is WebSocket only');
  const ref = referenceTime(state, stepStart, step.sinceMark);
  const deadline = ref + step.withinMs;
  const refName = step.sinceMark !== undefined ? `mark "${step.sinceMark}"` : 'step start';
  const expected = `server closes the connection within ${step.withinMs} ms of the ${refName}${
    step.notBeforeMs !== undefined ? `, not before +${step.notBeforeMs} ms` : ''
  }${step.wsCloseCode !== undefined ? `, close code ${step.wsCloseCode}` : ''}, with no unconsumed packet before it`;
  const alreadyClosed = client.isClosed;
  // Stop waiting at the close, or as soon as an unconsumed packet shows up
  // (a packet before the close fails the step either way).
  await waitFor(client, () => (client.isClosed || client.peek() ? true : undefined), deadline);
  const pending = client.peek();
  if (pending && (!client.isClosed || pending.at <= (client.closedAt as number))) {
    throw new StepFailure(
      client.isClosed
        ? `the connection closed, but a packet arrived before the close that no step consumed`
        : `expected the connection to close, but a packet arrived first (at ${rel(pending.at, ref)} after the ${refName})`,
      { expected, received: pending, extra: client.unconsumed().slice(1).map((p) => `also unconsumed: ${truncate(p.text, 300)}`) },
    );
  }
  if (!client.isClosed) throw new StepFailure(`the connection was not closed within ${step.withinMs} ms of the ${refName}`, { expected });
  if (client.closedByClient) throw new StepFailure('the connection was closed by the client itself, not by the server', { expected });
  const closedAt = client.closedAt as number;
  if (alreadyClosed && closedAt > deadline) {
    throw new StepFailure(`the connection closed too late: at ${rel(closedAt, ref)} after the ${refName}`, { expected });
  }
  if (step.notBeforeMs !== undefined && closedAt - ref < step.notBeforeMs) {
    throw new StepFailure(`the connection closed too early: at ${rel(closedAt, ref)} after the ${refName}, expected not before +${step.notBeforeMs} ms`, {
      expected,
    });
  }
  if (step.wsCloseCode !== undefined && client.closeCode !== step.wsCloseCode) {
    throw new StepFailure(
      `WebSocket close code ${client.closeCode ?? '(none)'}${client.closeReason ? ` reason "${client.closeReason}"` : ''}, expected ${step.wsCloseCode}`,
      { expected },
    );
  }
}
