import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { getIMEvent } from '../../lib';
import { BlockListService } from './block-list.service';

/**
 * Refuses a C2C message to a recipient who blocked the sender. On `@OnC2C`
 * a denial means: not forwarded, no ACK, and the sender gets error 403.
 */
@Injectable()
export class BlockGuard implements CanActivate {
  constructor(private readonly blocks: BlockListService) {}

  canActivate(context: ExecutionContext): boolean {
    const { packet, userId } = getIMEvent(context);
    return !(packet?.to && userId && this.blocks.isBlocked(packet.to, userId));
  }
}
