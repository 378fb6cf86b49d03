/** Kept for existing imports: the run's own broker now lives in `@chatmesh/testing`. */
export { startRunKafka } from '@chatmesh/testing';
