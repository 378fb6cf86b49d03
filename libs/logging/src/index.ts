/** @chatmesh/logging (in progress). */
export {};
