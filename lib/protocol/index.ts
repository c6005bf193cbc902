export * from './packet-type';
export * from './protocol-codes';
export * from './packet';
export * from './packet-codec';
export * from './payloads';
export * from './tcp-frame-decoder';
export { parseLenientJson } from './lenient-json';
export * from './transport-kind';
export * from './sense-mode';
