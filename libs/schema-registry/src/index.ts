/** @chatmesh/schema-registry (in progress). */
export {};
