/**
 * Preloaded (`--import`) into the gateway process the density benchmark measures, with `--expose-gc`:
 * SIGUSR2 runs a full garbage collection, so each memory sample reads live data rather than wherever
 * the collector happened to be. One signal listener; nothing else in the process changes.
 */
const collect = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => collect?.());
