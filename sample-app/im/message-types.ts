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
  /** C2S: "who is online?"; answered with {@link MessageType.ONLINE_USERS}. */
  ONLINE_QUERY: 103,
  /** S2C: a C2C message stored while the recipient was offline, wrapped in an {@link OfflineEnvelope}. */
  OFFLINE_MESSAGE: 200,
  /** S2C, no QoS: your message was stored for later, not delivered; a {@link StoredNotice}, sent before its ACK. */
  STORED: 201,
  /** S2C, no QoS: the answer to {@link MessageType.ONLINE_QUERY}, an {@link OnlineUsers}. */
  ONLINE_USERS: 202,
} as const;

/**
 * Tells a sender that the message `fp` went to the offline store: the ACK
 * that follows means "stored", not "written to the recipient".
 */
export interface StoredNotice {
  /** Fingerprint of the stored message. */
  fp: string;
  /** Its recipient. */
  to: string;
  /** Epoch ms when the server stored it. */
  storedAt: number;
}

/** The user ids online on this node (at most {@link MAX_ONLINE_LISTED}, sorted), and how many there are. */
export interface OnlineUsers {
  users: string[];
  count: number;
}

/** Bound of the online list sent to one client. */
export const MAX_ONLINE_LISTED = 200;

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
