/**
 * tap's `before`: the tests start the built server (dist/), as production does; build it once first.
 * The test bundles tap is about to run are built again if a source changed since `npm test` (or a
 * developer's last run) built them.
 */
import { execFileSync } from 'node:child_process';
import { PROJECT_ROOT, untracked } from './commands.js';

function runHere(command: string, args: string[]) {
  const [file, fileArgs, env] = untracked(command, args);
  execFileSync(file, fileArgs, { cwd: PROJECT_ROOT, stdio: 'inherit', env });
}

runHere('npm', ['run', '-s', 'build']);
runHere(process.execPath, ['test/helpers/build-tests.mjs']);
