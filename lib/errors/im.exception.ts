/**
 * Thrown by application handlers to answer the client with a MobileIMSDK error:
 * a failed login response with `code` for `@OnLogin`, a type-52 error response
 * with `errorCode` elsewhere.
 */
export class IMException extends Error {
  constructor(
    /** Code for the wire; applications should use values above 1024. */
    readonly code: number,
    message = `IM error ${code}`,
  ) {
    super(message);
    this.name = 'IMException';
  }
}
