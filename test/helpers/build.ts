/** tap's `before`: the tests start the built server (dist/), as production does; build it once first. */
import { execFileSync } from 'node:child_process';
import { PROJECT_ROOT } from './commands.js';

execFileSync('npm', ['run', '-s', 'build'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
