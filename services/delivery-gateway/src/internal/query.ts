import type { z } from 'zod';

/**
 * Validates a query string against a route's query schema (an object of optional parameters). Only the schema's
 * own parameters are read, each by its first value; an empty one (`?limit=`) counts as absent, and others are
 * ignored, so a link with extra tracking parameters still works.
 */
export function parseQuery<S extends z.ZodObject>(schema: S, query: URLSearchParams): ReturnType<S['safeParse']> {
  const raw: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = query.get(name);
    if (value !== null && value !== '') raw[name] = value;
  }
  return schema.safeParse(raw) as ReturnType<S['safeParse']>;
}
