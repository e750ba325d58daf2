/** What the service's bundle (dist/server.bundle.cjs) gives its launcher, src/launcher.ts. */
export { startServer } from './server.js';
export { warmUp } from './warm-up.js';
