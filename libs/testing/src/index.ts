/** @chatmesh/testing (in progress). */
export {};
