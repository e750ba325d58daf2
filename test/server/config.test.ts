/** Each bad configuration value stops `npm start` before anything listens, with a message naming the variable. */
import { createServer, type AddressInfo } from 'node:net';
import t from 'tap';
import { loadConfig } from '../../src/config.js';
import { migratedTemplate, scratchDatabase } from '../helpers/databases.js';
import { startServer } from '../helpers/server.js';

const bad: [string, Record<string, string>][] = [
  ['PORT', { PORT: 'eighty' }],
  ['PORT', { PORT: '70000' }],
  ['NODE_ENV', { NODE_ENV: 'staging' }],
  ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
  ['DATABASE_URL', { DATABASE_URL: 'mysql://localhost/db' }],
  ['JWT_SECRET', { JWT_SECRET: 'short' }],
  ['JWT_SECRET', { JWT_SECRET: '', NODE_ENV: 'production', DATABASE_URL: 'postgres://u@h/db' }],
  ['JWT_SECRET', { JWT_SECRET: '', NODE_ENV: 'development', DATABASE_URL: 'postgres://u@h/db' }],
  ['DATABASE_URL', { DATABASE_URL: '', NODE_ENV: 'production' }],
  ['ACCESS_TOKEN_TTL', { ACCESS_TOKEN_TTL: '0' }],
  ['REFRESH_TOKEN_TTL', { REFRESH_TOKEN_TTL: '1.5' }],
  ['REFRESH_REUSE_GRACE', { REFRESH_REUSE_GRACE: '-1' }],
  ['LOGIN_RATE_LIMIT', { LOGIN_RATE_LIMIT: 'many' }],
  ['LOGIN_RATE_LIMIT_PER_CLIENT', { LOGIN_RATE_LIMIT_PER_CLIENT: '0' }],
  ['TRUST_PROXY', { TRUST_PROXY: 'the ingress' }],
  ['SHUTDOWN_TIMEOUT', { SHUTDOWN_TIMEOUT: '0' }],
  ['ADMIN_EMAIL', { ADMIN_EMAIL: 'not-an-email' }],
  ['ADMIN_PASSWORD', { ADMIN_PASSWORD: 'short' }],
];

const refusal = (env: Record<string, string>) =>
  startServer(env, 60_000).then(
    (server) => {
      server.child.kill('SIGKILL');
      return new Error('it started');
    },
    (e: Error) => e,
  );

/** The problems loadConfig names for `env`, as the server's start would see it; none: it loads. */
const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    return (e as { problems: string[] }).problems;
  }
};
/** What startServer gives every server it starts, and the data folder these start on. */
const START_ENV = { JWT_SECRET: 'a-test-secret-that-is-at-least-32-characters', PGLITE_DATA_DIR: '/nonexistent/never-created' };

t.test('each bad value is named by its variable', async (t) => {
  for (const [variable, env] of bad) {
    const problems = problemsOf({ ...START_ENV, ...env });
    t.ok(
      problems.some((problem) => new RegExp(`^${variable}\\b`).test(problem)),
      `${JSON.stringify(env)}: names ${variable} (${problems.join('; ')})`,
    );
  }
});

t.test('npm start exits non-zero and names the variable', async (t) => {
  // the message's way out of the process, for a value of each kind: a number, a secret, a URL
  const kinds: Record<string, string>[] = [
    { PORT: 'eighty' },
    { JWT_SECRET: '', NODE_ENV: 'production', DATABASE_URL: 'postgres://u@h/db' },
    { DATABASE_URL: 'mysql://localhost/db' },
  ];
  for (const env of kinds) {
    const error = await refusal({ ...START_ENV, ...env });
    t.match(error.message, /exited with 1 before listening/, `${JSON.stringify(env)}: exit 1 before listening`);
    t.match(
      error.message,
      new RegExp(`Invalid configuration:\\n {2}- ${Object.keys(env)[0]}\\b`),
      `${JSON.stringify(env)}: names ${Object.keys(env)[0]}`,
    );
  }
});

