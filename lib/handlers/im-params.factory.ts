import { BadRequestException } from '@nestjs/common';
import { ParamsFactory } from '@nestjs/core/helpers/external-context-creator';
import { IMParamType } from '../decorators/im-param.decorators';
import { IMEventContext } from './im-event';

/** Turns IM parameter decorators into values, from the handler call's last argument. */
export class IMParamsFactory implements ParamsFactory {
  exchangeKeyForValue(type: number, _data: unknown, args: unknown[]): unknown {
    const ctx = args[args.length - 1] as IMEventContext;
    switch (type as IMParamType) {
      case IMParamType.PACKET: return ctx.packet;
      case IMParamType.DATA: return ctx.packet?.dataContent;
      case IMParamType.JSON: return parseJson(ctx.packet?.dataContent);
      case IMParamType.USER_ID: return ctx.userId;
      case IMParamType.SESSION: return ctx.session;
      case IMParamType.TYPEU: return ctx.packet?.typeu;
      case IMParamType.LOGIN_INFO: return ctx.loginInfo;
      case IMParamType.EVENT: return ctx;
      default: return undefined;
    }
  }
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestException('dataContent is not valid JSON');
  }
}
