/**
 * tap's coverage map: every test file covers src/, and only it. A bundle chunk is counted when one
 * of its sources is in src/ (test/helpers/build-tests.mjs maps nothing else), so a chunk of packages,
 * of test helpers or of esbuild's own helpers is left out, whatever its name.
 */
export default () => 'src/**';
