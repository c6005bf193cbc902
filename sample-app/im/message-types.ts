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
  /** S2C, no QoS: your message was stored for later, not delivered; a {@link StoredNotice}, sent before its ACK. */
  STORED: 201,
  /** S2C, no QoS: the answer to {@link MessageType.ONLINE_QUERY}, an {@link OnlineUsers}. */
  ONLINE_USERS: 202,
  /** S2C, no QoS: the message `fp` you just got was stored while you were away; an {@link AwayNotice}, sent after it. */
  SENT_WHILE_AWAY: 203,
} as const;

/**
 * Tells a sender that the message `fp` went to the message store: the ACK
 * that follows means "stored for later", not "delivered to the device".
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

/** Tells a recipient that a message it got at login had waited in the message store. */
export interface AwayNotice {
  /** Fingerprint of the stored message. */
  fp: string;
  /** Its sender. */
  from: string;
  /** Epoch ms when the server stored it. */
  storedAt: number;
}
