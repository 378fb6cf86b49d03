/**
 * @chatmesh/lru: {@link BoundedLruMap}, the one bounded least-recently-used map of the in-process caches (chat
 * states, member lists, chat kinds, wake-up windows, stream heads...), so each cache states its bound and nothing
 * else.
 */
export { BoundedLruMap } from './bounded-lru-map.js';
