/**
 * `npm run static-checks` (the type check, ESLint and Prettier's check) as one of the tests: it runs
 * beside the other test files, on a core they leave idle while they wait on servers, rather than
 * before them all; a problem it finds is a failed test, printed in full. Once per tree:
 * `STATIC_CHECKS=skip` (the second Node line of `.ci/run`) leaves it out, as a skip.
 */
import t from 'tap';
import { run } from '../helpers/commands.js';

if (process.env.STATIC_CHECKS === 'skip') {
  t.plan(0, 'STATIC_CHECKS=skip: checked on another run of this tree');
} else {
  t.test('npm run static-checks: tsc --noEmit, ESLint, Prettier', async (t) => {
    const checks = await run('npm', ['run', '-s', 'static-checks']);
    t.equal(checks.code, 0, `what they found:\n${checks.stdout}${checks.stderr}`);
  });
}