t.test('every problem is reported at once', async (t) => {
  const error = (() => {
    try {
      loadConfig({ PORT: 'x', LOG_LEVEL: 'loud', JWT_SECRET: 'short' });
    } catch (e) {
      return e as { problems?: string[] };
    }
  })();
  t.same(error?.problems, [
    'PORT: must be a whole number',
    'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
    'JWT_SECRET: must not have fewer than 32 characters (at least 32 characters)',
  ]);
});

t.test('MAX_SESSIONS_PER_USER: 5 by default, 1 to 100', async (t) => {
  t.equal(loadConfig({}).maxSessionsPerUser, 5);
  t.equal(loadConfig({ MAX_SESSIONS_PER_USER: '12' }).maxSessionsPerUser, 12);
  t.match(
    problemsOf({ MAX_SESSIONS_PER_USER: '0' }),
    [/^MAX_SESSIONS_PER_USER: .*\(refresh-token sessions/],
    'a clear message naming it (never its value)',
  );
});

t.test('MAX_EVENT_LOOP_DELAY: 1000 ms by default, 0 never sheds', async (t) => {
  t.equal(loadConfig({}).maxEventLoopDelay, 1000);
  t.equal(loadConfig({ MAX_EVENT_LOOP_DELAY: '0' }).maxEventLoopDelay, 0);
  t.match(problemsOf({ MAX_EVENT_LOOP_DELAY: '-5' }), [/^MAX_EVENT_LOOP_DELAY: .*\(event-loop delay/], 'a clear message naming it');
});

t.test('a bad value is named, never shown: secrets stay out of the output', async (t) => {
  const secrets = {
    JWT_SECRET: 'Zr8-too-short-secret',
    ADMIN_PASSWORD: 'hunter2',
    DATABASE_URL: 'mysql://shop:Db-Passw0rd@db.internal/shop',
  };
  const refused = await refusal(secrets);
  t.match(refused.message, /exited with 1 before listening/);
  for (const name of Object.keys(secrets)) t.match(refused.message, new RegExp(`- ${name}`), `names ${name}`);
  for (const value of [secrets.JWT_SECRET, secrets.ADMIN_PASSWORD, 'Db-Passw0rd']) t.notMatch(refused.message, value, 'never its value');
  t.match(refused.message, 'mysql://shop:***@db.internal/shop', 'a URL with its password masked');
  const garbled = await refusal({ DATABASE_URL: 'postgres://shop:Db-Passw0rd@[db/shop' });
  t.match(garbled.message, /- DATABASE_URL: is not a valid URL/, 'an unparsable URL: one line, no stack');
  t.notMatch(garbled.message, /Db-Passw0rd| {4}at /);
});

t.test('a database that cannot be reached is named by DATABASE_URL, its password masked', async (t) => {
  const unreachable = await refusal({ DATABASE_URL: 'postgres://shop:Db-Passw0rd@127.0.0.1:1/shop' });
  t.match(unreachable.message, /exited with 1 before listening/);
  t.match(unreachable.message, 'Cannot connect with DATABASE_URL (postgres://shop:***@127.0.0.1:1/shop): connect ECONNREFUSED');
  t.notMatch(unreachable.message, 'Db-Passw0rd');
});

t.test('SalesDrive: the webhook secret is long enough, the push needs its keys, neither is ever shown', async (t) => {
  const short = problemsOf({ SALESDRIVE_WEBHOOK_SECRET: 'sd-secret-too-short' });
  t.match(short, [/^SALESDRIVE_WEBHOOK_SECRET: .*24 characters/]);
  t.notMatch(short.join(), 'sd-secret-too-short');
  t.same(problemsOf({ SALESDRIVE_URL: 'https://shop.salesdrive.me', SALESDRIVE_API_KEY: 'sd-api-key-value' }), [
    "SALESDRIVE_FORM_KEY: required with SALESDRIVE_URL (status changes are pushed to SalesDrive's API)",
  ]);
  t.match(problemsOf({ SALESDRIVE_URL: 'shop.salesdrive.me' }), [/^SALESDRIVE_URL: /]);
  const push = loadConfig({ SALESDRIVE_URL: 'https://shop.salesdrive.me/', SALESDRIVE_API_KEY: 'k', SALESDRIVE_FORM_KEY: 'f' }).salesdrive;
  t.same(push, {
    webhookSecret: undefined,
    webhookRateLimit: 600,
    push: {
      url: 'https://shop.salesdrive.me',
      apiKey: 'k',
      formKey: 'f',
      timeout: 10,
      retryDelay: 10,
      reconcileInterval: 5,
      reconcileOverlap: 600,
    },
  });
  t.same(loadConfig({}).salesdrive, { webhookSecret: undefined, webhookRateLimit: 600 }, 'unset: nothing pushed, the webhook refuses');
});

t.test('Dilovod: off without DILOVOD_URL, the key required with it and never shown, the settings validated', async (t) => {
  t.equal(loadConfig({}).dilovod, undefined, 'unset: nothing synced');
  t.same(problemsOf({ DILOVOD_URL: 'https://api.dilovod.ua' }), [
    "DILOVOD_API_KEY: required with DILOVOD_URL (the catalogue is read from Dilovod's API)",
  ]);
  const bad = problemsOf({
    DILOVOD_URL: 'api.dilovod.ua',
    DILOVOD_API_KEY: 'dv-key-value',
    DILOVOD_MAX_CHANGE_SHARE: '150',
    DILOVOD_SET_PARENT_IDS: '11003,abc',
  });
  t.match(bad, [/^DILOVOD_URL: /, /^DILOVOD_MAX_CHANGE_SHARE: /, /^DILOVOD_SET_PARENT_IDS: /]);
  t.notMatch(bad.join(), 'dv-key-value');
  t.same(loadConfig({ DILOVOD_URL: 'https://api.dilovod.ua', DILOVOD_API_KEY: 'k', DILOVOD_SET_PARENT_IDS: '1,2' }).dilovod, {
    url: 'https://api.dilovod.ua',
    apiKey: 'k',
    syncInterval: 60,
    timeout: 30,
    retries: 3,
    retryDelay: 2,
    maxChangeShare: 10,
    setParentIds: ['1', '2'],
    mainPriceType: '1101300000001001',
  });
});

t.test('defaults, and empty variables count as unset', async (t) => {
  const config = loadConfig({ DATABASE_URL: '', PORT: '', HOST: '' });
  t.same(config.database, { dataDir: './data' });
  t.equal(config.port, 3000);
  t.equal(config.host, '127.0.0.1', 'outside production, only this machine can connect');
  t.equal(config.jwtSecret, undefined, "no secret in the source: PGlite's installation secret is used");
  t.same(loadConfig({ DATABASE_URL: 'postgres://u@h/db', JWT_SECRET: 'x'.repeat(32) }).database, { url: 'postgres://u@h/db' });
  const production = loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://u@h/db', JWT_SECRET: 'x'.repeat(32) });
  t.equal(production.host, '0.0.0.0', 'in production (a container), every interface');
  t.equal(loadConfig({ HOST: '0.0.0.0' }).host, '0.0.0.0', 'HOST wins');
});

for (const variable of ['PORT', 'METRICS_PORT'] as const) {
  t.test(`${variable} already taken (a second instance on one host): one line naming it and ${variable}, exit 1`, async (t) => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    t.teardown(() => taken.close());
    const port = (taken.address() as AddressInfo).port;
    const db = await scratchDatabase(await migratedTemplate());
    t.teardown(db.drop);
    const refused = await refusal({ DATABASE_URL: db.url, PORT: '0', [variable]: String(port), LOG_LEVEL: 'info' });
    t.match(refused.message, /exited with 1 before listening/);
    const lines = refused.message.split('\n').filter((line) => line.includes('already in use'));
    t.same(lines, [`Port ${port} on 127.0.0.1 is already in use: stop what listens there, or set ${variable} to another port.`]);
    t.notMatch(refused.message, /EADDRINUSE| {4}at |"level"|shut down/, 'no stack, no JSON log, no shut-down line');
  });
}
