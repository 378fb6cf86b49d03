import { z } from 'zod';

/** A JSON value of a generated document. */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** The AsyncAPI version of both AsyncAPI documents. */
export const ASYNCAPI_VERSION = '3.0.0';

/**
 * A zod schema as JSON Schema draft-07, AsyncAPI's default schema format: what a client may send (`input`) or what
 * the server sends (`output`). Refinements JSON Schema cannot say (UTF-8 byte counts) stay in the code.
 */
export function draft7SchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' });
  return rest as JsonObject;
}
