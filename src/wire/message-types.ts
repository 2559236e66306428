/**
 * Every UDP message type number, in one place, so a new message cannot reuse a number by
 * accident. The codec refuses a second registration of a number at start-up as well.
 * docs/protocol.md lists each message with its fields.
 */
export const MessageType = {
  // The DHT (src/dht/messages.ts).
  PING: 1,
  PONG: 2,
  FIND_NODE: 3,
  NODES: 4,
  FIND_VALUE: 5,
  VALUE: 6,
  STORE: 7,
  STORED: 8,
  // The RPC layer's refusal, an answer to any request (src/rpc/errors.ts).
  ERROR: 15,
  // Peer introduction (src/peer/hello.ts).
  HELLO: 20,
  HELLO_REPLY: 21,
  // Storage contracts (src/contracts/messages.ts).
  PROPOSE: 22,
  ACCEPT: 23,
  REJECT: 24,
  CANCEL: 25,
  CANCELLED: 26,
  // Reachability checks (src/nat/messages.ts).
  DIAL_BACK: 40,
  DIAL_BACK_RESULT: 41,
  DIAL_PROBE: 42,
  // Rendezvous and hole punching (src/nat/punch-messages.ts).
  REGISTER: 43,
  REGISTERED: 44,
  PUNCH_REQUEST: 45,
  PUNCH_READY: 46,
  PUNCH_NOTIFY: 47,
  PUNCH_NOTIFIED: 48,
  PUNCH: 49,
  PUNCH_ACK: 50,
  TCP_PUNCH: 51,
  TCP_PUNCH_READY: 52,
} as const;

export type MessageTypeNumber = (typeof MessageType)[keyof typeof MessageType];
