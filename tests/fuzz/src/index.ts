export { DOCUMENTED_CODES, DOCUMENTED_CLOSE_CODES } from './documented-codes.js';
export { nearValidFrame, validFrame, validId, junkValue } from './frame-arbitraries.js';
