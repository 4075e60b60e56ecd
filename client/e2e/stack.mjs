// Starts what the browser tests need, or uses what the environment names:
//
//   E2E_BASE_URL=http://127.0.0.1:8000   use a running system (gateway or API) as is
//   E2E_VIA=gateway (default) | api      when starting our own: put the gateway in front, or not
//   E2E_API_BIN, E2E_GATEWAY_BIN         binaries (default: ../target/debug/*, built if missing)
//   E2E_SEATS=50000                      also seed a load-test event of that many seats
//   E2E_KEEP=1                           keep the database and processes' logs
//
// Our own stack: a fresh Postgres database (tickets_e2e_<random>, which the API creates
// and migrates), a fresh Redis key prefix, the API on a free port serving client/dist, and
// the gateway on another free port in front of it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLIENT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = path.resolve(CLIENT_DIR, '..');
export const OUT_DIR = process.env.E2E_OUT_DIR ?? path.join(REPO, 'test-output', 'client');

export function log(...args) {
  console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...args);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(url, ms, what) {
  const until = Date.now() + ms;
  let last = '';
  while (Date.now() < until) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = String(e.cause?.code ?? e.message);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not come up at ${url} within ${ms / 1000} s (${last})`);
}

function binary(envName, crate) {
  const explicit = process.env[envName];
  if (explicit) return explicit;
  const p = path.join(REPO, 'target', 'debug', crate);
  if (!existsSync(p)) {
    log(`building ${crate} (cargo build -p ${crate})…`);
    const r = spawnSync('cargo', ['build', '-p', crate], { cwd: REPO, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`cargo build -p ${crate} failed`);
  }
  return p;
}

export function ensureClientBuilt() {
  if (process.env.E2E_SKIP_BUILD === '1' && existsSync(path.join(CLIENT_DIR, 'dist', 'index.html'))) return;
  log('building the client (npm run build)…');
  const r = spawnSync('npm', ['run', 'build'], { cwd: CLIENT_DIR, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('npm run build failed');
}

function psql(sql) {
  return spawnSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-qtAc', sql], { encoding: 'utf8' });
}

/**
 * Starts the stack (or adopts E2E_BASE_URL). Returns { baseUrl, via, apiUrl, adminEmail,
 * stop() }.
 */
export async function startStack({ seats = Number(process.env.E2E_SEATS ?? 0), name = 'e2e', presale = false } = {}) {
  if (process.env.E2E_BASE_URL) {
    const baseUrl = process.env.E2E_BASE_URL.replace(/\/$/, '');
    await waitFor(`${baseUrl}/`, 10_000, 'the system under test');
    return { baseUrl, via: 'external', apiUrl: process.env.E2E_API_URL ?? baseUrl, adminEmail: process.env.E2E_ADMIN_EMAIL ?? null, stop: async () => {} };
  }
  ensureClientBuilt();
  mkdirSync(OUT_DIR, { recursive: true });
  const via = process.env.E2E_VIA ?? 'gateway';
  const api = binary('E2E_API_BIN', 'graphql-api');
  const tag = `${name}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const adminEmail = `admin-${tag}@e2e.test`;
  const env = {
    ...process.env,
    DATABASE_URL: `postgres://postgres@127.0.0.1:5432/tickets_${tag}`,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    REDIS_KEY_PREFIX: `${tag}:`,
    CLIENT_DIR: path.join(CLIENT_DIR, 'dist'),
    ADMIN_EMAILS: adminEmail,
    // The same admission key for the API (which signs) and the gateway (which checks),
    // whatever the built-in development keys of the two binaries are.
    ADMISSION_TOKEN_KEYS: process.env.ADMISSION_TOKEN_KEYS ?? `e2e:${tag}-admission-key-for-tests-only`,
    QUEUE_ADMISSION_RATE: process.env.QUEUE_ADMISSION_RATE ?? '20',
    QUEUE_UPDATE_SECS: process.env.QUEUE_UPDATE_SECS ?? '1',
    // Short holds, so the last-minute warning and the extension can be seen within a test.
    HOLD_DURATION_SECS: process.env.HOLD_DURATION_SECS ?? '75',
    LOG_FORMAT: 'human',
    RUST_LOG: process.env.RUST_LOG ?? 'info',
  };
  const children = [];
  const stop = async () => {
    for (const c of children.reverse()) {
      if (c.exitCode === null) c.kill('SIGTERM');
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    if (process.env.E2E_KEEP !== '1') {
      psql(`DROP DATABASE IF EXISTS "tickets_${tag}" WITH (FORCE)`);
      spawnSync('sh', ['-c', `redis-cli --scan --pattern '${tag}:*' | xargs -r redis-cli del > /dev/null`]);
    }
  };
  try {
    log(`seeding tickets_${tag}${seats ? ` (+ a ${seats}-seat event)` : ''}…`);
    let r = spawnSync(api, ['seed'], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`graphql-api seed failed:\n${r.stderr}`);
    if (seats) {
      r = spawnSync(api, ['seed', '--seats', String(seats), '--no-demo'], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`graphql-api seed --seats failed:\n${r.stderr}`);
    }
    if (presale) {
      // A small second event whose sale opens in two hours: joining it now is the presale
      // lottery.
      r = spawnSync(api, ['seed', '--seats', '600', '--no-demo'], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`graphql-api seed --seats 600 failed:\n${r.stderr}`);
      const u = spawnSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', `tickets_${tag}`, '-qtAc', "UPDATE events SET status = 'SCHEDULED', sale_opens_at = now() + interval '2 hours', name = 'Presale test: 600 seats' WHERE slug = 'load-test-600'"], { encoding: 'utf8' });
      if (u.status !== 0) throw new Error(`could not schedule the presale event: ${u.stderr}`);
    }
    const apiPort = await freePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const apiLog = openSync(path.join(OUT_DIR, `${name}-api.log`), 'w');
    const apiProc = spawn(api, ['serve'], { env: { ...env, API_BIND: `127.0.0.1:${apiPort}` }, stdio: ['ignore', apiLog, apiLog] });
    children.push(apiProc);
    await waitFor(`${apiUrl}/readyz`, 60_000, 'the API');
    let baseUrl = apiUrl;
    if (via === 'gateway') {
      const gw = binary('E2E_GATEWAY_BIN', 'gateway');
      const gwPort = await freePort();
      const gwLog = openSync(path.join(OUT_DIR, `${name}-gateway.log`), 'w');
      const gwProc = spawn(gw, [], {
        env: { ...env, GATEWAY_LISTEN: `127.0.0.1:${gwPort}`, GATEWAY_UPSTREAMS: `127.0.0.1:${apiPort}`, GATEWAY_GRACE_PERIOD_SECS: '0', GATEWAY_GRACEFUL_SHUTDOWN_TIMEOUT_SECS: '1', GATEWAY_PUBLIC_RATE_PER_SEC: '500', GATEWAY_PUBLIC_BURST: '1000', GATEWAY_SALE_RATE_PER_SEC: '200', GATEWAY_SALE_BURST: '400' },
        stdio: ['ignore', gwLog, gwLog],
      });
      children.push(gwProc);
      baseUrl = `http://127.0.0.1:${gwPort}`;
      await waitFor(`${baseUrl}/`, 30_000, 'the gateway');
    }
    log(`stack up: ${via === 'gateway' ? `gateway ${baseUrl} -> ` : ''}API ${apiUrl}, database tickets_${tag}`);
    return { baseUrl, via, apiUrl, adminEmail, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Chromium from Debian, driven by playwright-core (no downloaded browsers). */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A GraphQL call from Node (for set-up: admin, sign-up of helper fans). */
export async function gqlCall(url, query, variables = {}, token) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await r.json().catch(() => ({}));
  if (body.error) throw new Error(`${body.error.code}: ${body.error.message}`);
  if (body.errors?.length) throw new Error(`${body.errors[0].extensions?.code}: ${body.errors[0].message}`);
  return body.data;
}
