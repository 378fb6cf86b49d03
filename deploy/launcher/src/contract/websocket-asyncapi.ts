/**
 * The AsyncAPI 3.0 document of the WebSocket protocol (docs/websocket-asyncapi.json), generated from the frame schemas
 * of @chatmesh/protocol (the ones the gateway validates client frames with and the SDK validates server frames with),
 * their one-line summaries and the close codes. docs/protocol.md stays the explanation; this is the machine contract.
 */
import {
  CLIENT_FRAME_SUMMARIES,
  clientFrameSchema,
  CLOSE_CODES,
  PROTOCOL_VERSION,
  SERVER_FRAME_SUMMARIES,
  serverFrameSchema,
} from '@chatmesh/protocol';
import type { z } from 'zod';
import { ASYNCAPI_VERSION, draft7SchemaOf, type JsonObject } from './json.js';

/** The path of the WebSocket on the gateway's port. */
export const WEBSOCKET_PATH = '/v1/ws';

/** `presenceSubscribe` → `clientPresenceSubscribe`. */
function messageId(side: 'client' | 'server', type: string): string {
  return `${side}${type[0]!.toUpperCase()}${type.slice(1)}`;
}

/** Every frame of one direction as a message: its `type`, summary and JSON Schema. */
function framesOf(
  side: 'client' | 'server',
  union: { readonly options: readonly z.ZodObject[] },
  summaries: Readonly<Record<string, string>>,
): Array<[string, JsonObject]> {
  return union.options.map((schema) => {
    const type = (schema.shape['type'] as z.ZodLiteral<string>).value;
    return [
      messageId(side, type),
      {
        name: type,
        title: `${type} (${side === 'client' ? 'client → server' : 'server → client'})`,
        summary: summaries[type] ?? type,
        contentType: 'application/json',
        payload: draft7SchemaOf(schema, side === 'client' ? 'input' : 'output'),
      },
    ];
  });
}

function closeCodesText(): string {
  return Object.values(CLOSE_CODES)
    .map(
      (entry) =>
        `${entry.code} ${entry.type} (${entry.retriable ? 'reconnect' : 'do not reconnect'}): ${entry.message}`,
    )
    .join('; ');
}

/** The AsyncAPI document of the WebSocket protocol, from the gateway's point of view. */
export function buildWebSocketAsyncApi(): JsonObject {
  const client = framesOf('client', clientFrameSchema, CLIENT_FRAME_SUMMARIES);
  const server = framesOf('server', serverFrameSchema, SERVER_FRAME_SUMMARIES);
  const refs = (frames: Array<[string, JsonObject]>) =>
    frames.map(([id]) => ({ $ref: `#/channels/connection/messages/${id}` }));
  return {
    asyncapi: ASYNCAPI_VERSION,
    info: {
      title: 'chatmesh WebSocket protocol',
      version: String(PROTOCOL_VERSION),
      description:
        `The client protocol of the delivery gateway, version ${PROTOCOL_VERSION} (the \`hello\` frame announces it), ` +
        "from the gateway's point of view: it receives client frames and sends server frames, one JSON object per " +
        'text frame. Frames are validated with strict schemas: an unknown field or type gets an `error` frame and ' +
        'changes nothing. docs/protocol.md explains the protocol; this document is generated from the frame ' +
        'schemas of @chatmesh/protocol by `npm run docs:contract -w @chatmesh/launcher`.',
    },
    defaultContentType: 'application/json',
    servers: {
      gateway: {
        host: '{address}',
        protocol: 'ws',
        pathname: WEBSOCKET_PATH,
        description: 'Any delivery gateway (behind TLS in production: wss).',
        variables: {
          address: {
            default: '127.0.0.1:8090',
            description: 'The gateway host and port (CHATMESH_GATEWAY_HOST, CHATMESH_GATEWAY_PORT).',
          },
        },
        security: [
          { $ref: '#/components/securitySchemes/bearer' },
          { $ref: '#/components/securitySchemes/accessToken' },
        ],
      },
    },
    channels: {
      connection: {
        address: WEBSOCKET_PATH,
        title: 'A device connection',
        description: `One connection per device. Close codes: ${closeCodesText()}.`,
        messages: Object.fromEntries([...client, ...server]),
      },
    },
    operations: {
      receiveClientFrames: {
        action: 'receive',
        channel: { $ref: '#/channels/connection' },
        title: 'Client frames',
        summary: 'What a client sends.',
        messages: refs(client),
      },
      sendServerFrames: {
        action: 'send',
        channel: { $ref: '#/channels/connection' },
        title: 'Server frames',
        summary: 'What the gateway sends.',
        messages: refs(server),
      },
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: '`Authorization: Bearer <jwt>` on the upgrade: `sub` is the user id, `did` the device id.',
        },
        accessToken: {
          type: 'httpApiKey',
          in: 'query',
          name: 'access_token',
          description: 'The same token as a query parameter (browsers cannot set headers on a WebSocket).',
        },
      },
    },
  };
}
