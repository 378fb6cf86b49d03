/** @chatmesh/runtime (in progress). */
export {};
