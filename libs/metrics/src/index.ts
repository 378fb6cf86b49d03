/** @chatmesh/metrics (in progress). */
export {};
