import { PipeTransform, Type } from '@nestjs/common';

/** Metadata key of IM parameter decorators (read by `ExternalContextCreator`). */
export const IM_PARAMS_METADATA = 'nestjs-im:params';

/** What an IM parameter decorator extracts. */
export enum IMParamType {
  PACKET = 0,
  DATA = 1,
  JSON = 2,
  USER_ID = 3,
  SESSION = 4,
  TYPEU = 5,
  LOGIN_INFO = 6,
  EVENT = 7,
}

type Pipe = Type<PipeTransform> | PipeTransform;

function param(type: IMParamType) {
  return (...pipes: Pipe[]): ParameterDecorator =>
    (target, key, index) => {
      const existing = Reflect.getMetadata(IM_PARAMS_METADATA, target.constructor, key as string) ?? {};
      Reflect.defineMetadata(
        IM_PARAMS_METADATA,
        { ...existing, [`${type}:${index}`]: { index, data: undefined, pipes } },
        target.constructor,
        key as string,
      );
    };
}

/** The packet. */
export const IMPacket = param(IMParamType.PACKET);
/** The packet's `dataContent` string, through the given pipes. */
export const IMData = param(IMParamType.DATA);
/** The packet's `dataContent` parsed as JSON (a 400 error if it is not JSON), through the given pipes (e.g. `ValidationPipe`). */
export const IMJson = param(IMParamType.JSON);
/** The user id (sender, or the user logging in/out). */
export const IMUserId = param(IMParamType.USER_ID);
/** The session. */
export const IMSession = param(IMParamType.SESSION);
/** The packet's `typeu`. */
export const IMTypeu = param(IMParamType.TYPEU);
/** The login info of a login event. */
export const IMLoginInfo = param(IMParamType.LOGIN_INFO);
/** The whole {@link IMEventContext}. */
export const IMEvent = param(IMParamType.EVENT);
