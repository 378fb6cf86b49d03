/**
 * Issue 15, item 5: the authorization matrix. Every HTTP route and the WebSocket upgrade × every bad credential,
 * and every client frame type × every principal who may not do it, each refused with its documented code, with
 * nothing stored (the chat log and the victims' inboxes keep their heads) and nothing delivered (the members'
 * sockets receive nothing new). One table per dimension, all in this file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { directChatId, type ServerFrame } from '@chatmesh/protocol';
import { randomName, waitFor } from '@chatmesh/testing';
import WebSocket from 'ws';
import type { ExperienceSystem } from './experience-system.js';
import { TEST_TOKEN_AUDIENCE, TEST_TOKEN_ISSUER, type ClaimsSigner } from './test-jwks.js';
import { WsUser } from './ws-user.js';

/** Tries the WebSocket upgrade; resolves its refusal (status and code), or status 101 when it opened. */
async function tryUpgrade(url: string, headers: Record<string, string>): Promise<{ status: number; code?: string }> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate();
      resolve({ status: 101 });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(body) as { code: string }).code }));
    });
    ws.once('error', reject);
  });
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Bad credentials, each with the upgrade's and the HTTP API's documented answer. */
function credentialCases(sign: ClaimsSigner, removedDevice: { userId: string; deviceId: string; token: string }) {
  const nowS = Math.floor(Date.now() / 1000);
  return [
    { name: 'no token', token: async () => null, status: 401, code: 'CM_ERR_AUTH_MISSING_TOKEN' },
    {
      name: 'forged signature',
      token: () => sign({}, { forged: true }),
      status: 401,
      code: 'CM_ERR_AUTH_INVALID_TOKEN',
    },
    {
      name: 'alg: none',
      token: async () =>
        `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'someone', did: 'd', iss: TEST_TOKEN_ISSUER, aud: TEST_TOKEN_AUDIENCE, exp: nowS + 3_600 })}.`,
      status: 401,
      code: 'CM_ERR_AUTH_INVALID_TOKEN',
    },
    { name: 'expired', token: () => sign({ expSeconds: -3_600 }), status: 401, code: 'CM_ERR_AUTH_EXPIRED_TOKEN' },
    { name: 'no exp', token: () => sign({ expSeconds: null }), status: 401, code: 'CM_ERR_AUTH_INVALID_TOKEN' },
    {
      name: 'wrong audience',
      token: () => sign({ aud: 'someone-else' }),
      status: 401,
      code: 'CM_ERR_AUTH_WRONG_AUDIENCE',
    },
    { name: 'wrong issuer', token: () => sign({ iss: 'evil-idp' }), status: 401, code: 'CM_ERR_AUTH_WRONG_AUDIENCE' },
    {
      name: 'a removed device',
      token: async () => removedDevice.token,
      status: 403,
      code: 'CM_ERR_DEVICE_REMOVED',
    },
  ] as const;
}

/** Every HTTP route of the gateway's API (the dev token route takes no token and is embedded-only). */
const HTTP_ROUTES = (chatId: string) =>
  [
    { method: 'GET', path: '/v1/chats' },
    { method: 'GET', path: `/v1/chats/${chatId}/messages` },
    { method: 'GET', path: '/v1/devices' },
    { method: 'DELETE', path: '/v1/devices/d' },
    { method: 'GET', path: '/v1/settings' },
    { method: 'PUT', path: '/v1/settings', body: '{"readReceipts":false}' },
  ] as const;

