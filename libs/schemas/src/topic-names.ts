import type { TopicRecordTypes } from './__generated__/index.js';

/** Any topic name of the table: a fixed topic, a gateway's delivery topic, or a dead-letter twin. */
export type TopicName = keyof TopicRecordTypes & string;

/** The record type of topic `N` (a union of them when `N` is a union of topics). */
export type TopicRecord<N extends TopicName> = TopicRecordTypes[N];
