import {
  CallHandler, CanActivate, Catch, ExceptionFilter, ExecutionContext, Injectable, NestInterceptor, UseFilters,
  UseGuards, UseInterceptors, ValidationPipe,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { IsInt, IsString, MaxLength, Min } from 'class-validator';
import { tap } from 'rxjs';
import {
  getIMEvent, IMException, IMJson, IMSession, IMTypeu, IMUserId, isIMContext, LoginInfo, OnC2C, OnC2S, OnLogin, Session,
} from '../../lib';
import { IMTestingApp, startIMTestingApp, until } from '../../lib/testing';
import { CapturingLogger } from '../support/capturing-logger';

/** Refuses logins whose token is not in the allow-list. */
@Injectable()
class TokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return getIMEvent(context).loginInfo?.loginToken === 'valid';
  }
}

/** Refuses C2C to user "vip" from anyone but "assistant". */
@Injectable()
class VipGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const { packet, userId } = getIMEvent(context);
    return packet?.to !== 'vip' || userId === 'assistant';
  }
}

/** Application-wide guard: refuses IM logins of "banned" and lets every other context through. */
@Injectable()
class BanGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (!isIMContext(context)) return true;
    return getIMEvent(context).userId !== 'banned';
  }
}

/** Measures how long IM handlers take. */
@Injectable()
class TimingInterceptor implements NestInterceptor {
  static readonly timings: Array<{ event: string; ms: number }> = [];
  intercept(context: ExecutionContext, next: CallHandler) {
    const started = process.hrtime.bigint();
    const event = getIMEvent(context).event;
    return next.handle().pipe(tap(() => TimingInterceptor.timings.push({ event, ms: Number(process.hrtime.bigint() - started) / 1e6 })));
  }
}

class QuotaExceeded extends Error {}

/** Maps the domain exception to an IM error packet. */
@Catch(QuotaExceeded)
class QuotaFilter implements ExceptionFilter {
  catch(): never {
    throw new IMException(1100, 'quota exceeded');
  }
}

class ChatCommand {
  @IsString() @MaxLength(20) text!: string;
  @IsInt() @Min(1) priority!: number;
}

@Injectable()
@UseInterceptors(TimingInterceptor)
class ChatHandlers {
  readonly commands: Array<{ body: ChatCommand; userId: string; typeu: number; transport: string }> = [];

  @OnLogin()
  @UseGuards(TokenGuard)
  login(info: LoginInfo): number {
    return info.loginUserId.length > 0 ? 0 : 1;
  }

  @OnC2S({ typeu: 200 })
  command(
    @IMJson(new ValidationPipe({ whitelist: true })) body: ChatCommand,
    @IMUserId() userId: string,
    @IMTypeu() typeu: number,
    @IMSession() session: Session,
  ): void {
    this.commands.push({ body, userId, typeu, transport: session.transport });
  }

  @OnC2S({ typeu: 201 })
  @UseFilters(QuotaFilter)
  spend(): void {
    throw new QuotaExceeded();
  }

  @OnC2S({ typeu: 202 })
  broken(): void {
    throw new Error('unexpected bug');
  }

  @OnC2C()
  @UseGuards(VipGuard)
  chat(): boolean {
    return true;
  }
}

const errorOf = (p: { dataContent?: string }) => JSON.parse(p.dataContent as string) as { errorCode: number; errorMsg: string };