export function defineAuthorizationSuite(options: {
  name: string;
  createSystem: () => Promise<ExperienceSystem>;
}): void {
  describe(options.name, () => {
    let system: ExperienceSystem;
    let url: string;
    const ids = {
      admin: randomName('admin'),
      member: randomName('member'),
      outsider: randomName('outsider'),
      exMember: randomName('exmember'),
      twoDevices: randomName('twodev'),
    };
    const group = randomName('group');
    let admin: WsUser;
    let member: WsUser;
    let outsider: WsUser;
    let exMember: WsUser;
    let removedDevice: { userId: string; deviceId: string; token: string };
    const sockets: WsUser[] = [];
    const connect = async (userId: string, deviceId = 'phone'): Promise<WsUser> => {
      const user = await WsUser.connect(url, await system.token(userId, deviceId), { userId, deviceId });
      sockets.push(user);
      return user;
    };

    before(async () => {
      system = await options.createSystem();
      url = system.gatewayUrls[0]!;
      admin = await connect(ids.admin);
      member = await connect(ids.member);
      outsider = await connect(ids.outsider);
      exMember = await connect(ids.exMember);
      await admin.createChat(group, 'group', [ids.member, ids.exMember]);
      await admin.sendMessage(group, 'before the removal');
      const removal = admin.requestId();
      admin.send({ type: 'removeMembers', requestId: removal, chatId: group, userIds: [ids.exMember] });
      await admin.waitFrame('ack', (f) => f.requestId === removal);
      await exMember.waitFrame('membersRemoved');
      // A device removed from its account: its token is still valid, the device is not.
      const keeper = await connect(ids.twoDevices, 'keeper');
      const old = await connect(ids.twoDevices, 'old');
      removedDevice = { userId: ids.twoDevices, deviceId: 'old', token: await system.token(ids.twoDevices, 'old') };
      // Devices are registered by the presence service from the gateway's events: on the stack, after the hello.
      await waitFor(async () => (await system.store.devices.list(ids.twoDevices)).length === 2, {
        description: 'both devices registered',
        timeoutMs: 30_000,
      });
      const response = await fetch(`${url}/v1/devices/old`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${await system.token(ids.twoDevices, 'keeper')}` },
      });
      assert.equal(response.status, 202);
      await waitFor(async () => (await system.store.devices.list(ids.twoDevices)).some((d) => d.removedAtMs !== null), {
        description: 'the device removed',
      });
      await waitFor(() => old.closed !== null, { description: 'the removed device closed' });
      void keeper;
    });
    after(async () => {
      for (const socket of sockets) await socket.close().catch(() => undefined);
      await system?.close();
    });

    /** What must not move: the group's log and every member's inbox head, and the frames their sockets got. */
    const snapshot = async () => ({
      groupLog: (await system.store.chatLog.readAfter(group, 0, 1_000)).length,
      inboxes: await Promise.all(
        [ids.admin, ids.member].map(async (u) => (await system.store.inboxLog.readAfter(u, 0, 1_000)).length),
      ),
      frames: [admin.frames.length, member.frames.length],
    });

    it('the upgrade and every HTTP route refuse every bad credential with the documented code', async () => {
      const before = await snapshot();
      for (const credential of credentialCases(system.signClaims, removedDevice)) {
        const token = await credential.token();
        const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
        const upgrade = await tryUpgrade(url, headers);
        assert.deepEqual(
          [upgrade.status, upgrade.code],
          [credential.status, credential.code],
          `upgrade, ${credential.name}`,
        );
        for (const route of HTTP_ROUTES(group)) {
          const response = await fetch(`${url}${route.path}`, {
            method: route.method,
            headers,
            ...('body' in route ? { body: route.body } : {}),
          });
          const body = (await response.json()) as { code: string };
          assert.deepEqual(
            [response.status, body.code],
            [credential.status, credential.code],
            `${route.method} ${route.path}, ${credential.name}`,
          );
        }
      }
      // Nothing changed: the removed device's settings write and device removal were refused too.
      assert.deepEqual(await snapshot(), before);
      assert.deepEqual(
        await system.store.settings.get(ids.twoDevices),
        await system.store.settings.get(randomName('fresh')),
      );
    });

    it('HTTP routes refuse what belongs to someone else: another chat, another user’s device', async () => {
      const asOutsider = { authorization: `Bearer ${await system.token(ids.outsider, 'phone')}` };
      const asExMember = { authorization: `Bearer ${await system.token(ids.exMember, 'phone')}` };
      for (const [who, headers] of [
        ['a non-member', asOutsider],
        ['a removed member', asExMember],
      ] as const) {
        const history = await fetch(`${url}/v1/chats/${group}/messages`, { headers });
        assert.deepEqual(
          [history.status, ((await history.json()) as { code: string }).code],
          [404, 'CM_ERR_CHAT_NOT_FOUND'],
          `history, ${who}`,
        );
        const chats = (await (await fetch(`${url}/v1/chats`, { headers })).json()) as {
          chats: Array<{ chatId: string }>;
        };
        assert.ok(!chats.chats.some((c) => c.chatId === group), `chat list, ${who}`);
      }
      // Another user's device: the same 404 as an unknown one, and the device stays.
      const foreign = await fetch(`${url}/v1/devices/keeper`, { method: 'DELETE', headers: asOutsider });
      assert.deepEqual(
        [foreign.status, ((await foreign.json()) as { code: string }).code],
        [404, 'CM_ERR_DEVICE_UNKNOWN'],
      );
      assert.ok(
        (await system.store.devices.list(ids.twoDevices)).some(
          (d) => d.deviceId === 'keeper' && d.removedAtMs === null,
        ),
      );
    });

    /** A frame sent by a principal who may not, with the answer it gets. */
    interface FrameCase {
      readonly name: string;
      readonly by: () => WsUser;
      readonly frame: (requestId: string) => Record<string, unknown>;
      /** `reject` for commands with a request id, `error` for the rest. */
      readonly answer: 'reject' | 'error';
      readonly code: string;
    }
    const frameCases = (): FrameCase[] => [
      ...(['outsider', 'exMember'] as const).flatMap((who): FrameCase[] => {
        const by = () => (who === 'outsider' ? outsider : exMember);
        const label = who === 'outsider' ? 'a non-member' : 'a removed member';
        return [
          {
            name: `send by ${label}`,
            by,
            frame: (requestId) => ({ type: 'send', requestId, chatId: group, clientMessageId: requestId, body: 'x' }),
            answer: 'reject',
            code: 'CM_ERR_CHAT_NOT_FOUND',
          },
          {
            name: `updateChat by ${label}`,
            by,
            frame: (requestId) => ({ type: 'updateChat', requestId, chatId: group, name: 'pwned' }),
            answer: 'reject',
            code: 'CM_ERR_CHAT_NOT_FOUND',
          },
          {
            name: `addMembers by ${label}`,
            by,
            frame: (requestId) => ({ type: 'addMembers', requestId, chatId: group, userIds: [ids.outsider] }),
            answer: 'reject',
            code: 'CM_ERR_CHAT_NOT_FOUND',
          },
          {
            name: `removeMembers by ${label}`,
            by,
            frame: (requestId) => ({ type: 'removeMembers', requestId, chatId: group, userIds: [ids.member] }),
            answer: 'reject',
            code: 'CM_ERR_CHAT_NOT_FOUND',
          },
          {
            name: `leaveChat by ${label}`,
            by,
            frame: (requestId) => ({ type: 'leaveChat', requestId, chatId: group }),
            answer: 'reject',
            code: 'CM_ERR_CHAT_NOT_FOUND',
          },
          {
            name: `read by ${label}`,
            by,
            frame: () => ({ type: 'read', chatId: group, upToSeq: 1 }),
            answer: 'error',
            code: 'CM_ERR_RECEIPTS_NOT_A_MEMBER',
          },
          {
            name: `typing by ${label}`,
            by,
            frame: () => ({ type: 'typing', chatId: group, typing: true }),
            answer: 'error',
            code: 'CM_ERR_PRESENCE_NOT_A_MEMBER',
          },
          {
            name: `sync.chats by ${label}`,
            by,
            frame: () => ({ type: 'sync', chats: [{ chatId: group, seq: 0 }] }),
            answer: 'error',
            code: 'CM_ERR_CHAT_NOT_FOUND',
          },
        ];
      }),
      {
        name: 'updateChat by a member (admin only)',
        by: () => member,
        frame: (requestId) => ({ type: 'updateChat', requestId, chatId: group, name: 'pwned' }),
        answer: 'reject',
        code: 'CM_ERR_CHAT_FORBIDDEN',
      },
      {
        name: 'addMembers by a member (admin only)',
        by: () => member,
        frame: (requestId) => ({ type: 'addMembers', requestId, chatId: group, userIds: [ids.outsider] }),
        answer: 'reject',
        code: 'CM_ERR_CHAT_FORBIDDEN',
      },
      {
        name: 'removeMembers by a member (admin only)',
        by: () => member,
        frame: (requestId) => ({ type: 'removeMembers', requestId, chatId: group, userIds: [ids.admin] }),
        answer: 'reject',
        code: 'CM_ERR_CHAT_FORBIDDEN',
      },
      {
        name: "createChat of two other users' direct chat",
        by: () => outsider,
        frame: (requestId) => ({
          type: 'createChat',
          requestId,
          chatId: directChatId(ids.admin, ids.member),
          kind: 'direct',
          members: [ids.member],
        }),
        answer: 'reject',
        code: 'CM_ERR_CHAT_INVALID_COMMAND',
      },
    ];

    it('every frame type refuses every principal who may not use it, and nothing is stored or delivered', async () => {
      const before = await snapshot();
      const seenBefore = (user: WsUser) => user.frames.length;
      for (const testCase of frameCases()) {
        const user = testCase.by();
        const from = seenBefore(user);
        const requestId = user.requestId();
        user.send(testCase.frame(requestId));
        const answer = await waitFor(
          () =>
            user.frames
              .slice(from)
              .find(
                (f: ServerFrame) =>
                  (f.type === 'reject' && f.requestId === requestId) ||
                  (f.type === 'error' && testCase.answer === 'error') ||
                  (f.type === 'ack' && f.requestId === requestId),
              ) ?? false,
          { description: `an answer to ${testCase.name}`, timeoutMs: 15_000, intervalMs: 20 },
        ).catch((error: unknown) => {
          throw new Error(`${String(error)}; frames: ${JSON.stringify(user.frames.slice(from))}`);
        });
        assert.equal(answer.type, testCase.answer, testCase.name);
        assert.equal((answer as { code: string }).code, testCase.code, testCase.name);
      }
      // A last positive control through the same path: the admin's message reaches the member, so the member's
      // socket was listening all along and the refused frames above simply produced nothing.
      const control = await admin.sendMessage(group, 'control');
      await member.waitFrame('messageReceived', (f) => f.seq === control.seq);
      const after = await snapshot();
      assert.equal(after.groupLog, before.groupLog + 1, 'only the control message was stored in the group');
      // The member's inbox got the control message only; the admin's (the sender's) also gets its receipts.
      assert.equal(after.inboxes[1], before.inboxes[1]! + 1, "the member's inbox got only the control message");
      const newAtAdmin = new Set(admin.frames.slice(before.frames[0]).map((f) => f.type));
      for (const type of newAtAdmin) {
        assert.ok(
          ['ack', 'messageReceived', 'receipt', 'presence'].includes(type),
          `the admin was delivered a ${type}`,
        );
      }
      // (Its own refusals excepted: the member sent the admin-only cases.)
      const newAtMember = member.frames
        .slice(before.frames[1])
        .filter((f) => f.type !== 'receipt' && f.type !== 'presence' && f.type !== 'reject');
      assert.deepEqual(
        newAtMember.map((f) => f.type),
        ['messageReceived'],
        'the member was delivered nothing but the control message (no typing, no rename, no membership change)',
      );
      const chat = await system.store.directory.getChat(group);
      assert.equal(chat?.name, group, 'the group was not renamed');
    });
  });
}
