import { defineAuthorizationSuite } from '../authorization-suite.js';
import { startEmbeddedExperience } from '../embedded-experience.js';

defineAuthorizationSuite({
  name: 'issue 15 authorization matrix (embedded: six services in one process)',
  createSystem: startEmbeddedExperience,
});
