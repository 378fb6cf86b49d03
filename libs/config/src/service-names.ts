/**
 * The six services, in start order. The gateway starts last so that clients connect only once the
 * pipeline behind it runs; stopping goes in reverse, so the gateway stops taking frames first.
 */
export const SERVICE_NAMES = ['ingest', 'fan-out', 'receipts', 'push', 'presence', 'delivery-gateway'] as const;

/** The name of one of the six services. */
export type ServiceName = (typeof SERVICE_NAMES)[number];
