/**
 * @chatmesh/chaos-tests: chaos runs of the stack. SDK devices send steadily (direct chats and groups, devices
 * going offline and coming back) while a schedule kills, pauses and restarts every service process and the
 * run's own Kafka, Cassandra, Redis and schema registry, and cuts or silences the network between the gateways
 * and their clients; a Jepsen-style checker then reads every device's stream and every sender's acks.
 */
export * from './checker.js';
export * from './schedule.js';
export { runChaos, summarize, type ChaosRunOptions, type ChaosRunResult } from './chaos-run.js';
export { startPrivateInfra, type PrivateInfra } from './private-infra.js';
export { startChaosStack, CHAOS_SERVICE_ENV, type ChaosStack } from './chaos-stack.js';
export { startTraffic, type Traffic, type TrafficOptions } from './traffic.js';
