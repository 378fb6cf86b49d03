import { defineExperienceSuite } from '../experience-suite.js';
import { startEmbeddedExperience } from '../embedded-experience.js';

defineExperienceSuite({
  name: 'issue 7 experience (embedded: six services in one process, one gateway)',
  createSystem: startEmbeddedExperience,
});
