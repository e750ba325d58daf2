/**
 * The Dockerfile and the Kubernetes manifests in deploy/ agree with each other and with the app:
 * the port, the probe paths, the start command, the shutdown budget, the labels. No cluster, no
 * Docker and no database needed: the files are read as text and YAML.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config.js';

/** Manifests are untyped YAML. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed YAML, walked by path in each test
type Manifest = Record<string, any>;

const root = new URL('../../', import.meta.url).pathname;
/** What the Secret provides in a real cluster. */
const SECRETS = { JWT_SECRET: 'x'.repeat(32), DATABASE_URL: 'postgres://backoffice@db:5432/backoffice' };
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const yamlFiles = (dir: string) =>
  readdirSync(join(root, dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => `${dir}/${f}`);

const APPLIED = yamlFiles('deploy'); // what `kubectl apply -f deploy/` reads (no -R)
const EXAMPLES = yamlFiles('deploy/examples');

function parse(path: string): Manifest[] {
  return parseAllDocuments(read(path)).map((doc) => {
    if (doc.errors.length) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as Manifest;
  });
}
const applied = APPLIED.flatMap(parse);
const one = (kind: string, docs = applied): Manifest => {
  const found = docs.filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} in deploy/, found ${found.length}`);
  return found[0]!;
};

const deployment = one('Deployment');
const pod = deployment.spec.template.spec;
const container: Manifest = pod.containers[0];
const httpPort: Manifest | undefined = container.ports?.find((p: Manifest) => p.name === 'http');
const plainEnv: Record<string, string> = Object.fromEntries(
  (container.env ?? []).filter((e: Manifest) => 'value' in e).map((e: Manifest) => [e.name, String(e.value)]),
);
const pkg = JSON.parse(read('package.json')) as {
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  engines?: { node?: string };
};

/** Dockerfile instructions by stage: [{ from, lines: ['RUN …', 'COPY …'] }]. */
const stages = read('Dockerfile')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'))
  .reduce<{ from: string; lines: string[] }[]>((acc, line) => {
    if (/^FROM\s/i.test(line)) acc.push({ from: line, lines: [] });
    else acc.at(-1)?.lines.push(line);
    return acc;
  }, []);
const finalStage = stages.at(-1)!;
const instructions = (stage: { lines: string[] }, name: string) =>
  stage.lines.filter((l) => l.toUpperCase().startsWith(`${name} `)).map((l) => l.slice(name.length).trim());
const exposed = instructions(finalStage, 'EXPOSE').flatMap((args) => args.split(/\s+/));
const dockerEnv: Record<string, string> = Object.fromEntries(
  instructions(finalStage, 'ENV').flatMap((args) => args.split(/\s+/).map((pair) => pair.split('=', 2) as [string, string])),
);

t.test('every manifest parses and names itself', async (t) => {
  for (const path of [...APPLIED, ...EXAMPLES]) {
    const docs = parse(path);
    t.ok(docs.length, `${path} holds a document`);
    for (const m of docs) t.ok(m.apiVersion && m.kind && m.metadata?.name, `${path}: ${m.kind} ${m.metadata?.name}`);
  }
  t.same(applied.map((m) => m.kind).sort(), ['Deployment', 'PodDisruptionBudget', 'Service'], 'deploy/ applies exactly these');
});

t.test('the container port is the app default PORT, and the image sets the same', async (t) => {
  const defaultPort = loadConfig({}).port;
  t.ok(httpPort, 'the container has a port named http');
  t.equal(httpPort?.containerPort, defaultPort, 'containerPort = default PORT in src/config.ts');
  t.notOk('PORT' in plainEnv && Number(plainEnv.PORT) !== defaultPort, 'the Deployment does not move PORT elsewhere');
  t.equal(Number(dockerEnv.PORT), defaultPort, 'Dockerfile ENV PORT');
  t.ok(exposed.includes(String(defaultPort)), 'Dockerfile EXPOSE');
});

t.test('metrics: a port of their own, the app default METRICS_PORT, exposed and annotated for scraping', async (t) => {
  const config = loadConfig({ ...plainEnv, ...SECRETS });
  const metricsPort: Manifest | undefined = container.ports?.find((p: Manifest) => p.name === 'metrics');
  t.equal(metricsPort?.containerPort, config.metricsPort, 'containerPort "metrics" = METRICS_PORT as the app reads it');
  t.not(config.metricsPort, config.port, 'not the API port');
  t.equal(Number(dockerEnv.METRICS_PORT ?? loadConfig({}).metricsPort), config.metricsPort, 'the image agrees');
  t.ok(exposed.includes(String(config.metricsPort)), 'Dockerfile EXPOSE');
  t.same(
    deployment.spec.template.metadata.annotations,
    {
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(config.metricsPort),
      'prometheus.io/path': '/metrics',
    },
    'pods annotated for scraping that port and path',
  );
  t.notOk(
    one('Service').spec.ports.some((p: Manifest) => p.targetPort === 'metrics'),
    'the Service routes no client to it',
  );
});

t.test('probes: /livez for liveness, /readyz for readiness and startup, on the http port', async (t) => {
  // test/server/lifecycle.test.ts starts the real server and checks these two routes
  // (/livez 200 without the database, /readyz 200 when ready and 503 while draining).
  const expected = { livenessProbe: '/livez', readinessProbe: '/readyz', startupProbe: '/readyz' };
  for (const [probe, path] of Object.entries(expected)) {
    const get = container[probe]?.httpGet;
    t.equal(get?.path, path, `${probe} path`);
    t.ok(get?.port === 'http' || get?.port === httpPort?.containerPort, `${probe} port is the container port (${get?.port})`);
  }
  const { readinessProbe: ready, startupProbe: startup } = container;
  t.equal(ready.periodSeconds, 5, 'readiness every 5 s');
  t.equal(ready.failureThreshold, 2, 'out of the Service after 2 misses');
  t.ok(startup.periodSeconds * startup.failureThreshold >= 600, 'startup allows 10 minutes or more for the migration');
});

t.test('the grace period covers preStop + SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT', async (t) => {
  const command: string[] = container.lifecycle?.preStop?.exec?.command ?? [];
  t.equal(command[0], 'sleep', 'preStop runs sleep');
  const preStop = Number(command[1]);
  t.ok(preStop > 0, `preStop sleeps ${preStop} s`);
  t.ok('SHUTDOWN_TIMEOUT' in plainEnv, 'SHUTDOWN_TIMEOUT is set explicitly');
  // read the Deployment's env exactly as the app does (production needs the two secrets)
  const config = loadConfig({ ...plainEnv, ...SECRETS });
  const budget = preStop + config.shutdownDelay + config.shutdownTimeout;
  t.ok(pod.terminationGracePeriodSeconds > budget, `grace ${pod.terminationGracePeriodSeconds} s > ${budget} s`);
});

t.test('the Deployment sets only variables the app knows, and they are valid', async (t) => {
  const known = [...read('src/config.ts').matchAll(/^\s{2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]);
  for (const e of container.env ?? []) t.ok(known.includes(e.name), `${e.name} is read by src/config.ts`);
  t.doesNotThrow(() => loadConfig({ ...plainEnv, ...SECRETS }), 'loadConfig accepts the plain values');
  t.equal(plainEnv.NODE_ENV, 'production');
});

t.test('secrets come from the Secret "backoffice-api", whose example holds every required key', async (t) => {
  const fromSecret = Object.fromEntries(
    (container.env ?? []).filter((e: Manifest) => e.valueFrom?.secretKeyRef).map((e: Manifest) => [e.name, e.valueFrom.secretKeyRef]),
  );
  const example = one('Secret', EXAMPLES.flatMap(parse));
  for (const name of ['DATABASE_URL', 'JWT_SECRET']) {
    t.match(fromSecret[name], { name: 'backoffice-api', key: name }, `${name} from the Secret`);
    t.notOk(fromSecret[name]?.optional, `${name} is not optional`);
  }
  t.equal(example.metadata.name, 'backoffice-api', 'the example Secret has that name');
  for (const ref of Object.values(fromSecret) as Manifest[]) {
    if (!ref.optional) t.ok(ref.key in (example.stringData ?? {}), `the example Secret has ${ref.key}`);
  }
  t.notOk(
    applied.some((m) => m.kind === 'Secret'),
    'no Secret in deploy/ itself: `kubectl apply -f deploy/` never applies the example',
  );
  t.ok(example.stringData.JWT_SECRET.length < 32, 'the example JWT_SECRET is too short to start with, unedited');
});

t.test('pod and container run restricted', async (t) => {
  const sc = { ...pod.securityContext, ...container.securityContext };
  t.equal(sc.runAsNonRoot, true, 'runAsNonRoot');
  t.ok(sc.runAsUser > 0, 'runAsUser is not root');
  t.equal(sc.readOnlyRootFilesystem, true, 'readOnlyRootFilesystem');
  t.equal(sc.allowPrivilegeEscalation, false, 'allowPrivilegeEscalation');
  t.same(sc.capabilities?.drop, ['ALL'], 'drops all capabilities');
  t.equal(sc.seccompProfile?.type, 'RuntimeDefault', 'seccomp RuntimeDefault');
  const tmp = container.volumeMounts?.find((v: Manifest) => v.mountPath === '/tmp');
  t.ok(tmp && pod.volumes?.find((v: Manifest) => v.name === tmp.name)?.emptyDir, '/tmp is a writable emptyDir');
  t.ok(container.resources?.requests && container.resources?.limits, 'resources requested and limited');
});

t.test('rollout and disruptions keep the service up', async (t) => {
  const labels = deployment.spec.template.metadata.labels;
  t.match(labels, deployment.spec.selector.matchLabels, 'the Deployment selects its own pods');
  t.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0, 'maxUnavailable 0');
  const pdb = one('PodDisruptionBudget');
  t.match(labels, pdb.spec.selector.matchLabels, 'the PDB selects the pods');
  t.ok(pdb.spec.minAvailable < deployment.spec.replicas, 'minAvailable < replicas, so a drain can proceed');
});

t.test('the Service reaches the pods on the named container port', async (t) => {
  const service = one('Service');
  t.match(deployment.spec.template.metadata.labels, service.spec.selector, 'the selector matches the pod labels');
  for (const port of service.spec.ports) {
    t.ok(
      container.ports.some((p: Manifest) => p.name === port.targetPort),
      `targetPort ${port.targetPort} is a named container port`,
    );
  }
});

t.test('the Dockerfile runs `npm start` as node, in production, with production dependencies', async (t) => {
  const start = pkg.scripts?.start?.replace(/^exec /, ''); // the shell's exec: the image runs node itself
  t.ok(start, 'package.json has scripts.start (the command the image runs)');
  const cmd = instructions(finalStage, 'CMD').at(-1);
  t.ok(cmd?.startsWith('['), 'CMD in exec form (node is PID 1 and receives SIGTERM)');
  t.equal((JSON.parse(cmd ?? '[]') as string[]).join(' '), start?.replace(/^exec /, ''), "CMD = npm start (less the shell's exec)");
  t.notOk(pkg.dependencies?.tsx, 'tsx is no runtime dependency: the image runs compiled JavaScript');
  t.notMatch(start, /tsx|\.ts\b/, 'npm start runs no TypeScript');
  t.equal(dockerEnv.NODE_ENV, 'production', 'ENV NODE_ENV=production');
  t.equal(instructions(finalStage, 'USER').at(-1), 'node', 'USER node');
  const nodeMajor = Number(/^>=(\d+)/.exec(pkg.engines?.node ?? '')?.[1]);
  t.ok(nodeMajor >= 22, `engines.node starts at a maintained LTS (${pkg.engines?.node})`);
  for (const stage of stages) t.match(stage.from, /^FROM node:26-bookworm-slim\b/i, `${stage.from}: on Node 26, the Active LTS`);

  const stageOf = (pattern: RegExp) => stages.find((s) => instructions(s, 'RUN').some((r) => pattern.test(r)));
  const nameOf = (stage: { from: string } | undefined) => stage?.from.match(/\sAS\s+(\S+)/i)?.[1];
  const deps = stageOf(/\bnpm ci\b.*--omit=dev/);
  const build = stageOf(/\bnpm run build\b/);
  t.ok(deps, 'a stage runs npm ci --omit=dev');
  t.ok(build, 'a stage runs npm run build');
  const copies = instructions(finalStage, 'COPY');
  t.ok(
    copies.some((c) => c.includes(`--from=${nameOf(deps)}`) && c.includes('node_modules')),
    'the final stage takes node_modules from the deps stage',
  );
  t.ok(
    copies.some((c) => c.includes(`--from=${nameOf(build)}`) && c.includes('dist')),
    'and dist/ from the build stage',
  );
  for (const path of ['drizzle', 'package.json']) {
    t.ok(
      copies.some((c) =>
        c
          .split(/\s+/)
          .slice(0, -1)
          .some((a) => a.replace(/\/$/, '') === path),
      ),
      `copies ${path}`,
    );
  }
  const buildCopied = instructions(build ?? finalStage, 'COPY').some((c) => c.includes('scripts/build.mjs'));
  t.ok(
    start?.includes('dist/server.js') && pkg.scripts?.build?.includes('scripts/build.mjs') && buildCopied,
    'npm start runs what scripts/build.mjs bundles, which the build stage runs',
  );
});

t.test('the image holds what the bundle leaves out, and a compile cache its user can read', async (t) => {
  // scripts/build.mjs's EXTERNAL: loaded from node_modules at run time, so installed by npm ci --omit=dev
  const external = /const EXTERNAL = \[([^\]]*)\]/.exec(read('scripts/build.mjs'))?.[1];
  const names = [...new Set([...(external ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1]!.replace(/\/\*$/, '')))];
  t.ok(names.includes('@fastify/swagger-ui'), `the bundle leaves out ${names.join(', ')}`);
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean }> };
  for (const name of names) {
    t.ok(pkg.dependencies?.[name], `${name} is a production dependency`);
    t.notOk(lock.packages[`node_modules/${name}`]?.dev, `${name} is in the lock file, not as a dev package`);
  }
  const cache = dockerEnv.NODE_COMPILE_CACHE;
  t.ok(cache?.startsWith('/app/'), `NODE_COMPILE_CACHE is in the image (${cache}), not under /tmp, the emptyDir`);
  // Node names the cache's directory after the uid: filled by the user that runs the service
  const lines = finalStage.lines;
  const warm = lines.findIndex((l) => /^RUN\s+node dist\/server\.js --warm-compile-cache$/.test(l));
  t.ok(warm > 0, 'the final stage fills it: node dist/server.js --warm-compile-cache');
  t.equal(
    lines
      .slice(0, warm)
      .filter((l) => /^USER\s/i.test(l))
      .at(-1),
    'USER node',
    'as node',
  );
});

t.test('the driver patch (patches/, patch-package) is applied wherever npm ci runs', async (t) => {
  t.match(pkg.scripts?.postinstall, /\bpatch-package\b/, 'npm ci applies patches/ (postinstall), so does .ci/run');
  t.ok(read('.ci/run').includes('npm ci') && !/npm ci[^\n]*--ignore-scripts/.test(read('.ci/run')), '.ci/run runs npm ci with its scripts');
  const build = stages.find((s) => instructions(s, 'RUN').some((r) => /\bnpm run build\b/.test(r)))!;
  const lines = build.lines;
  const copied = lines.findIndex((l) => /^COPY\s+patches\b/.test(l));
  const installed = lines.findIndex((l) => /^RUN\s+npm ci\b/.test(l));
  t.ok(copied >= 0 && copied < installed, 'the build stage copies patches/ before its npm ci, so the bundle holds the patched driver');
  const deps = stages.find((s) => instructions(s, 'RUN').some((r) => /\bnpm ci\b.*--omit=dev/.test(r)))!;
  t.ok(
    instructions(deps, 'RUN').some((r) => /--omit=dev/.test(r) && /--ignore-scripts/.test(r)),
    'the deps stage has no patch-package: no scripts',
  );
  t.ok(
    instructions(deps, 'COPY').some((c) => /--from=build\b.*node_modules\/postgres/.test(c)),
    'and takes the patched driver from the build stage',
  );
  const ignored = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim());
  t.notOk(ignored.includes('patches') || ignored.includes('patches/'), 'patches/ reaches the build');
});

t.test('.dockerignore keeps what the image needs', async (t) => {
  const ignored = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const path of ['drizzle', 'src', 'package.json', 'package-lock.json', 'tsconfig.json', 'scripts/build.mjs']) {
    t.notOk(ignored.includes(path) || ignored.includes(`${path}/`), `${path} is not ignored`);
  }
  const scriptsIgnored = ['scripts', 'scripts/', 'scripts/*'].some((p) => ignored.includes(p));
  t.ok(!scriptsIgnored || ignored.includes('!scripts/build.mjs'), 'scripts/build.mjs reaches the build stage');
  t.ok(!scriptsIgnored || ignored.includes('!scripts/require-node.cjs'), 'and scripts/require-node.cjs, which npm run build runs first');
  t.ok(
    instructions(
      stages.find((s) => instructions(s, 'RUN').some((r) => /\bnpm run build\b/.test(r)))!,
      'COPY',
    ).some((c) => c.includes('scripts/require-node.cjs')),
    'the build stage copies it',
  );
  for (const path of ['node_modules', '.git', 'data', '.env']) t.ok(ignored.includes(path), `${path} is ignored`);
});
