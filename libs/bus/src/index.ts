/**
 * @chatmesh/bus: one event-bus interface with Kafka's semantics and two implementations.
 */
export type * from './types.js';
