/**
 * Application `typeu` values of this app. The protocol leaves `typeu` to the
 * application (-1 = unset); the browser page uses the same numbers.
 */
export const MessageType = {
  /** C2S: "I have read message <fp> from <from>"; logged only. */
  READ_RECEIPT: 100,
  /** C2S: presence status, JSON validated by {@link StatusCommandDto}. */
  STATUS: 101,
  /** C2S: block or unblock a user, JSON validated by {@link BlockCommandDto}. */
  BLOCK: 102,
  /** S2C: a C2C message stored while the recipient was offline, wrapped in an {@link OfflineEnvelope}. */
  OFFLINE_MESSAGE: 200,
} as const;

/**
 * What an offline message looks like when it is finally pushed. PushService
 * sends as the server (`from:"0"`), so the original sender travels in the body.
 */
export interface OfflineEnvelope {
  from: string;
  /** The original `dataContent`. */
  data: string;
  /** The original `typeu`. */
  typeu: number;
  /** The original fingerprint, so a client can drop a copy it has already seen. */
  fp?: string;
  /** Epoch ms when the server stored it. */
  storedAt: number;
}
