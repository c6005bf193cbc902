/**
 * What the chat page tells people, by code: login refusals, error packets and
 * failed sends. Codes come from the library's registry and the sample app, so
 * a renumbering there cannot silently leave the page with wrong sentences.
 */
import { IMErrors } from '../../lib/errors/im-error-codes';
import { BAD_CREDENTIALS } from '../im/login-codes';

const LOGIN_REFUSALS: ReadonlyMap<number, string> = new Map([
  [BAD_CREDENTIALS, 'Wrong user id or token.'],
  [IMErrors.LOGIN_REFUSED.wireCode, 'The server refused this login.'],
  [IMErrors.BAD_LOGIN_INFO.wireCode, 'This user id cannot be used.'],
  [IMErrors.FORBIDDEN.wireCode, 'You are not allowed to log in.'],
  [IMErrors.TOO_MANY_CONNECTIONS.wireCode, 'The server is full. Try again in a moment.'],
]);

/** Why a login was refused, for the login form. */
export function loginRefusalText(code: number): string {
  return LOGIN_REFUSALS.get(code) ?? `The server refused this login (code ${code}).`;
}

const SEND_ERRORS: ReadonlyMap<number, string> = new Map([
  [IMErrors.FORBIDDEN.wireCode, 'refused: the recipient does not accept your messages'],
  [IMErrors.FRAME_TOO_LARGE.wireCode, 'too large to send'],
  [IMErrors.RATE_LIMITED.wireCode, 'rate limited: you are sending too fast'],
  [IMErrors.BAD_JSON.wireCode, 'rejected by the server as malformed'],
  [IMErrors.MISSING_FINGERPRINT.wireCode, 'rejected by the server (no fingerprint)'],
  [IMErrors.HANDLER_FAILED.wireCode, 'the server failed to handle it'],
  [IMErrors.NOT_LOGGED_IN.wireCode, 'not logged in'],
  [IMErrors.UNDELIVERABLE.wireCode, 'the recipient is offline and it could not be stored'],
]);

/** Why a message failed, from the code of the error packet that refused it. */
export function sendErrorText(code: number): string {
  return SEND_ERRORS.get(code) ?? `refused by the server (code ${code})`;
}

/** Why a message failed when no error named it: the ACK never came (the SDK retried twice). */
export function lostText(rateLimited: boolean): string {
  return rateLimited ? 'not delivered: the server rate limited you, try again shortly' : 'not delivered: no answer after retries';
}

/** Kick-outs (type 54): 1 duplicate login, 2 kicked by the application. */
export function kickedText(code: number, reason?: string): string {
  if (code === 1) return 'You logged in somewhere else, so this page was signed out.';
  return reason ? `The server signed you out: ${reason}.` : 'The server signed you out.';
}
