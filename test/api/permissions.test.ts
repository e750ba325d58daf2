/** The README's table of who may do what is the table the code enforces. */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { PERMISSIONS, type Resource } from '../../src/auth/permissions.js';

const COLUMNS: Resource[] = ['users', 'orders', 'orderHistory', 'products', 'boxSettings', 'wordpressSkuCache', 'shopSettings', 'feeds'];

t.test('README "Who may do what" matches src/auth/permissions.ts', async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const table = readme.split('<!-- permissions:start -->')[1]?.split('<!-- permissions:end -->')[0] ?? '';
  const rows = table
    .trim()
    .split('\n')
    .slice(2)
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  const documented = Object.fromEntries(
    rows.map(([role, ...cells]) => [
      role,
      Object.fromEntries(
        COLUMNS.map((resource, i) => [resource, cells[i] === 'own profile' || cells[i] === '—' ? [] : cells[i]!.split(', ')]),
      ),
    ]),
  );
  t.same(documented, PERMISSIONS);
});
