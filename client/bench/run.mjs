// The client's numbers, printed (never asserted):
//   1. bundle size, gzipped (what a fan downloads before the waiting room, and in all);
//   2. time to first render of the seat map of a 50,000-seat event in headless Chromium
//      (navigation start -> the first full draw of every seat, including fetching the map,
//      building the model and drawing), cold and warm;
//   3. frames dropped while 100 seat changes a second arrive (in batches every 150 ms, as
//      the API coalesces them), with the map still, and while it is being panned.
//
//   npm run bench            (starts the API with a fresh database; see e2e/stack.mjs)
//
// The changes of 3. are injected through the page's own live-update handler (the same
// function the seatAvailability subscription calls), so the numbers do not depend on the
// sale API being able to generate 100 real changes a second.
// By default the benchmark talks to the API directly (it measures the client, not the
// gateway); E2E_VIA=gateway puts the gateway in front.
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { CLIENT_DIR, OUT_DIR, ensureClientBuilt, gqlCall, launchBrowser, log, startStack } from '../e2e/stack.mjs';

const SEATS = Number(process.env.BENCH_SEATS ?? 50_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r1 = (x) => Math.round(x * 10) / 10;

function bundleSizes() {
  const dist = path.join(CLIENT_DIR, 'dist');
  const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
  const files = [['index.html', readFileSync(path.join(dist, 'index.html'))]];
  for (const f of readdirSync(path.join(dist, 'assets'))) files.push([`assets/${f}`, readFileSync(path.join(dist, 'assets', f))]);
  const rows = files.map(([name, buf]) => ({ name, raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length, initial: name === 'index.html' || html.includes(name) }));
  const sum = (rs, k) => rs.reduce((s, r) => s + r[k], 0);
  return { rows, initialGzip: sum(rows.filter((r) => r.initial), 'gzip'), totalGzip: sum(rows, 'gzip'), totalRaw: sum(rows, 'raw') };
}

async function admittedFan(base, eventId) {
  const email = `bench-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}@bench.test`;
  const { register } = await gqlCall(`${base}/graphql`, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt user { id email displayName role } } }', { i: { email, password: 'bench-password-1', displayName: 'Bench' } });
  await gqlCall(`${base}/graphql`, 'mutation($e: ID!) { joinQueue(eventId: $e) { state } }', { e: eventId }, register.accessToken);
  for (let i = 0; i < 100; i++) {
    const { queueStatus } = await gqlCall(`${base}/graphql`, 'query($e: ID!) { queueStatus(eventId: $e) { state admission { token expiresAt seatCap salePath } } }', { e: eventId }, register.accessToken);
    if (queueStatus.admission) return { session: register, admission: queueStatus.admission };
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('not admitted within 20 s');
}

/** Runs in the page: frame intervals for `ms`, optionally with seat changes and panning. */
function framesInPage({ ms, changesPerSecond, pan }) {
  return new Promise((resolve) => {
    const t = window.__tix;
    const m = t.model;
    let version = 1_000_000;
    let batches = 0;
    const timer = changesPerSecond
      ? setInterval(() => {
          const n = Math.round((changesPerSecond * 150) / 1000);
          const changes = [];
          for (let k = 0; k < n; k++) {
            const i = Math.floor(Math.random() * m.n);
            const status = ['AVAILABLE', 'HELD', 'BOOKED'][Math.floor(Math.random() * 3)];
            changes.push({ seatId: m.idOf(i), status, version: ++version });
          }
          t.applySeatChanges(changes);
          batches++;
        }, 150)
      : null;
    const stamps = [];
    let dir = 1;
    const start = performance.now();
    const tick = (now) => {
      stamps.push(now);
      if (pan) {
        if (stamps.length % 120 === 0) dir = -dir;
        t.panBy(2 * dir, 1 * dir);
      }
      if (now - start < ms) requestAnimationFrame(tick);
      else {
        if (timer) clearInterval(timer);
        const deltas = stamps.slice(1).map((s, k) => s - stamps[k]);
        resolve({ deltas, batches, applied: version - 1_000_000 });
      }
    };
    requestAnimationFrame(tick);
  });
}

function frameStats(deltas) {
  const sorted = [...deltas].sort((a, b) => a - b);
  const frame = median(deltas); // the display's frame interval as this browser runs it
  const dropped = deltas.reduce((s, d) => s + Math.max(0, Math.round(d / frame) - 1), 0);
  return {
    frames: deltas.length,
    frameIntervalMs: r1(frame),
    dropped,
    droppedPct: r1((100 * dropped) / (deltas.length + dropped)),
    p95Ms: r1(sorted[Math.floor(sorted.length * 0.95)]),
    maxMs: r1(sorted[sorted.length - 1]),
  };
}

async function main() {
  ensureClientBuilt();
  const bundle = bundleSizes();
  process.env.E2E_SKIP_BUILD = '1';
  process.env.E2E_VIA = process.env.E2E_VIA ?? 'api';
  const stack = await startStack({ seats: SEATS, name: 'bench' });
  const browser = await launchBrowser().catch(async (e) => {
    await stack.stop();
    throw e;
  });
  const out = { date: new Date().toISOString(), via: stack.via, seats: SEATS, bundle: { initialGzip: bundle.initialGzip, totalGzip: bundle.totalGzip, totalRaw: bundle.totalRaw, files: bundle.rows } };
  try {
    const { events } = await gqlCall(`${stack.baseUrl}/graphql`, '{ events { id slug } }');
    const event = events.find((e) => e.slug === `load-test-${SEATS}`);
    if (!event) throw new Error(`no load-test-${SEATS} event`);
    const fan = await admittedFan(stack.baseUrl, event.id);
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    await context.addInitScript(({ session, admission, eventId }) => {
      localStorage.setItem('tix.session', JSON.stringify(session));
      localStorage.setItem(`tix.admission.${eventId}`, JSON.stringify(admission));
    }, { session: fan.session, admission: fan.admission, eventId: event.id });

    // 2. First render.
    const renders = [];
    for (let run = 0; run < RUNS; run++) {
      const page = await context.newPage();
      await page.goto(`${stack.baseUrl}/e/${event.slug}/seats`);
      await page.waitForFunction(() => window.__tix?.seatMap?.firstRenderAt > 0, null, { timeout: 60_000 });
      const m = await page.evaluate(() => ({ ...window.__tix.seatMap }));
      renders.push({ run, firstRenderMs: r1(m.firstRenderAt), fetchMs: r1(m.fetchMs), buildMs: r1(m.buildMs), firstDrawMs: r1(m.firstDrawMs), seats: m.seatCount });
      if (run < RUNS - 1) await page.close();
    }
    out.firstRender = { cold: renders[0], warmMedianMs: median(renders.slice(1).map((r) => r.firstRenderMs)), runs: renders };

    // 3. Frames.
    const page = context.pages()[context.pages().length - 1];
    await page.waitForTimeout(500);
    const draws = await page.evaluate(() => {
      const r = window.__tix.renderer();
      const times = [];
      for (let k = 0; k < 20; k++) {
        r.draw();
        times.push(r.lastDrawMs);
      }
      const fit = times.sort((a, b) => a - b)[10];
      r.zoomAt(4, 640, 400);
      const zoomed = [];
      for (let k = 0; k < 20; k++) {
        r.draw();
        zoomed.push(r.lastDrawMs);
      }
      r.fit();
      r.draw();
      return { fullDrawAtFitMs: fit, fullDrawZoomedMs: zoomed.sort((a, b) => a - b)[10], seatPxZoomed: r.seatPx() };
    });
    out.fullRedraw = { atFitMs: r1(draws.fullDrawAtFitMs), zoomedInMs: r1(draws.fullDrawZoomedMs) };
    const baseline = await page.evaluate(framesInPage, { ms: 5_000, changesPerSecond: 0, pan: false });
    const still = await page.evaluate(framesInPage, { ms: 10_000, changesPerSecond: 100, pan: false });
    const panning = await page.evaluate(framesInPage, { ms: 10_000, changesPerSecond: 100, pan: true });
    out.frames = {
      idleBaseline: frameStats(baseline.deltas),
      changes100PerSecStill: { ...frameStats(still.deltas), changesApplied: still.applied },
      changes100PerSecWhilePanning: { ...frameStats(panning.deltas), changesApplied: panning.applied },
    };
  } finally {
    await browser.close().catch(() => undefined);
    await stack.stop();
  }

  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(path.join(OUT_DIR, 'bench.json'), JSON.stringify(out, null, 2));
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  console.log('\nclient benchmark');
  console.log(`  bundle, gzipped: ${kb(out.bundle.initialGzip)} before the waiting room (HTML + CSS + entry JS), ${kb(out.bundle.totalGzip)} in all (${kb(out.bundle.totalRaw)} raw)`);
  for (const f of out.bundle.files) console.log(`    ${f.name.padEnd(36)} ${kb(f.raw).padStart(10)} raw ${kb(f.gzip).padStart(10)} gzip${f.initial ? '' : '  (loaded while waiting)'}`);
  const fr = out.firstRender;
  console.log(`  seat map first render, ${SEATS} seats, headless Chromium (navigation start -> every seat drawn):`);
  console.log(`    cold ${fr.cold.firstRenderMs} ms (map fetch ${fr.cold.fetchMs} ms, model ${fr.cold.buildMs} ms, draw ${fr.cold.firstDrawMs} ms); warm median ${fr.warmMedianMs} ms over ${RUNS - 1} runs`);
  console.log(`  full redraw: ${out.fullRedraw.atFitMs} ms at whole-venue zoom, ${out.fullRedraw.zoomedInMs} ms zoomed in`);
  const f = out.frames;
  const line = (name, s) => `    ${name.padEnd(34)} ${String(s.dropped).padStart(4)} dropped of ${s.frames + s.dropped} (${s.droppedPct}%), frame ${s.frameIntervalMs} ms, p95 ${s.p95Ms} ms, worst ${s.maxMs} ms${s.changesApplied ? `, ${s.changesApplied} changes` : ''}`;
  console.log('  frames dropped:');
  console.log(line('no changes (baseline, 5 s)', f.idleBaseline));
  console.log(line('100 changes/s, map still (10 s)', f.changes100PerSecStill));
  console.log(line('100 changes/s, panning (10 s)', f.changes100PerSecWhilePanning));
  console.log(`  (${stack.via === 'gateway' ? 'through the gateway' : 'API direct'}; JSON in ${path.join(OUT_DIR, 'bench.json')})`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
