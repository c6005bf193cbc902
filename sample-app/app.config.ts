import { BridgeOptions, DEFAULT_PORTS } from '../lib';
import { SeedUser } from './users/seed-users';

/** Everything the sample app needs to start; built from the environment by main.ts, or by tests directly. */
export interface AppConfig {
  tcpPort: number;
  /** `false`: no UDP listener (the workers after the first, see `workers`). */
  udpPort: number | false;
  wsPort: number;
  /** HTTP port of the REST API and the chat page (used by main.ts; tests listen on their own). */
  httpPort: number;
  /** Bind address of every listener; all interfaces when absent. */
  host?: string;
  /**
   * `reference`: behave like the MobileIMSDK demo server (every login accepted,
   * no offline store), so conformance scenarios can be replayed against it.
   */
  demo?: 'reference';
  /** Replaces the built-in seed users (tests, or `IM_USERS_FILE`). */
  users?: SeedUser[];
  /** Bounds of the in-memory offline store. */
  offline?: { perUser: number; total: number };
  /** Redis URL: run several nodes of the sample as one cluster (`IM_REDIS_URL`). */
  redisUrl?: string;
  /**
   * Worker processes on this machine (`IM_WORKERS`, default 1 = this process
   * serves): more than one runs `runIMWorkers`, each worker a cluster node on
   * `redisUrl` (required), sharing the TCP, WebSocket and HTTP ports; UDP is
   * served by worker 0 only, so a UDP peer always reaches the same worker.
   */
  workers?: number;
  /** Join a MobileIMSDK-Web bridge on this RabbitMQ (`IM_BRIDGE_URL`) as this side (`IM_BRIDGE_SIDE`). */
  bridge?: BridgeOptions;
  /**
   * Bearer token of the admin API, the /admin console, /metrics and the push,
   * broadcast and kick endpoints (`IM_ADMIN_TOKEN`); without it they are off.
   */
  adminToken?: string;
  /** `json`: one JSON object per log line (`IM_LOG_FORMAT`). Default text. */
  logFormat?: 'text' | 'json';
  /** Prefix of the IM metrics (default `im_`): two apps in one process (tests) need distinct names on the global registry. */
  metricsPrefix?: string;
  /** The bundled chat page script served as `/chat.js`; default what `npm run build` writes (`dist/sample-app/public/chat.js`). */
  chatScript?: string;
}

export const APP_CONFIG = Symbol('APP_CONFIG');

export const DEFAULT_HTTP_PORT = 8080;
export const DEFAULT_OFFLINE_LIMITS = { perUser: 100, total: 10_000 } as const;

/** Reads the documented environment variables; throws on a malformed value rather than guessing. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const demo = env.IM_DEMO?.trim();
  const logFormat = env.IM_LOG_FORMAT?.trim() || 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw new Error(`IM_LOG_FORMAT must be "json" or "text", got "${logFormat}"`);
  if (demo && demo !== 'reference') throw new Error(`IM_DEMO must be "reference" or unset, got "${demo}"`);
  const redisUrl = env.IM_REDIS_URL?.trim() || undefined;
  const workers = workerCount(env);
  if (workers > 1 && !redisUrl) {
    throw new Error(`IM_WORKERS=${workers} needs IM_REDIS_URL: each worker is a cluster node, and the workers find each other's users in Redis`);
  }
  return {
    tcpPort: port(env, 'IM_TCP_PORT', DEFAULT_PORTS.tcp),
    udpPort: port(env, 'IM_UDP_PORT', DEFAULT_PORTS.udp),
    wsPort: port(env, 'IM_WS_PORT', DEFAULT_PORTS.ws),
    httpPort: port(env, 'PORT', DEFAULT_HTTP_PORT),
    host: env.HOST?.trim() || undefined,
    demo: demo ? 'reference' : undefined,
    redisUrl,
    workers,
    bridge: bridge(env),
    adminToken: env.IM_ADMIN_TOKEN?.trim() || undefined,
    logFormat,
  };
}

/** `IM_BRIDGE_URL` and `IM_BRIDGE_SIDE` (`app` or `web`) go together. */
function bridge(env: NodeJS.ProcessEnv): AppConfig['bridge'] {
  const url = env.IM_BRIDGE_URL?.trim();
  const side = env.IM_BRIDGE_SIDE?.trim();
  if (!url && !side) return undefined;
  if (!url) throw new Error('IM_BRIDGE_SIDE is set but IM_BRIDGE_URL is not');
  if (side !== 'app' && side !== 'web') throw new Error(`IM_BRIDGE_SIDE must be "app" or "web", got "${side ?? ''}"`);
  return { url, side };
}

/** `IM_WORKERS`: 1 (the default) to 64. */
function workerCount(env: NodeJS.ProcessEnv): number {
  const raw = env.IM_WORKERS?.trim();
  if (!raw) return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`IM_WORKERS must be a whole number of processes (1-64), got "${raw}"`);
  return n;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number (0-65535), got "${raw}"`);
  return n;
}
