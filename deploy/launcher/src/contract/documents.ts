import { buildOpenApiDocument } from '@chatmesh/delivery-gateway';
import { SERVICE_MODULES } from '../service-modules.js';
import type { JsonObject } from './json.js';
import { buildTopicsAsyncApi } from './topics-asyncapi.js';
import { buildWebSocketAsyncApi } from './websocket-asyncapi.js';

/** One generated contract document. */
export interface ContractDocument {
  /** Its path from the repository root. */
  readonly file: string;
  readonly kind: 'asyncapi' | 'openapi';
  build(): JsonObject;
}

/** The documents `npm run docs:contract -w @chatmesh/launcher` writes under docs/. */
export const CONTRACT_DOCUMENTS: readonly ContractDocument[] = [
  { file: 'docs/asyncapi.json', kind: 'asyncapi', build: () => buildTopicsAsyncApi(Object.values(SERVICE_MODULES)) },
  { file: 'docs/websocket-asyncapi.json', kind: 'asyncapi', build: buildWebSocketAsyncApi },
  { file: 'docs/openapi.json', kind: 'openapi', build: () => buildOpenApiDocument() as JsonObject },
];

/** A document as committed: two-space JSON and a final newline (the files are kept out of prettier). */
export function renderContractDocument(document: JsonObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
