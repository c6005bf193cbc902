import { BadRequestException } from '@nestjs/common';
import { ParamsFactory } from '@nestjs/core/helpers/external-context-creator';
import { IMParamType, IMPayloadKind } from '../decorators/im-param.decorators';
import { IMErrors } from '../errors/im-error-codes';
import { jsonNestsDeeperThan } from '../protocol/json-depth';
import { IMEventContext } from '../decorators/im-event-context';

/** Turns IM parameter decorators into values, from the handler call's last argument. */
export class IMParamsFactory implements ParamsFactory {
  /** @param jsonMaxDepth deepest nesting `@IMJson()` parses (`limits.jsonMaxDepth`). */
  constructor(private readonly jsonMaxDepth: number) {}

  exchangeKeyForValue(type: number, data: unknown, args: unknown[]): unknown {
    const ctx = args[args.length - 1] as IMEventContext;
    switch (type as IMParamType) {
      case IMParamType.PAYLOAD:
        if ((data as IMPayloadKind) === 'login') return ctx.loginInfo;
        return data === 'json' ? parseJson(ctx.packet?.dataContent, this.jsonMaxDepth) : ctx.packet?.dataContent;
      case IMParamType.PACKET: return ctx.packet;
      case IMParamType.USER_ID: return ctx.userId;
      case IMParamType.SESSION: return ctx.session;
      case IMParamType.TYPEU: return ctx.packet?.typeu;
      case IMParamType.EVENT: return ctx;
      default: return undefined;
    }
  }
}

function parseJson(text: string | undefined, maxDepth: number): unknown {
  if (text === undefined) return undefined;
  // Checked before parsing: a deeply nested object would overflow the stack of a validator further down.
  if (jsonNestsDeeperThan(text, maxDepth)) throw new BadRequestException(IMErrors.JSON_TOO_DEEP.message(`more than ${maxDepth} levels`));
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestException('dataContent is not valid JSON');
  }
}
