// End-to-end: two fans in real Chromium, through the gateway, against the real API,
// Postgres and Redis. See e2e/stack.mjs for what is started and the environment it reads.
//
//   npm run e2e
//
// Fan A (desktop) and fan B (375 px phone) sign up, join the queue (paused by an admin so
// the waiting room can be seen), see the same place in a second tab, survive a dropped
// connection, get admitted (the seat layout was fetched while waiting; B reloads the map: the
// layout comes from the page's store, not the network), and choose seats on the map (mouse and keyboard). A holds; B
// sees those seats turn unavailable without reloading. A pays with a card that is declined,
// reads the message, retries with a good card and sees the confirmation. B buys with UPI on
// the phone, then cancels from My bookings. Every screen is saved at both sizes under
// test-output/client/.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { OUT_DIR, REPO, gqlCall, launchBrowser, log, startStack } from './stack.mjs';

const DESKTOP = { viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1, locale: 'en-IN', timezoneId: 'Asia/Kolkata' };
const PHONE = { viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'en-IN', timezoneId: 'Asia/Kolkata' };

const results = [];
let failed = false;

async function step(name, fn) {
  if (failed) {
    results.push({ name, status: 'not run' });
    return;
  }
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, status: 'pass', ms: Date.now() - t0 });
    log(`PASS ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed = true;
    results.push({ name, status: 'FAIL', ms: Date.now() - t0, error: e.message.split('\n').slice(0, 6).join('\n') });
    log(`FAIL ${name}: ${e.message.split('\n')[0]}`);
  }
}

async function shot(page, name) {
  const size = page.viewportSize()?.width === 375 ? '375' : 'desktop';
  await page.screenshot({ path: path.join(OUT_DIR, `${name}-${size}.png`), fullPage: false });
}

async function text(page, testId) {
  return (await page.getByTestId(testId).first().textContent({ timeout: 10_000 }))?.trim() ?? '';
}

/** Records the page's WebSockets so a test can drop them like a bad network would. */
const TRACK_SOCKETS = () => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      window.__sockets.push(this);
    }
  };
};

async function signUp(page, base, who, next) {
  await page.goto(`${base}/signup?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Your name').fill(who.name);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL((u) => u.pathname === next, { timeout: 15_000 });
}

async function waitForSeatMap(page) {
  await page.waitForURL(/\/seats$/, { timeout: 60_000 });
  await page.waitForFunction(() => window.__tix?.seatMap?.firstRenderAt > 0, null, { timeout: 30_000 });
}

