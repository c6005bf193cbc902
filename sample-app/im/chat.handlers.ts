import { Injectable, Logger, UseFilters, UseGuards, ValidationPipe } from '@nestjs/common';
import {
  IMContext, IMData, IMEventContext, IMException, IMJson, IMLoginInfo, KickoutCode, IMPacket, IMSession, IMUserId, LoginInfo, OnC2COffline, OnC2S, OnLogin,
  OnC2C, OnLoginSuccess, OnLogout, Packet, PushService, Session,
} from '../../lib';
import { BlockGuard } from '../contacts/block.guard';
import { BlockListService } from '../contacts/block-list.service';
import { UnknownUserFilter } from '../contacts/unknown-user.filter';
import { BlockCommandDto } from '../dto/block-command.dto';
import { StatusCommandDto } from '../dto/status-command.dto';
import { OfflineStore, StoredMessage } from '../offline/offline.store';
import { UsersService } from '../users/users.service';
import { MAX_ONLINE_LISTED, MessageType, OfflineEnvelope, OnlineUsers, StoredNotice } from './message-types';

import { BAD_CREDENTIALS } from './login-codes';

/** Login code for a refused login (re-exported from `login-codes.ts`, which the chat page imports). */
export { BAD_CREDENTIALS };

/** IM event handlers of the normal (non-demo) mode. */
@Injectable()
export class ChatHandlers {
  private readonly logger = new Logger('Chat');

  constructor(
    private readonly users: UsersService,
    private readonly offline: OfflineStore,
    private readonly push: PushService,
    private readonly blocks: BlockListService,
  ) {}

  /** Every C2C message passes here first; the guard refuses it when the recipient blocked the sender. */
  @OnC2C()
  @UseGuards(BlockGuard)
  onChat(): boolean {
    return true;
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

  /** Delivers what was stored while the user was away. */
  @OnLoginSuccess()
  deliverOffline(@IMUserId() userId: string, @IMSession() session: Session): void {
    this.logger.log(`${userId} online over ${session.transport}`);
    const pending = this.offline.take(userId);
    if (pending.length === 0) return;
    this.logger.log(`delivering ${pending.length} offline message(s) to ${userId}`);
    // Deliberately not awaited: the library holds this session's later packets
    // (including the ACKs these sends wait for) until a handler's promise settles.
    const sends = pending.map((m) =>
      this.push.send(userId, envelope(m), { typeu: MessageType.OFFLINE_MESSAGE }).catch(() => undefined),
    );
    void Promise.all(sends).then((results) => {
      // Lost, offline again, or too large for the transport: keep them for the next login.
      const failed = pending.filter((_, i) => results[i]?.status !== 'delivered');
      if (failed.length) {
        this.logger.warn(`${failed.length} offline message(s) for ${userId} not acknowledged; kept for later`);
        this.offline.restore(userId, failed);
      }
    });
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

  /**
   * Recipient offline: keep the message and return true, so the sender gets
   * its ACK. Unknown recipients are not stored (nobody could ever collect them).
   * The sender is told first (a {@link StoredNotice}): the ACK alone would read as delivered.
   */
  @OnC2COffline()
  storeOffline(@IMPacket() packet: Packet, @IMUserId() from: string): boolean {
    const to = packet.to as string;
    if (!this.users.exists(to)) return false;
    const stored = this.offline.add({
      from, // the session's user, not packet.from, which the client could forge
      to,
      dataContent: packet.dataContent ?? '',
      typeu: packet.typeu,
      fp: packet.fp,
      storedAt: Date.now(),
    });
    if (!stored) this.logger.warn(`offline store full for ${to}; message from ${from} not stored`);
    else if (packet.fp !== undefined) {
      // Written at once, so it reaches the sender ahead of the ACK the core writes when this returns.
      const notice: StoredNotice = { fp: packet.fp, to, storedAt: Date.now() };
      void this.push.send(from, notice, { typeu: MessageType.STORED, qos: false });
    }
    return stored;
  }
}

function envelope(m: StoredMessage): OfflineEnvelope {
  return { from: m.from, data: m.dataContent, typeu: m.typeu, fp: m.fp, storedAt: m.storedAt };
}

function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
