import { PipeTransform, Type } from '@nestjs/common';

/** Metadata key of IM parameter decorators (read by `ExternalContextCreator`). */
export const IM_PARAMS_METADATA = 'nestjs-im:params';

/**
 * What an IM parameter decorator extracts. Payloads use 3, which Nest's pipes
 * see as `'body'` (so `ValidationPipe` validates them, as for RPC `@Payload()`);
 * the rest are `'custom'`. A payload's `data` says which payload.
 */
export enum IMParamType {
  PAYLOAD = 3,
  PACKET = 20,
  USER_ID = 21,
  SESSION = 22,
  TYPEU = 23,
  EVENT = 24,
}

/** Which payload an {@link IMParamType.PAYLOAD} parameter receives. */
export type IMPayloadKind = 'data' | 'json' | 'login';

type Pipe = Type<PipeTransform> | PipeTransform;

function param(type: IMParamType, data?: IMPayloadKind) {
  return (...pipes: Pipe[]): ParameterDecorator =>
    (target, key, index) => {
      const existing = Reflect.getMetadata(IM_PARAMS_METADATA, target.constructor, key as string) ?? {};
      Reflect.defineMetadata(
        IM_PARAMS_METADATA,
        { ...existing, [`${type}:${index}`]: { index, data, pipes } },
        target.constructor,
        key as string,
      );
    };
}

/** The packet. */
export const IMPacket = param(IMParamType.PACKET);
/** The packet's `dataContent` string, through the given pipes. */
export const IMData = param(IMParamType.PAYLOAD, 'data');
/** The packet's `dataContent` parsed as JSON (a 400 error if it is not JSON), through the given pipes (e.g. `ValidationPipe`). */
export const IMJson = param(IMParamType.PAYLOAD, 'json');
/** The user id (sender, or the user logging in/out). */
export const IMUserId = param(IMParamType.USER_ID);
/** The session. */
export const IMSession = param(IMParamType.SESSION);
/** The packet's `typeu`. */
export const IMTypeu = param(IMParamType.TYPEU);
/** The login info of a login event. */
export const IMLoginInfo = param(IMParamType.PAYLOAD, 'login');
/** The whole {@link IMEventContext}. */
export const IMContext = param(IMParamType.EVENT);
