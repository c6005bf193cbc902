// Run with `node --test` on the compiled output: Jest on Node 20 cannot load Nest 12's ES modules.
import 'reflect-metadata';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { NestFactory } from '@nestjs/core';
import { IMServer, PushService } from 'nestjs-im';
import { IMClient, Packet, PacketType, TcpLink } from 'nestjs-im/client';
import { startIMTestingApp } from 'nestjs-im/testing';
import { AppModule, BAD_TOKEN, ChatHandlers, UsersService } from './app.module';
import { chatClient } from './chat-client';

const HOST = '127.0.0.1';

const fromUser = (userId: string) => (p: Packet) => p.type === PacketType.DATA && p.from === userId;

test('IMModule.forRoot in a Nest app: the app checks logins, TCP and WebSocket clients chat, PushService settles', async (t) => {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
  t.after(() => app.close());
  const ports = await app.get(IMServer).ready;
  assert.ok(ports.tcp && ports.ws, `both listeners bound: ${JSON.stringify(ports)}`);

  const alice = new IMClient(new TcpLink({ host: HOST, port: ports.tcp }));
  const bob = chatClient(`ws://${HOST}:${ports.ws}/websocket`);
  const intruder = new IMClient(new TcpLink({ host: HOST, port: ports.tcp }));
  t.after(() => Promise.all([alice.close(), bob.close(), intruder.close()]));
  await Promise.all([alice.connect(), bob.connect(), intruder.connect()]);

  assert.equal((await alice.login({ userId: 'alice', token: 'alice-token' })).code, 0);
  assert.equal((await bob.login({ userId: 'bob', token: 'bob-token' })).code, 0);
  assert.equal((await intruder.login({ userId: 'bob', token: 'guessed' })).code, BAD_TOKEN);

  const atBob = bob.nextPacket(fromUser('alice'));
  assert.equal(await alice.sendC2C('bob', 'hello over TCP'), 'delivered');
  assert.equal((await atBob).dataContent, 'hello over TCP');

  const atAlice = alice.nextPacket(fromUser('bob'));
  assert.equal(await bob.sendC2C('alice', 'hello over WebSocket'), 'delivered');
  assert.equal((await atAlice).dataContent, 'hello over WebSocket');

  const push = app.get(PushService);
  assert.equal((await push.send('alice', { note: 'pushed' })).status, 'delivered');
  assert.equal((await push.send('nobody', { note: 'pushed' })).status, 'offline');
});

test('nestjs-im/testing starts the same handlers on free ports', async (t) => {
  const im = await startIMTestingApp({ providers: [UsersService, ChatHandlers], im: { udp: false } });
  t.after(() => im.close());
  const client = await im.connect('ws');
  assert.equal((await client.login('alice', { token: 'wrong' })).code, BAD_TOKEN);
  await im.login('tcp', 'bob', { token: 'bob-token' });
  assert.equal(im.push.isOnline('bob'), true);
});
