/**
 * The issue-7 experience suite, written once and run embedded and on the real stack: what makes chat feel
 * like WhatsApp (ticks, FAILED, presence and last seen, typing, several devices per user) and the privacy
 * and bad-input rules around them. It drives real gateways over WebSockets with raw protocol frames.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { collectRecords } from '@chatmesh/bus/testing';
import { directChatId } from '@chatmesh/protocol';
import { TOPICS, type DeliveryFailed, type InboxEntry } from '@chatmesh/schemas';
import { randomName, waitFor } from '@chatmesh/testing';
import { EXPERIENCE_TIMINGS, type ExperienceSystem } from './experience-system.js';
import { WsUser, type FrameOf } from './ws-user.js';

/** Options of {@link defineExperienceSuite}. */
export interface ExperienceSuiteOptions {
  readonly name: string;
  readonly createSystem: () => Promise<ExperienceSystem>;
}

const user = (name: string): string => randomName(name).replace(/[^A-Za-z0-9._:@-]/g, '-');

export function defineExperienceSuite(options: ExperienceSuiteOptions): void {
  describe(options.name, { timeout: 600_000 }, () => {
    let system: ExperienceSystem;
    const sockets: WsUser[] = [];

    before(async () => {
      system = await options.createSystem();
    });
    after(async () => {
      await Promise.allSettled(sockets.map((s) => s.close()));
      await system?.close();
    });

    async function connect(userId: string, deviceId = 'phone', gateway = 0): Promise<WsUser> {
      const url = system.gatewayUrls[gateway]!;
      const socket = await WsUser.connect(url, await system.token(userId, deviceId), { userId, deviceId });
      sockets.push(socket);
      return socket;
    }

    async function http(
      userId: string,
      deviceId: string,
      method: string,
      path: string,
      body?: unknown,
    ): Promise<{ status: number; json: Record<string, unknown> }> {
      const response = await fetch(`${system.gatewayUrls[0]}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${await system.token(userId, deviceId)}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    }

    /** The statuses a sender was told about, in arrival order. */
    const receipts = (socket: WsUser, chatId: string): Array<FrameOf<'receipt'>> =>
      socket.framesOf('receipt', (f) => f.chatId === chatId);

    async function inboxStatuses(
      userId: string,
    ): Promise<Array<{ status: string; chatId: string; byUserId: string | null }>> {
      const rows = await system.store.inboxLog.readAfter(userId, 0, 10_000);
      const out: Array<{ status: string; chatId: string; byUserId: string | null }> = [];
      for (const row of rows) {
        const entry = (await system.codec.decode<InboxEntry>(row.payload)).value;
        const item = entry.item;
        if ('chatmesh.receipts.MessageStatusUpdate' in item) {
          const update = item['chatmesh.receipts.MessageStatusUpdate'];
          out.push({ status: update.status, chatId: update.chatId, byUserId: update.byUserId });
        }
      }
      return out;
    }

    test('1:1: the sender sees SENT, then DELIVERED, then READ; and gets them on reconnect after being offline', async () => {
      const alice = user('alice');
      const bob = user('bob');
      const chat = directChatId(alice, bob);
      const a = await connect(alice);
      const b = await connect(bob);
      await a.createChat(chat, 'direct', [bob]);
      const sent = await a.sendMessage(chat, 'hello bob'); // the ack is SENT
      await b.waitFrame('messageReceived', (f) => f.chatId === chat && f.seq === sent.seq);
      const delivered = await a.waitFrame(
        'receipt',
        (f) => f.chatId === chat && f.status === 'delivered' && f.upToSeq >= sent.seq,
      );
      assert.equal(delivered.byUserId, null, 'a direct chat reports the aggregate');
      b.send({ type: 'read', chatId: chat, upToSeq: sent.seq });
      await a.waitFrame('receipt', (f) => f.chatId === chat && f.status === 'read' && f.upToSeq >= sent.seq);
      const order = receipts(a, chat).map((f) => f.status);
      assert.ok(order.indexOf('delivered') < order.indexOf('read'), `statuses in order: ${order.join(',')}`);

      // The sender goes offline before the recipient's device stores (acks) and reads the message: both
      // ticks wait in the sender's inbox.
      b.autoAck = false;
      const second = await a.sendMessage(chat, 'are you there?');
      await b.waitFrame('messageReceived', (f) => f.chatId === chat && f.seq === second.seq);
      await a.close();
      b.ackAll();
      b.send({ type: 'read', chatId: chat, upToSeq: second.seq });
      const back = await connect(alice);
      const readLater = await back.waitFrame(
        'receipt',
        (f) => f.chatId === chat && f.status === 'read' && f.upToSeq >= second.seq,
      );
      assert.equal(typeof readLater.inboxSeq, 'number', 'the status came from the inbox (replayed or live)');
      const later = receipts(back, chat).filter((f) => f.upToSeq >= second.seq);
      const deliveredAt = later.findIndex((f) => f.status === 'delivered');
      const readAt = later.findIndex((f) => f.status === 'read');
      assert.ok(
        deliveredAt >= 0 && deliveredAt < readAt,
        `delivered before read after reconnect: ${later.map((f) => f.status)}`,
      );
    });

    test('group: per-member DELIVERED and READ, and the aggregate only once every member got there', async () => {
      const [alice, bob, carol] = [user('alice'), user('bob'), user('carol')];
      const chat = randomName('group');
      const a = await connect(alice);
      const b = await connect(bob);
      const c = await connect(carol, 'phone', system.gatewayUrls.length - 1);
      await a.createChat(chat, 'group', [bob, carol]);
      const sent = await a.sendMessage(chat, 'hi all');
      for (const member of [b, c])
        await member.waitFrame('messageReceived', (f) => f.chatId === chat && f.seq === sent.seq);
      const covers = (status: string, by: string | null) => (f: FrameOf<'receipt'>) =>
        f.chatId === chat && f.status === status && f.byUserId === by && f.upToSeq >= sent.seq;
      await a.waitFrame('receipt', covers('delivered', bob));
      await a.waitFrame('receipt', covers('delivered', carol));
      await a.waitFrame('receipt', covers('delivered', null));
      b.send({ type: 'read', chatId: chat, upToSeq: sent.seq });
      await a.waitFrame('receipt', covers('read', bob));
      assert.equal(a.framesOf('receipt', covers('read', null)).length, 0, 'no aggregate READ while carol has not read');
      c.send({ type: 'read', chatId: chat, upToSeq: sent.seq });
      await a.waitFrame('receipt', covers('read', carol));
      await a.waitFrame('receipt', covers('read', null));
      const all = receipts(a, chat);
      const index = (status: string, by: string | null): number => all.findIndex(covers(status, by));
      assert.ok(index('read', null) > index('read', bob) && index('read', null) > index('read', carol));
      assert.ok(
        index('delivered', null) > index('delivered', bob) && index('delivered', null) > index('delivered', carol),
      );
    });

    test('FAILED: a message undelivered past the limit fails for that recipient, with a notice on receipts.failed', async () => {
      const alice = user('alice');
      const dave = user('dave'); // never connects
      const chat = directChatId(alice, dave);
      const notices = await collectRecords(system.bus, TOPICS.deliveryFailures.name, { fromBeginning: true });
      const a = await connect(alice);
      await a.createChat(chat, 'direct', [dave]);
      const sent = await a.sendMessage(chat, 'anyone?');
      const failed = await a.waitFrame(
        'receipt',
        (f) => f.chatId === chat && f.status === 'failed' && f.fromSeq <= sent.seq && f.upToSeq >= sent.seq,
        EXPERIENCE_TIMINGS.failAfterMs + 60_000,
      );
      assert.ok(failed.atMs >= sent.serverTimeMs + EXPERIENCE_TIMINGS.failAfterMs - 1_000, 'not before the limit');
      assert.equal(receipts(a, chat).filter((f) => f.status === 'delivered').length, 0);
      const notice = await waitFor(
        async () => {
          for (const record of notices) {
            const value = (await system.codec.decode<DeliveryFailed>(record.value!)).value;
            if (record.key === chat && value.seq === sent.seq) return value;
          }
          return false;
        },
        { description: 'the FAILED notice on receipts.failed', timeoutMs: 30_000 },
      );
      assert.equal(notice.recipientUserId, dave, 'names the recipient');
      assert.equal(notice.senderUserId, alice);
    });

    test('presence and typing reach only users who share a chat; a hidden user shows no presence', async () => {
      const [alice, bob, eve, carol] = [user('alice'), user('bob'), user('eve'), user('carol')];
      const chat = directChatId(alice, bob);
      const eveChat = directChatId(eve, carol);
      const a = await connect(alice);
      const b = await connect(bob, 'phone', system.gatewayUrls.length - 1);
      const e = await connect(eve);
      const c = await connect(carol);
      await a.createChat(chat, 'direct', [bob]);
      await e.createChat(eveChat, 'direct', [carol]);
      await b.waitFrame('chatCreated', (f) => f.chatId === chat);
      await c.waitFrame('chatCreated', (f) => f.chatId === eveChat);

      a.send({ type: 'presenceSubscribe', userIds: [bob] });
      e.send({ type: 'presenceSubscribe', userIds: [bob, carol] });
      const online = await a.waitFrame('presence', (f) => f.userId === bob);
      assert.equal(online.online, true);
      await e.waitFrame('presence', (f) => f.userId === carol); // the same subscription, handled as one
      assert.equal(e.framesOf('presence', (f) => f.userId === bob).length, 0, 'eve shares no chat with bob');

      b.send({ type: 'typing', chatId: chat, typing: true });
      const typing = await a.waitFrame('typing', (f) => f.chatId === chat && f.userId === bob);
      assert.ok(typing.expiresAtMs > Date.now() - 60_000 && typing.typing);
      // Typing in a chat bob is not in: rejected with a code, relayed to nobody.
      b.send({ type: 'typing', chatId: eveChat, typing: true });
      const refused = await b.waitFrame('error', (f) => f.code === 'CM_ERR_PRESENCE_NOT_A_MEMBER');
      assert.ok(refused.message.length > 0);
      assert.equal(
        e.framesOf('typing').length + c.framesOf('typing').length,
        0,
        'nobody outside the chat sees bob type',
      );

      // Bob hides his presence: alice sees him offline with no last seen, and later changes stay hidden.
      const hide = await http(bob, 'phone', 'PUT', '/v1/settings', { presenceVisible: false });
      assert.equal(hide.status, 202);
      await a.waitFrame('presence', (f) => f.userId === bob && !f.online && f.lastSeenMs === null);
      assert.equal((await system.store.settings.get(bob)).presenceVisible, false);
      const show = await http(bob, 'phone', 'PUT', '/v1/settings', { presenceVisible: true });
      assert.equal(show.status, 202);
      const count = a.framesOf('presence', (f) => f.userId === bob && f.online).length;
      await waitFor(() => a.framesOf('presence', (f) => f.userId === bob && f.online).length > count, {
        description: 'bob visible again',
        timeoutMs: 30_000,
      });

      // Bob leaves: alice learns he went offline, with a last seen; eve still learns nothing.
      await b.close();
      const offline = await a.waitFrame('presence', (f) => f.userId === bob && !f.online && f.lastSeenMs !== null);
      assert.ok((offline.lastSeenMs ?? 0) > 0);
      assert.equal(e.framesOf('presence', (f) => f.userId === bob).length, 0);
    });

    test("read receipts turned off: nobody sees that user READ, and they see nobody else's", async () => {
      const [alice, bob] = [user('alice'), user('bob')];
      const chat = directChatId(alice, bob);
      const a = await connect(alice);
      const b = await connect(bob);
      const bobLaptop = await connect(bob, 'laptop');
      assert.equal((await http(bob, 'phone', 'PUT', '/v1/settings', { readReceipts: false })).status, 202);
      await waitFor(async () => !(await system.store.settings.get(bob)).readReceipts, {
        description: 'the setting stored',
        timeoutMs: 30_000,
      });
      await a.createChat(chat, 'direct', [bob]);
      const sent = await a.sendMessage(chat, 'read this');
      await a.waitFrame('receipt', (f) => f.chatId === chat && f.status === 'delivered' && f.upToSeq >= sent.seq);
      b.send({ type: 'read', chatId: chat, upToSeq: sent.seq });
      // The read still clears bob's other device: proof that receipts handled it.
      const pointer = await bobLaptop.waitFrame('readPointer', (f) => f.chatId === chat && f.upToSeq >= sent.seq);
      assert.equal(pointer.byDeviceId, 'phone');
      // And bob does not see alice's READ of his messages either.
      const reply = await b.sendMessage(chat, 'reply');
      await a.waitFrame('messageReceived', (f) => f.chatId === chat && f.seq === reply.seq);
      a.send({ type: 'read', chatId: chat, upToSeq: reply.seq });
      await b.waitFrame('receipt', (f) => f.chatId === chat && f.status === 'delivered' && f.upToSeq >= reply.seq);
      await waitFor(async () => (await system.store.receipts.pointers(chat, alice)).readSeq >= reply.seq, {
        description: "alice's read stored",
        timeoutMs: 30_000,
      });
      assert.equal(a.framesOf('receipt', (f) => f.chatId === chat && f.status === 'read').length, 0);
      assert.equal(b.framesOf('receipt', (f) => f.chatId === chat && f.status === 'read').length, 0);
      const stored = [...(await inboxStatuses(alice)), ...(await inboxStatuses(bob))].filter(
        (s) => s.chatId === chat && s.status === 'READ',
      );
      assert.deepEqual(stored, [], 'no READ status stored for either side');
    });

    test('bad input is refused with a code and changes nothing: reads past the head or of foreign chats, typing floods', async () => {
      const [alice, bob, eve] = [user('alice'), user('bob'), user('eve')];
      const chat = directChatId(alice, bob);
      const foreign = directChatId(eve, alice);
      const a = await connect(alice);
      const b = await connect(bob);
      await a.createChat(chat, 'direct', [bob]);
      const sent = await a.sendMessage(chat, 'one');
      await b.waitFrame('messageReceived', (f) => f.seq === sent.seq && f.chatId === chat);
      b.send({ type: 'read', chatId: chat, upToSeq: sent.seq + 50 });
      await b.waitFrame('error', (f) => f.code === 'CM_ERR_RECEIPTS_BEYOND_HEAD');
      b.send({ type: 'read', chatId: foreign, upToSeq: 1 });
      await b.waitFrame('error', (f) => f.code === 'CM_ERR_RECEIPTS_NOT_A_MEMBER');
      assert.ok((await system.store.receipts.pointers(chat, bob)).readSeq < sent.seq + 50);
      assert.equal((await system.store.receipts.pointers(foreign, bob)).readSeq, 0);
      assert.equal(a.framesOf('receipt', (f) => f.status === 'read').length, 0);

      for (let i = 0; i < 40; i++) b.send({ type: 'typing', chatId: chat, typing: true });
      await b.waitFrame('error', (f) => f.code === 'CM_ERR_PROTOCOL_RATE_LIMITED');
      await a.waitFrame('typing', (f) => f.chatId === chat && f.userId === bob);
      assert.ok(a.framesOf('typing').length < 10, `a flood is not relayed: ${a.framesOf('typing').length} of 40`);
    });

    test('multi-device: every device gets the messages, a read clears the others, the device list is capped and removable', async () => {
      const [alice, bob] = [user('alice'), user('bob')];
      const chat = directChatId(alice, bob);
      const phone = await connect(alice, 'phone');
      const laptop = await connect(alice, 'laptop', system.gatewayUrls.length - 1);
      const b = await connect(bob);
      await phone.createChat(chat, 'direct', [bob]);
      const mine = await phone.sendMessage(chat, 'from my phone');
      const onLaptop = await laptop.waitFrame('messageReceived', (f) => f.chatId === chat && f.seq === mine.seq);
      assert.equal(onLaptop.by.deviceId, 'phone');
      const reply = await b.sendMessage(chat, 'hi alice');
      for (const device of [phone, laptop]) await device.waitFrame('messageReceived', (f) => f.seq === reply.seq);
      phone.send({ type: 'read', chatId: chat, upToSeq: reply.seq });
      const cleared = await laptop.waitFrame('readPointer', (f) => f.chatId === chat && f.upToSeq >= reply.seq);
      assert.equal(cleared.byDeviceId, 'phone');

      // The limit is 3 devices (EXPERIENCE_ENV): a third is fine, a fourth is refused at the door.
      const tablet = await connect(alice, 'tablet');
      await waitFor(async () => (await system.store.devices.list(alice)).length === 3, {
        description: 'three devices listed',
        timeoutMs: 30_000,
      });
      await assert.rejects(connect(alice, 'tv'), /403.*CM_ERR_DEVICE_LIMIT/s);
      const listed = await http(alice, 'phone', 'GET', '/v1/devices');
      assert.equal(listed.status, 200);
      // Removing the tablet ends its session; it cannot come back under that id.
      assert.equal((await http(alice, 'phone', 'DELETE', '/v1/devices/tablet')).status, 202);
      await waitFor(() => tablet.closed?.code === 4011, {
        description: 'the tablet closed with 4011',
        timeoutMs: 30_000,
      });
      await assert.rejects(connect(alice, 'tablet'), /403.*CM_ERR_DEVICE_REMOVED/s);
      assert.equal((await http(alice, 'phone', 'DELETE', '/v1/devices/nope')).status, 404);
    });

    test(
      'a killed gateway leaves no ghost: its users go offline within the heartbeat TTL',
      { skip: false },
      async (t) => {
        if (!system.killGateway || system.gatewayUrls.length < 2) {
          t.skip('needs a second gateway process (stack mode)');
          return;
        }
        const [alice, bob] = [user('alice'), user('bob')];
        const chat = directChatId(alice, bob);
        const a = await connect(alice, 'phone', 0);
        const b = await connect(bob, 'phone', 1);
        await a.createChat(chat, 'direct', [bob]);
        await b.waitFrame('chatCreated', (f) => f.chatId === chat);
        a.send({ type: 'presenceSubscribe', userIds: [bob] });
        await a.waitFrame('presence', (f) => f.userId === bob && f.online);
        const killedAt = Date.now();
        await system.killGateway(1);
        const offline = await a.waitFrame('presence', (f) => f.userId === bob && !f.online, 60_000);
        const tookMs = Date.now() - killedAt;
        assert.deepEqual(await system.presence.onlineDevices(bob), []);
        assert.ok(offline.lastSeenMs === null || offline.lastSeenMs <= Date.now());
        process.stderr.write(
          `[experience] offline ${tookMs} ms after the gateway was killed (lease TTL ${EXPERIENCE_TIMINGS.leaseTtlMs} ms)\n`,
        );
      },
    );
  });
}