async function main() {
  const saleSdl = readFileSync(path.join(REPO, 'graphql-api', 'schema.sale.graphql'), 'utf8');
  const saleLanded = /\blockSeats\b/.test(saleSdl);
  const stack = await startStack({ name: 'e2e', presale: true });
  const base = stack.baseUrl;
  log(`testing ${base} (${stack.via === 'gateway' ? 'through the gateway' : stack.via === 'api' ? 'straight to the API, no gateway' : 'an external system'})`);
  if (!saleLanded) log('NOTE: graphql-api/schema.sale.graphql has no lockSeats yet: the hold/checkout steps will fail until the sale mutations of docs/sale-api.md land.');
  // Without a browser there is nothing to test, but the stack must still stop, or its
  // servers keep this process (and CI) waiting forever.
  const browser = await launchBrowser().catch(async (e) => {
    await stack.stop();
    throw e;
  });
  const run = Date.now().toString(36);
  const fanA = { name: 'Asha', email: `asha-${run}@e2e.test`, password: 'correct horse 1' };
  const fanB = { name: 'Bilal', email: `bilal-${run}@e2e.test`, password: 'correct horse 2' };
  let admin = null;
  let event = null;
  const ctxA = await browser.newContext(DESKTOP);
  const ctxB = await browser.newContext(PHONE);
  await ctxA.addInitScript(TRACK_SOCKETS);
  const a = await ctxA.newPage();
  const b = await ctxB.newPage();
  for (const [p, who] of [[a, 'A'], [b, 'B']]) {
    p.on('pageerror', (e) => log(`page error (${who}): ${e.message}`));
    p.on('console', (m) => m.type() === 'error' && !/Failed to load resource/.test(m.text()) && log(`console error (${who}): ${m.text()}`));
  }
  let seatIdx = [];

  try {
    await step('set-up: find the demo event; an admin pauses its queue', async () => {
      const events = await gqlCall(`${base}/graphql`, '{ events { id slug name gateEnabled } }');
      event = events.events.find((e) => e.slug === 'coldplay-mumbai-2027') ?? events.events[0];
      if (!event) throw new Error('no event seeded');
      if (stack.adminEmail) {
        const r = await gqlCall(`${base}/graphql`, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', { i: { email: stack.adminEmail, password: 'admin-password-1', displayName: 'Admin' } });
        admin = r.register.accessToken;
        await gqlCall(`${base}/graphql`, 'mutation($e: ID!) { pauseQueue(eventId: $e) { paused } }', { e: event.id }, admin);
      }
    });

    await step('home, event page and sign-in screens (desktop and 375 px)', async () => {
      for (const p of [a, b]) {
        await p.goto(`${base}/`);
        await p.getByTestId('event-card').first().waitFor();
        await shot(p, '01-home');
        await p.getByText(event.name).first().click();
        await p.getByTestId('buy').waitFor();
        await shot(p, '02-event');
        await p.getByTestId('buy').click();
        await p.waitForURL(/\/signin/);
        await p.getByRole('button', { name: 'Sign in' }).click(); // empty form: validation
        await p.getByText('Enter your email address').waitFor();
        await shot(p, '03-signin');
      }
    });

    await step('sign up and join the queue (A on desktop, B on a phone)', async () => {
      const next = `/e/${event.slug}/queue`;
      await signUp(a, base, fanA, next);
      await a.getByTestId('queue-title').waitFor();
      await shot(a, '04-signup-done');
      await signUp(b, base, fanB, next);
      await b.getByTestId('queue-title').waitFor();
      await shot(b, '04-signup-done');
    });

    await step('presale: joining before the sale opens puts the fan in the lottery', async () => {
      if (!stack.adminEmail) return; // only in a stack we seeded
      for (const p of [a, b]) {
        await p.goto(`${base}/e/load-test-600`);
        await p.getByTestId('buy').waitFor();
        await shot(p, '04-event-presale');
        await p.getByTestId('buy').click();
        await p.waitForFunction(() => document.querySelector('[data-testid="waiting-room"]')?.getAttribute('data-state') === 'PRESALE', null, { timeout: 15_000 });
        const clock = await text(p, 'presale-clock');
        if (!/Opens in (1 h 5\d min|2 h 0 min)/.test(clock)) throw new Error(`presale clock reads "${clock}"`);
        // The fan can check the draw later: their entrant id and the seed's commitment.
        await p.locator('.lottery-proof summary').click();
        const entrant = await text(p, 'lottery-entrant');
        if (!/^[0-9a-f]{32}$/.test(entrant)) throw new Error(`lottery entrant reads "${entrant}"`);
        await p.getByTestId('lottery-commitment').waitFor({ timeout: 15_000 });
        const commitment = await text(p, 'lottery-commitment');
        if (!/^[0-9a-f]{64}$/.test(commitment)) throw new Error(`lottery commitment reads "${commitment}"`);
        await shot(p, '05-presale-lottery');
        await p.goto(`${base}/e/${event.slug}/queue`);
        await p.getByTestId('queue-title').waitFor();
      }
    });

    await step('waiting room: position, fans ahead, wait, live', async () => {
      if (!admin) return;
      for (const p of [a, b]) {
        await p.waitForFunction(() => document.querySelector('[data-testid="waiting-room"]')?.getAttribute('data-state') === 'WAITING', null, { timeout: 15_000 });
        await p.getByTestId('live-status').filter({ hasText: 'Live' }).waitFor({ timeout: 15_000 });
      }
      const posA = await text(a, 'queue-position');
      const posB = await text(b, 'queue-position');
      if (posA !== '1' || posB !== '2') throw new Error(`expected places 1 and 2, got ${posA} and ${posB}`);
      const ahead = await text(b, 'fans-ahead');
      if (!/1 fan ahead/.test(ahead)) throw new Error(`fans ahead reads "${ahead}"`);
      // The queue is paused here: no wait is promised (the band needs the line moving).
      const eta = await text(b, 'queue-eta');
      if (eta !== 'Paused for now') throw new Error(`the wait reads "${eta}" while paused`);
      await shot(a, '05-waiting-room');
      await shot(b, '05-waiting-room');
    });

    await step('a second tab shows the same place, not a new one', async () => {
      if (!admin) return;
      const a2 = await ctxA.newPage();
      await a2.goto(`${base}/e/${event.slug}/queue`);
      await a2.getByTestId('queue-position').waitFor({ timeout: 15_000 });
      const pos = await text(a2, 'queue-position');
      if (pos !== '1') throw new Error(`second tab shows place ${pos}, not 1`);
      await a2.close();
    });

    await step('a dropped connection reconnects and keeps the place', async () => {
      if (!admin) return;
      const dropped = await a.evaluate(() => {
        const open = window.__sockets.filter((s) => s.readyState === 1);
        open.forEach((s) => s.close(4000, 'test: network dropped'));
        return open.length;
      });
      if (dropped === 0) throw new Error('no open WebSocket to drop');
      await a.getByTestId('live-status').filter({ hasText: 'Reconnecting' }).waitFor({ timeout: 5_000 });
      await a.getByTestId('live-status').filter({ hasText: /^Live$/ }).waitFor({ timeout: 20_000 });
      const reopened = await a.evaluate(() => window.__sockets.filter((s) => s.readyState === 1).length);
      if (reopened < 1) throw new Error('no socket after reconnecting');
      const pos = await text(a, 'queue-position');
      if (pos !== '1') throw new Error(`after reconnecting the place is ${pos}, not 1`);
    });

    await step('admitted: both fans reach the seat map by themselves', async () => {
      if (admin) await gqlCall(`${base}/graphql`, 'mutation($e: ID!) { resumeQueue(eventId: $e) { paused } }', { e: event.id }, admin);
      await Promise.all([waitForSeatMap(a), waitForSeatMap(b)]);
      await shot(a, '06-seat-map');
      await shot(b, '06-seat-map');
    });

    await step('a reload draws the map from the kept layout, without downloading it again', async () => {
      const first = await b.evaluate(() => window.__tix.seatMap.layoutSource);
      const answers = [];
      const watch = (res) => {
        if (/^\/events\/[^/]+\/layout/.test(new URL(res.url()).pathname)) answers.push(res.status());
      };
      b.on('response', watch);
      await b.reload();
      await waitForSeatMap(b);
      b.off('response', watch);
      const source = await b.evaluate(() => window.__tix.seatMap.layoutSource);
      // Fetched in the waiting room already (stored), or with the first map (network).
      console.log(`  first load of the map: layout from ${first}`);
      if (first !== 'stored' && first !== 'network') throw new Error(`the first load's layout came from "${first}"`);
      if (source !== 'stored') throw new Error(`after a reload the layout came from "${source}"`);
      if (answers.some((status) => status !== 304)) throw new Error(`the layout was downloaded again: ${answers.join(', ')}`);
    });

    await step('choose seats on the map: click, hover details, keyboard', async () => {
      // Two free seats side by side near the stage, found from the map the page drew.
      seatIdx = await a.evaluate(() => {
        const m = window.__tix.model;
        const start = m.firstSeat();
        for (let i = start; i < m.n - 1; i++) if (m.status[i] === 0 && m.status[i + 1] === 0 && m.runOf[i] === m.runOf[i + 1]) return [i, i + 1];
        return [];
      });
      if (seatIdx.length !== 2) throw new Error('no two free seats side by side');
      const [x, y] = await a.evaluate((i) => window.__tix.seatOnScreen(i), seatIdx[0]);
      await a.waitForTimeout(100);
      await a.mouse.move(x, y);
      await a.getByTestId('seat-tip').waitFor({ timeout: 5_000 });
      const tip = await text(a, 'seat-tip');
      if (!/Section .+, row .+, seat \d+/.test(tip)) throw new Error(`hover shows "${tip}"`);
      await a.mouse.click(x, y);
      await a.getByTestId('chosen-list').locator('li').first().waitFor();
      // Keyboard: the clicked seat has focus; move right and choose.
      await a.getByTestId('seat-map').focus();
      await a.keyboard.press('ArrowRight');
      await a.keyboard.press('Enter');
      await a.waitForFunction(() => document.querySelectorAll('[data-testid="chosen-list"] li').length === 2, null, { timeout: 5_000 });
      await a
        .waitForFunction(() => /Chosen\./.test(document.querySelector('[data-testid="seat-announce"]')?.textContent ?? ''), null, { timeout: 3_000 })
        .catch(async () => {
          throw new Error(`screen reader hears "${await text(a, 'seat-announce')}"`);
        });
      await shot(a, '07-seats-chosen');
      // B, on the phone, taps one of the same seats (it is still free for B).
      const [bx, by] = await b.evaluate((i) => window.__tix.seatOnScreen(i), seatIdx[0]);
      await b.waitForTimeout(100);
      await b.touchscreen.tap(bx, by);
      await b.getByTestId('chosen-list').locator('li').first().waitFor({ timeout: 5_000 });
      await shot(b, '07-seats-chosen');
    });

    await step('hold the seats: countdown with progress bar', async () => {
      await a.getByTestId('hold-seats').click();
      await a.getByTestId('hold-timer').waitFor({ timeout: 10_000 }).catch(async () => {
        const msg = await a.locator('.notice').first().textContent().catch(() => '');
        throw new Error(`no hold: the page says "${msg?.trim()}"${saleLanded ? '' : ' (lockSeats is not in the API yet)'}`);
      });
      const clock = await text(a, 'hold-clock');
      if (!/^\d+:\d\d$/.test(clock)) throw new Error(`clock reads "${clock}"`);
      await shot(a, '08-hold');
    });

    await step('a minute before expiry: a warning, then one extension', async () => {
      if (!stack.adminEmail) return; // holds of a system we did not start last 10 minutes
      await a.locator('[data-testid="hold-timer"][data-phase="warning"]').waitFor({ timeout: 30_000 });
      await a.getByTestId('hold-warning').waitFor();
      await shot(a, '08-hold-warning');
      await a.getByTestId('extend-hold').click();
      await a.locator('[data-testid="hold-timer"][data-phase="ok"]').waitFor({ timeout: 10_000 });
      if (await a.getByTestId('extend-hold').count()) throw new Error('the extension is still offered after using it');
      const clock = await text(a, 'hold-clock');
      if (Number(clock.split(':')[0]) < 2) throw new Error(`after extending, the clock reads ${clock}`);
    });

    await step('the other fan sees those seats turn unavailable, live, without reloading', async () => {
      const origin = await b.evaluate(() => performance.timeOrigin);
      await b.waitForFunction((idx) => idx.every((i) => window.__tix.model.status[i] !== 0), seatIdx, { timeout: 10_000 });
      const same = await b.evaluate(() => performance.timeOrigin);
      if (same !== origin) throw new Error('the page reloaded');
      // B had chosen one of them: it leaves B's choice, with the reason in plain words.
      await b.getByText(/was taken by another fan/).waitFor({ timeout: 5_000 });
      if (await b.getByTestId('chosen-list').count()) throw new Error('the taken seat is still in B\'s choice');
      await shot(b, '08-seats-taken-live');
    });

    await step('checkout: forms validate; a declined card shows its message', async () => {
      await a.getByTestId('to-checkout').click();
      await a.getByTestId('checkout').waitFor({ timeout: 15_000 });
      await a.getByTestId('pay').click(); // empty: validation
      await a.getByText('Enter your card number.').waitFor();
      await shot(a, '09-checkout');
      await a.getByLabel('Card number').fill('4000 0000 0000 0002');
      await a.getByLabel('Expiry (MM / YY)').fill('12 / 30');
      await a.getByLabel('Security code').fill('123');
      await a.getByLabel('Name on card').fill('Asha Rao');
      await a.getByTestId('pay').click();
      await a.getByTestId('pay-error').waitFor({ timeout: 15_000 });
      const msg = await text(a, 'pay-error');
      if (!/declined/i.test(msg) || !/not been charged/.test(msg)) throw new Error(`decline reads "${msg}"`);
      await shot(a, '10-payment-declined');
    });

    await step('retry with a good card: confirmation with reference, seats and total', async () => {
      await a.getByLabel('Card number').fill('4111 1111 1111 1111');
      await a.getByTestId('pay').click();
      await a.getByTestId('confirmation').waitFor({ timeout: 20_000 });
      const ref = await text(a, 'booking-reference');
      if (ref.length < 4) throw new Error(`reference "${ref}"`);
      const seats = await a.getByTestId('confirmed-seats').locator('li').count();
      if (seats !== 2) throw new Error(`${seats} seats confirmed`);
      await shot(a, '11-confirmation');
      await a.goto(`${base}/bookings`);
      await a.getByTestId('booking').first().waitFor({ timeout: 10_000 });
      await shot(a, '12-my-bookings');
    });

    await step('the phone: best available, hold, UPI declined then paid, confirmation, cancel', async () => {
      await b.locator('details.best').evaluate((d) => (d.open = true));
      await b.getByTestId('best-find').click();
      await b.getByTestId('chosen-list').locator('li').nth(1).waitFor();
      await b.getByTestId('hold-seats').click();
      await b.getByTestId('hold-timer').waitFor({ timeout: 10_000 });
      await shot(b, '08-hold');
      await b.getByTestId('to-checkout').click();
      await b.getByTestId('checkout').waitFor({ timeout: 15_000 });
      await b.getByTestId('method-UPI').click();
      await b.getByLabel('UPI ID').fill('failure@upi');
      await shot(b, '09-checkout');
      await b.getByTestId('pay').click();
      await b.getByTestId('pay-error').waitFor({ timeout: 15_000 });
      await b.getByTestId('pay-error').scrollIntoViewIfNeeded();
      await shot(b, '10-payment-declined');
      await b.getByLabel('UPI ID').fill('fan@okicici');
      await b.getByTestId('pay').click();
      await b.getByTestId('confirmation').waitFor({ timeout: 20_000 });
      await shot(b, '11-confirmation');
      await b.goto(`${base}/bookings`);
      await b.getByTestId('booking').first().waitFor({ timeout: 10_000 });
      await shot(b, '12-my-bookings');
      b.once('dialog', (d) => d.accept());
      await b.getByTestId('cancel-booking').first().click();
      await b.getByTestId('booking-status').filter({ hasText: /Cancelled|Refunded/ }).first().waitFor({ timeout: 10_000 });
      await shot(b, '13-booking-cancelled');
    });
  } finally {
    await browser.close().catch(() => undefined);
    await stack.stop();
  }

  console.log('\nclient e2e results');
  for (const r of results) {
    console.log(`  ${r.status.padEnd(7)} ${r.name}${r.ms !== undefined ? ` (${r.ms} ms)` : ''}`);
    if (r.error) console.log(`          ${r.error.replace(/\n/g, '\n          ')}`);
  }
  console.log(`screenshots: ${OUT_DIR}`);
  if (failed) {
    if (!saleLanded) console.log('\nThe sale mutations of docs/sale-api.md are not in the API yet: the hold and checkout steps cannot pass until they land.');
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
