/**
 * Slow and non-reading clients, over real sockets against the server process: a client that sends
 * its request a byte at a time is cut off after REQUEST_TIMEOUT, one that asks for the Swagger
 * bundle and never reads is dropped after CONNECTION_TIMEOUT of silence, connections beyond
 * MAX_CONNECTIONS are closed at once, and the service answers others meanwhile.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { migratedTemplate, scratchDatabase } from '../helpers/databases.js';
import { startServer } from '../helpers/server.js';

const db = await scratchDatabase(await migratedTemplate());
const server = await startServer({
  DATABASE_URL: db.url,
  NODE_ENV: 'production',
  REQUEST_TIMEOUT: '2',
  CONNECTION_TIMEOUT: '3',
  MAX_CONNECTIONS: '100',
});
t.teardown(async () => {
  server.child.kill('SIGKILL');
  await server.exited;
  await db.drop();
});

interface Client {
  socket: Socket;
  closed: Promise<number>;
  received: () => string;
}
/** A raw connection to the server; `closed` resolves with the milliseconds it stayed open. */
function open(): Promise<Client> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(server.port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1').slice(0, 200)));
    const closed = new Promise<number>((done) => socket.on('close', () => done(Date.now() - started)));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed, received: () => received }));
    socket.once('error', reject);
  });
}
/** Established connections whose local end is the server's port (ss, from iproute2). */
const serverSideConnections = () =>
  execFileSync('ss', ['-Htn', 'state', 'established', `( sport = :${server.port} )`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean).length;
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const livez = async () => (await fetch(server.url('/livez'))).status;
/** Resolves once every promise has, or after `ms` with those still open counted. */
async function within(ms: number, closed: Promise<number>[]) {
  let open = closed.length;
  for (const c of closed) void c.then(() => open--);
  for (const deadline = Date.now() + ms; open > 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 100));
  return open;
}

t.test('a request sent a byte at a time is cut off after REQUEST_TIMEOUT, and others are served meanwhile', async (t) => {
  const body = JSON.stringify({ email: 'keeper@nk-food.shop', password: 'keeper-Passw0rd!' });
  const clients = await Promise.all(Array.from({ length: 40 }, open));
  for (const { socket } of clients) {
    socket.write(
      `POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
  }
  let sent = 0;
  const drip = setInterval(() => {
    for (const { socket } of clients) if (!socket.destroyed) socket.write(body[sent % body.length]!);
    sent++;
  }, 250);
  t.equal(await livez(), 200, 'the service answers while they drip');
  const left = await within(
    10_000,
    clients.map((c) => c.closed),
  );
  clearInterval(drip);
  t.equal(left, 0, 'every slow sender was cut off');
  const lifetimes = await Promise.all(clients.map((c) => c.closed));
  t.comment(`cut off after ${Math.min(...lifetimes)}–${Math.max(...lifetimes)} ms (REQUEST_TIMEOUT 2 s)`);
  t.ok(sent < body.length, 'none of them finished its body');
  t.match(clients[0]!.received(), /^HTTP\/1.1 408/, 'told 408 Request Timeout');
});

t.test('headers that never end are cut off too', async (t) => {
  const clients = await Promise.all(Array.from({ length: 20 }, open));
  for (const { socket } of clients) socket.write('GET /livez HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
  const drip = setInterval(() => clients.forEach(({ socket }) => socket.destroyed || socket.write('a')), 250);
  const left = await within(
    10_000,
    clients.map((c) => c.closed),
  );
  clearInterval(drip);
  t.equal(left, 0, 'every one was cut off');
});

t.test('clients that ask for the Swagger bundle and never read are dropped after CONNECTION_TIMEOUT of silence', async (t) => {
  t.equal((await fetch(server.url('/docs/static/swagger-ui-bundle.js'))).status, 200, 'the bundle is served (and the UI built)');
  const before = rssOf(server.child.pid!);
  const clients = await Promise.all(Array.from({ length: 60 }, open));
  for (const { socket } of clients) {
    socket.write('GET /docs/static/swagger-ui-bundle.js HTTP/1.1\r\nHost: localhost\r\n\r\n');
    socket.pause(); // never reads
  }
  await new Promise((r) => setTimeout(r, 1000));
  const during = rssOf(server.child.pid!);
  t.equal(await livez(), 200, 'the service answers meanwhile');
  // a paused socket learns of its close only once it reads: count the server's side of them
  let held = -1;
  for (const deadline = Date.now() + 15_000; held !== 0 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
    held = serverSideConnections();
  }
  t.equal(held, 0, 'the server dropped every one');
  for (const { socket } of clients) socket.destroy();
  t.comment(
    `server RSS: ${(before / 2 ** 20).toFixed(0)} MB before, ${(during / 2 ** 20).toFixed(0)} MB with 60 non-reading clients of a 1.5 MB file`,
  );
});

t.test('connections beyond MAX_CONNECTIONS are closed at once; once the others time out, the service serves again', async (t) => {
  const idle = await Promise.all(Array.from({ length: 100 }, open));
  await new Promise((r) => setTimeout(r, 200));
  const extra = await open();
  const refusedAfter = await Promise.race([extra.closed, new Promise<number>((r) => setTimeout(() => r(-1), 2000))]);
  t.not(refusedAfter, -1, `the 101st connection is closed (after ${refusedAfter} ms)`);
  t.equal(
    await within(
      10_000,
      idle.map((c) => c.closed),
    ),
    0,
    'the idle ones time out',
  );
  t.equal(await livez(), 200, 'and the service serves again');
});
