import { Injectable, Logger, OnModuleDestroy, OnModuleInit, UseFilters, UseGuards, ValidationPipe } from '@nestjs/common';
import { Subscription } from 'rxjs';
import {
  IMContext, IMData, IMEvent, IMEventContext, IMException, IMJson, IMLoginInfo, KickoutCode, IMPacket, IMSession, IMUserId, LoginInfo, OnC2S, OnLogin,
  IMErrors, OnC2C, OnLoginSuccess, OnLogout, Packet, PushService, SERVER_USER_ID, Session,
} from '../../lib';
import { BlockGuard } from '../contacts/block.guard';
import { BlockListService } from '../contacts/block-list.service';
import { UnknownUserFilter } from '../contacts/unknown-user.filter';
import { BlockCommandDto } from '../dto/block-command.dto';
import { StatusCommandDto } from '../dto/status-command.dto';
import { UsersService } from '../users/users.service';
import { AwayNotice, MAX_ONLINE_LISTED, MessageType, OnlineUsers, StoredNotice } from './message-types';

import { BAD_CREDENTIALS } from './login-codes';

/** Login code for a refused login (re-exported from `login-codes.ts`, which the chat page imports). */
export { BAD_CREDENTIALS };

/**
 * IM event handlers of the normal (non-demo) mode. Messages for offline users
 * are kept by the library's message store (`store` option: memory, or Redis
 * with `IM_REDIS_URL`) and delivered, as sent, at the recipient's next login.
 */
@Injectable()
export class ChatHandlers implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Chat');
  private stored?: Subscription;

  constructor(
    private readonly users: UsersService,
    private readonly push: PushService,
    private readonly blocks: BlockListService,
  ) {}

  /**
   * Tells a sender that its message was stored for later, not delivered: the
   * store's `stored` event comes before the ACK the server then sends on the
   * recipient's behalf, so the notice (a {@link StoredNotice}) arrives first.
   * Tells a recipient which messages it got at login had waited (an {@link AwayNotice}).
   */
  onModuleInit(): void {
    this.stored = this.push.events$.subscribe((e: IMEvent) => {
      if ((e.type !== 'stored' && e.type !== 'redelivered') || !e.packet.from || e.packet.from === SERVER_USER_ID) return;
      if (e.type === 'stored' && e.reason === 'offline') {
        const notice: StoredNotice = { fp: e.fp, to: e.userId, storedAt: Date.now() };
        void this.push.send(e.packet.from, notice, { typeu: MessageType.STORED, qos: false });
      } else if (e.type === 'redelivered') {
        // Written after the stored messages (the library holds it behind them): the page marks the message.
        const notice: AwayNotice = { fp: e.fp, from: e.packet.from, storedAt: e.storedAt };
        void this.push.send(e.userId, notice, { typeu: MessageType.SENT_WHILE_AWAY, qos: false });
      }
    });
  }

  onModuleDestroy(): void {
    this.stored?.unsubscribe();
  }

  /**
   * Every C2C message passes here first; the guard refuses it when the recipient
   * blocked the sender. Unknown recipients are dropped (nobody could ever collect
   * them from the store): no ACK, or error 404 to a client that asked for it.
   */
  @OnC2C()
  @UseGuards(BlockGuard)
  onChat(@IMPacket() packet: Packet, @IMSession() session: Session): boolean {
    if (packet.to !== undefined && this.users.exists(packet.to)) return true;
    if (session.notifyUndeliverable) throw new IMException(IMErrors.UNDELIVERABLE.wireCode, IMErrors.UNDELIVERABLE.message());
    return false;
  }

  /** Blocking an unknown user throws a domain error, which the filter turns into IM error 1104. */
  @OnC2S({ typeu: MessageType.BLOCK })
  @UseFilters(UnknownUserFilter)
  onBlock(@IMUserId() userId: string, @IMJson(new ValidationPipe({ whitelist: true })) cmd: BlockCommandDto): void {
    if (cmd.unblock) this.blocks.unblock(userId, cmd.user);
    else this.blocks.block(userId, cmd.user);
  }

  /** Unknown user and wrong token get the same code, so the reply does not reveal which user ids exist. */
  @OnLogin()
  verifyLogin(@IMLoginInfo() info: LoginInfo, @IMSession() session: Session): number {
    if (!this.users.verify(info.loginUserId, info.loginToken)) {
      this.logger.warn(`login refused for "${info.loginUserId}" from ${session.transport} ${session.remoteAddress}`);
      throw new IMException(BAD_CREDENTIALS, 'bad token');
    }
    return 0;
  }

  /** The library delivers what was stored while the user was away, before newer messages. */
  @OnLoginSuccess()
  onLogin(@IMUserId() userId: string, @IMSession() session: Session): void {
    this.logger.log(`${userId} online over ${session.transport}`);
  }

  /** The kick code says why the user went offline: -1 disconnect/logout, 1 duplicate login, 2 kicked. */
  @OnLogout()
  onLogout(@IMUserId() userId: string, @IMContext() ctx: IMEventContext): void {
    const why =
      ctx.kickCode === KickoutCode.KICKED_BY_ADMIN ? 'kicked'
        : ctx.kickCode === KickoutCode.DUPLICATE_LOGIN ? 'duplicate login'
          : 'disconnected';
    this.logger.log(`${userId} offline (${why}, kick code ${ctx.kickCode})`);
  }

  @OnC2S({ typeu: MessageType.READ_RECEIPT })
  onReadReceipt(@IMUserId() userId: string, @IMData() data: string): void {
    this.logger.log(`read receipt from ${userId}: ${truncate(data)}`);
  }

  /** A payload that fails validation is answered with a type-52 error (errorCode 400). */
  @OnC2S({ typeu: MessageType.STATUS })
  onStatus(
    @IMUserId() userId: string,
    @IMJson(new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true, validateCustomDecorators: true }))
    cmd: StatusCommandDto,
  ): void {
    this.logger.log(`${userId} is ${cmd.status}${cmd.message ? `: ${truncate(cmd.message)}` : ''}`);
  }

  /** Who is online on this node: user ids only, and only to a logged-in user (C2S needs a login). */
  @OnC2S({ typeu: MessageType.ONLINE_QUERY })
  onOnlineQuery(@IMUserId() userId: string): void {
    const all = this.push.onlineUsers();
    const answer: OnlineUsers = { users: all.sort().slice(0, MAX_ONLINE_LISTED), count: all.length };
    void this.push.send(userId, answer, { typeu: MessageType.ONLINE_USERS, qos: false });
  }
}

function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
