import { IMErrorDefinition } from './im-error-codes';

/**
 * Internal error raised by the library for one of its registered conditions.
 * User code throws {@link IMException} instead.
 */
export class IMError extends Error {
  /** Stable id from the registry, e.g. `IM_BAD_JSON`. */
  readonly code: string;
  /** Numeric code for the wire. */
  readonly wireCode: number;

  constructor(definition: IMErrorDefinition, detail?: string) {
    super(definition.message(detail));
    this.name = 'IMError';
    this.code = definition.id;
    this.wireCode = definition.wireCode;
  }
}
