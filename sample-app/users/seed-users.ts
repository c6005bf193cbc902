import { readFileSync } from 'fs';

/** A user of the demo store. Tokens are static demo credentials, not a real auth scheme. */
export interface SeedUser {
  userId: string;
  token: string;
  displayName?: string;
}

/** Built in so `npm start` works with no setup; override with `IM_USERS_FILE` (a JSON array of SeedUser). */
export const DEFAULT_SEED_USERS: readonly SeedUser[] = [
  { userId: 'alice', token: 'alice-secret', displayName: 'Alice' },
  { userId: 'bob', token: 'bob-secret', displayName: 'Bob' },
  { userId: 'carol', token: 'carol-secret', displayName: 'Carol' },
];

/** Loads and checks a JSON seed file; a bad file should stop the app at boot, not at first login. */
export function loadSeedFile(path: string): SeedUser[] {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(parsed)) throw new Error(`${path}: expected a JSON array of { userId, token }`);
  return parsed.map((u, i) => {
    if (typeof u?.userId !== 'string' || typeof u?.token !== 'string' || !u.userId || !u.token) {
      throw new Error(`${path}[${i}]: userId and token must be non-empty strings`);
    }
    return { userId: u.userId, token: u.token, displayName: typeof u.displayName === 'string' ? u.displayName : undefined };
  });
}
