/**
 * The topics one `createTopics` call really creates: the specs given, plus each one's dead-letter twin
 * unless the call names that twin itself (an explicit spec wins, e.g. a single-partition twin) or opts out.
 */
import type { TopicSpec } from '../types.js';
import { defaultDeadLetterTopic, isDeadLetterTopic } from './subscribe-options.js';

export function expandTopicSpecs(specs: readonly TopicSpec[]): TopicSpec[] {
  const byName = new Map<string, TopicSpec>();
  for (const spec of specs) if (!byName.has(spec.name)) byName.set(spec.name, spec);
  for (const spec of specs) {
    if (spec.deadLetter === false || isDeadLetterTopic(spec.name)) continue;
    const twin = defaultDeadLetterTopic(spec.name);
    if (!byName.has(twin)) byName.set(twin, { ...spec, name: twin, deadLetter: false });
  }
  return [...byName.values()];
}
