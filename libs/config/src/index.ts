/** @chatmesh/config (in progress). */
export {};
