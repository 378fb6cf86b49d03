import { defineConfigSection, defineVariable, parsers } from '@chatmesh/config';

/**
 * Settings shared by the services that enforce a user's device list: the gateway refuses a new
 * device at the door, and presence (the device list's single writer) enforces the same limit when
 * two new devices race. Both declare this one section object, so the variable is read once per process.
 */
export const DEVICES_CONFIG = defineConfigSection({
  description: 'devices: the per-user device list (multi-device), enforced by delivery-gateway and presence',
  variables: {
    maxDevicesPerUser: defineVariable({
      env: 'CHATMESH_MAX_DEVICES_PER_USER',
      description:
        'How many devices (not removed) a user may have; a new device past it is refused with CM_ERR_DEVICE_LIMIT (HTTP 403 at the upgrade, close 4012 if two race).',
      schema: parsers.integer(1, 64),
      noun: 'count',
      expected: 'an integer 1-64',
      default: 5,
    }),
  },
});
