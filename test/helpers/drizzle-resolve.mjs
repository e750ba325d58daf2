/**
 * Loaded into every test process (tap's node-arg): resolves drizzle-orm's imports of its own files
 * without Node's resolver. For each ES module file it loads, Node looks up the nearest package.json
 * for its "type", and deserialises the `exports` field again each time (Node 22 and 26); drizzle-orm's
 * package.json holds a 179 kB exports map and its ES build is 448 files, so importing
 * `drizzle-orm/pg-core` took 1.1 s of CPU instead of 0.06 s, in every test process. Its files import
 * each other by relative paths ending in `.js`, all ES modules ("type": "module", no nested
 * package.json). The service's own bundles (dist/) never load it this way.
 */
import module from 'node:module';

const DRIZZLE_FILE = /\/node_modules\/drizzle-orm\/.+\.js$/;

// module.registerHooks: Node 22.15 and later; on older lines the tests load drizzle-orm the slow way
module.registerHooks?.({
  resolve(specifier, context, nextResolve) {
    if (context.parentURL && DRIZZLE_FILE.test(context.parentURL) && specifier.startsWith('.') && specifier.endsWith('.js')) {
      return { url: new URL(specifier, context.parentURL).href, format: 'module', shortCircuit: true };
    }
    return nextResolve(specifier, context);
  },
});
