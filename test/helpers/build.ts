/**
 * tap's `before`: the tests start the built server (dist/), as production does; build it once first.
 * The test bundles tap is about to run are built again if a source changed since `npm test` (or a
 * developer's last run) built them.
 */
import { execFileSync } from 'node:child_process';
import { childEnv, PROJECT_ROOT, untracked } from './commands.js';

const env = childEnv();
execFileSync(...untracked('npm', ['run', '-s', 'build'], env), { cwd: PROJECT_ROOT, stdio: 'inherit', env });
execFileSync(...untracked(process.execPath, ['test/helpers/build-tests.mjs'], env), { cwd: PROJECT_ROOT, stdio: 'inherit', env });