describe('Nest pipeline on IM handlers', () => {
  let im: IMTestingApp;
  const logs = new CapturingLogger();

  beforeAll(async () => {
    im = await startIMTestingApp({ providers: [ChatHandlers, TimingInterceptor, { provide: APP_GUARD, useClass: BanGuard }], logger: logs });
  });
  afterAll(() => im.close());

  it('a guard on @OnLogin refuses logins without a valid token (code 403), and lets valid ones in', async () => {
    const a = await im.connect('tcp');
    expect((await a.login('alice', { token: 'nope' })).code).toBe(403);
    await a.expectClosed();
    const b = await im.connect('tcp');
    expect((await b.login('alice', { token: 'valid' })).code).toBe(0);
  });

  it('an application-wide guard applies to IM handlers too, and can tell them apart with isIMContext', async () => {
    const a = await im.connect('ws');
    expect((await a.login('banned', { token: 'valid' })).code).toBe(403);
  });

  it('a ValidationPipe on @IMJson validates C2S payloads; a bad one gets an error packet with the reasons', async () => {
    const a = await im.connect('tcp');
    await a.login('carol', { token: 'valid' });
    a.c2s(JSON.stringify({ text: 'hello', priority: 2, extra: 'stripped' }), { typeu: 200, fp: 'ok-1' });
    await a.expect({ type: 4, dataContent: 'ok-1' });
    a.c2s(JSON.stringify({ text: 'x'.repeat(30), priority: 0 }), { typeu: 200, fp: 'bad-1' });
    await a.expect({ type: 4, dataContent: 'bad-1' });
    const errorPacket = await a.expect({ type: 52, to: 'carol' });
    expect(errorPacket.fp).toBe('bad-1');
    const err = errorOf(errorPacket);
    expect(err.errorCode).toBe(400);
    expect(err.errorMsg).toMatch(/text must be shorter than or equal to 20 characters/);
    expect(err.errorMsg).toMatch(/priority must not be less than 1/);
    a.c2s('not json', { typeu: 200, fp: 'bad-2' });
    await a.expect({ type: 4 });
    expect(errorOf(await a.expect({ type: 52 })).errorCode).toBe(400);
    const handlers = im.app.get(ChatHandlers);
    expect(handlers.commands).toEqual([{ body: { text: 'hello', priority: 2 }, userId: 'carol', typeu: 200, transport: 'tcp' }]);
  });

  it('an exception filter maps a domain exception to an IM error packet', async () => {
    const a = await im.connect('udp');
    await a.login('dave', { token: 'valid' });
    a.c2s('{}', { typeu: 201, fp: 'q-1' });
    await a.expect({ type: 4 });
    expect(errorOf(await a.expect({ type: 52 }))).toEqual({ errorCode: 1100, errorMsg: 'quota exceeded' });
  });

  it('an unexpected error becomes error 500 and the session keeps working', async () => {
    const a = await im.connect('tcp');
    await a.login('erin', { token: 'valid' });
    a.c2s('{}', { typeu: 202, fp: 'e-1' });
    await a.expect({ type: 4 });
    expect(errorOf(await a.expect({ type: 52 })).errorCode).toBe(500);
    expect(logs.lines('error')).toContainEqual(expect.stringContaining('ChatHandlers.broken failed: unexpected bug'));
    a.keepalive();
    await a.expect({ type: 51 });
  });

  it('a guard on @OnC2C refuses a message: not forwarded, no ACK, the sender gets error 403 with the fp of the message', async () => {
    const vip = await im.connect('tcp');
    await vip.login('vip', { token: 'valid' });
    const fan = await im.connect('tcp');
    await fan.login('fan', { token: 'valid' });
    const refused = fan.c2c('vip', 'hi!');
    const error = await fan.expect({ type: 52 });
    expect(errorOf(error).errorCode).toBe(403);
    expect(error).toMatchObject({ fp: refused, QoS: false });
    await vip.expectNothing(100);
    const assistant = await im.connect('ws');
    await assistant.login('assistant', { token: 'valid' });
    const fp = assistant.c2c('vip', 'meeting at 3');
    await vip.expect({ type: 2, fp });
    await assistant.expect({ type: 4, dataContent: fp });
  });

  it('an interceptor measures handler time with the IM context type', async () => {
    TimingInterceptor.timings.length = 0; // its own traffic, whatever ran before
    const a = await im.connect('tcp');
    await a.login('frank', { token: 'valid' });
    const b = await im.connect('ws');
    await b.login('grace', { token: 'valid' });
    a.c2s(JSON.stringify({ text: 'timed', priority: 1 }), { typeu: 200 });
    await a.expect({ type: 4 });
    const fp = a.c2c('grace', 'timed too');
    b.ack(await b.expect({ type: 2, fp }));
    await a.expect({ type: 4, dataContent: fp });
    await until(() => TimingInterceptor.timings.some((t) => t.event === 'c2s'));
    expect(TimingInterceptor.timings.map((t) => t.event)).toEqual(expect.arrayContaining(['login', 'c2s', 'c2c']));
    for (const t of TimingInterceptor.timings) expect(t.ms).toBeGreaterThanOrEqual(0);
  });
});
