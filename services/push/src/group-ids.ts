/** The push service's consumer groups (a namespace, when set, is put before them by the bus). */
export const PUSH_REQUESTS_GROUP_ID = 'chatmesh.push';
export const PUSH_REGISTRATIONS_GROUP_ID = 'chatmesh.push.registrations';
/** Reads presence.events for device removals only (the channels of a removed device are deleted). */
export const PUSH_DEVICE_REMOVALS_GROUP_ID = 'chatmesh.push.device-removals';
