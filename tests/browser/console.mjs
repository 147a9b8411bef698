// The operator console in a real browser (Debian's Chromium, driven by playwright-core):
// an operator added on the command line signs in with the one-time password and must
// choose a new one; makes an event with the form: a field left empty is refused next to
// that field, a seat map comes from a CSV file and is edited in the editor, the preview
// draws it with the buyer map's code; the event is a draft until published, gets a
// picture uploaded, and then the buyer site shows it, picture and seats; a buyer pays
// for two seats; the sales page shows them sold, live, with the chart; the door checks
// one ticket in once (the second scan is refused, saying when and by whom); the order
// found by the buyer's email is refunded (seats back on sale, the other ticket then
// refused at the door); the audit trail lists each of these actions.
//
// Run by tests/browser.rs, which starts `onsale dev` and adds the operator:
//   node console.mjs EDGE_URL COORDINATOR_URL OPERATOR_NAME ONE_TIME_PASSWORD
// Prints one line per check; exits non-zero at the first that fails.
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [edge, coordinator, operatorName, oneTimePassword] = process.argv.slice(2);
const WAIT = { timeout: 15000 };
const SHOTS = process.env.SCREENSHOTS || new URL('../../target/browser-screenshots/', import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });
const shoot = (page, name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
const started = Date.now();

function log(message) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${message}`);
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  log(`ok: ${message}`);
}

async function json(response) {
  const body = await response.json();
  if (!response.ok) throw new Error(`${response.url}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

// A buyer signs up and holds `seats` of the event, then checks out: the booking's
// payment page.
async function buyerCheckout(eventId, seats) {
  const username = `buyer${Date.now() % 100000}`;
  const password = 'correct horse battery';
  await json(await fetch(`${edge}/v1/users`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, email: `${username}@example.com`, phone: `+4420${String(Date.now()).slice(-7)}1`, password }),
  }));
  const { token } = await json(await fetch(`${edge}/v1/sessions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password }),
  }));
  const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  const hold = await json(await fetch(`${edge}/v1/events/${eventId}/holds`, {
    method: 'POST', headers: { ...auth, 'Idempotency-Key': `hold-${username}` }, body: JSON.stringify({ seats }),
  }));
  const checkout = await json(await fetch(`${edge}/v1/holds/${hold.hold_id}/checkout`, {
    method: 'POST', headers: { ...auth, 'Idempotency-Key': `checkout-${username}` },
  }));
  return { email: `${username}@example.com`, checkout, token };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  // Refused requests are part of the journey (a wrong password, a bad file); anything
  // else the console logs as an error is a fault.
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`);
  });

  // Sign-in with the one-time password, then a password of one's own.
  await page.goto(`${coordinator}/operator`);
  await page.waitForURL(/\/operator\/sign-in/, WAIT);
  check(true, 'the console sends a stranger to the sign-in page');
  await page.fill('#f-name', operatorName);
  await page.fill('#f-password', 'not the password');
  await page.click('#sign-in button[type=submit]');
  await page.waitForSelector('#sign-in [data-form-message]:not([hidden])', WAIT);
  check(true, `a wrong password is refused: "${await page.textContent('#sign-in [data-form-message]')}"`);
  await page.fill('#f-password', oneTimePassword);
  await page.click('#sign-in button[type=submit]');
  await page.waitForSelector('#password-change:not([hidden])', WAIT);
  check(true, 'the one-time password leads to choosing a new one');
  await page.fill('#f-new_password', 'short');
  await page.click('#password-change button[type=submit]');
  await page.waitForSelector('#password-change .field-error:not([hidden]), #password-change [data-form-message]:not([hidden])', WAIT);
  check(true, 'a weak new password is refused');
  await page.fill('#f-new_password', 'tangerine ocelot quartz 42');
  await page.click('#password-change button[type=submit]');
  await page.waitForURL(`${coordinator}/operator`, WAIT);
  await page.waitForSelector('#event-list table', WAIT);
  check((await page.textContent('#console-operator')).includes(operatorName), 'signed in, the header names the operator');
  check(await page.locator('#event-list tbody tr').count() > 0, 'the event list shows the catalogue');

  // A new event: the form refuses an empty venue next to the field; the seat map comes
  // from CSV and is changed in the editor; the preview follows.
  await page.click('text=New event');
  await page.waitForSelector('#seat-map-editor', WAIT);
  await page.fill('#f-name', 'Console night');
  await page.fill('#f-category', 'concert');
  await page.fill('#f-city', 'Leeds');
  await page.fill('#f-starts_at', '2031-06-01T19:30');
  await page.fill('#f-time_zone', 'Europe/London');
  await page.fill('#f-currency', 'GBP');
  const csv = ['section,row,seat,price', ...[1, 2, 3, 4, 5, 6].map((n) => `Floor,A,${n},5000`),
    ...[1, 2, 3, 4, 5, 6].map((n) => `Floor,B,${n},4000`), ...[1, 2, 3, 4].map((n) => `Balcony,A,${n},2500`)].join('\n');
  await page.setInputFiles('#seat-csv', { name: 'hall.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.waitForFunction(() => document.querySelectorAll('#seatmap-preview circle').length === 16, null, WAIT);
  check(await page.locator('.section-editor').count() === 2, 'the CSV gives two sections in the editor');
  check(true, 'the preview draws the 16 seats of the CSV');
  await page.fill('#f-section-1-rows', 'A 4\nB 6 20.00');
  await page.waitForFunction(() => document.querySelectorAll('#seatmap-preview circle').length === 22, null, WAIT);
  const prices = await page.locator('#seatmap-preview .legend li').allTextContents();
  check(prices.filter((p) => p.startsWith('£')).length === 4, `a row with its own price adds a price to the preview's legend (${prices.join(', ')})`);
  await page.click('#event-form button[type=submit]');
  await page.waitForSelector('[data-error-for="venue"]:not([hidden])', WAIT);
  check((await page.getAttribute('#f-venue', 'aria-invalid')) === 'true', `the empty venue is refused next to it: "${await page.textContent('[data-error-for="venue"]')}"`);
  await page.fill('#f-venue', 'Town Hall');
  await shoot(page, 'console-1-new-event');
  await page.click('#event-form button[type=submit]');
  await page.waitForURL(/\/operator\/events\/\d+/, WAIT);
  const eventId = /\/events\/(\d+)/.exec(page.url())[1];
  await page.waitForSelector('#event-state.draft', WAIT);
  check(true, `event ${eventId} is made, as a draft`);
  const draft = await fetch(`${edge}/v1/events/${eventId}`);
  check(draft.status === 404, `buyers do not see the draft (${draft.status})`);
  await page.waitForFunction(() => document.querySelectorAll('#seatmap-preview circle').length === 22, null, WAIT);
  check(true, 'the event page draws its stored seat map');

  // A picture: a PNG drawn by the browser, uploaded from the form.
  const png = await page.evaluate(() => {
    const canvas = document.createElement('canvas');
    canvas.width = 1600;
    canvas.height = 900;
    const g = canvas.getContext('2d');
    g.fillStyle = '#2a6fdb';
    g.fillRect(0, 0, 1600, 900);
    g.fillStyle = '#fca311';
    g.fillRect(400, 200, 800, 500);
    return canvas.toDataURL('image/png').split(',')[1];
  });
  await page.setInputFiles('#f-image', { name: 'poster.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
  await page.click('#image-form button[type=submit]');
  await page.waitForSelector('#image-form [data-error-for="image"]:not([hidden]), #image-form [data-form-message].error', WAIT);
  check(true, 'a file that is not an image is refused with a reason');
  await page.setInputFiles('#f-image', { name: 'poster.png', mimeType: 'image/png', buffer: Buffer.from(png, 'base64') });
  await page.click('#image-form button[type=submit]');
  await page.waitForSelector('#image-form [data-form-message].success', WAIT);
  await page.waitForSelector('#event-image[src*="/media/"]', WAIT);
  const imageUrl = await page.getAttribute('#event-image', 'src');
  check(true, `the picture is stored and shown (${imageUrl})`);

  await page.click('#publish');
  await page.waitForSelector('#event-state.published', WAIT);
  check(true, 'published');
  await shoot(page, 'console-2-event');

  // The buyer site shows it once the edge's snapshot has it; the event page links there.
  check(await page.getAttribute('#on-site', 'href') === `${edge}/events/${eventId}`, 'the event page links to the event on the site');
  const buyer = await context.newPage();
  const deadline = Date.now() + 30000;
  while ((await fetch(`${edge}/v1/events/${eventId}`)).status !== 200) {
    if (Date.now() > deadline) throw new Error('the published event never reached the edge');
    await new Promise((r) => setTimeout(r, 200));
  }
  await buyer.goto(`${edge}/events/${eventId}`);
  await buyer.waitForSelector('circle[data-seat]', WAIT);
  check((await buyer.textContent('h1')).includes('Console night'), 'the buyer site shows the event');
  check(await buyer.locator('circle[data-seat]').count() === 22, 'with its 22 seats');
  const shown = await buyer.getAttribute('article img', 'src');
  check(shown && shown.includes('/media/'), `and its picture (${shown})`);
  const picture = await fetch(new URL(shown, edge));
  check(picture.status === 200 && (picture.headers.get('cache-control') || '').includes('immutable'), 'the picture is served through the edge, immutable');

  // A buyer pays for two seats on the sandbox's payment page.
  const { seats } = await json(await fetch(`${edge}/v1/events/${eventId}/seats`));
  const floor = seats.filter((s) => s.section === 'Floor').map((s) => s.seat_id);
  const balcony = seats.filter((s) => s.section === 'Balcony').map((s) => s.seat_id);
  const { email, checkout, token } = await buyerCheckout(eventId, floor.slice(0, 2));
  await buyer.goto(checkout.payment_url);
  await buyer.click('form[action*="/succeed"] button');
  await buyer.waitForURL(/\/bookings\//, WAIT);
  const paidBy = Date.now() + 15000;
  while ((await json(await fetch(`${edge}/v1/bookings/${checkout.booking_id}`, { headers: { Authorization: `Bearer ${token}` } }))).status !== 'completed') {
    if (Date.now() > paidBy) throw new Error('the booking was never paid');
    await new Promise((r) => setTimeout(r, 200));
  }
  check(true, `the buyer ${email} paid for two seats`);

  // Sales: the figures and the chart follow the change log.
  await page.goto(`${coordinator}/operator/events/${eventId}/sales`);
  await page.waitForFunction(() => document.querySelector('[data-figure="sold"] dd')?.textContent.startsWith('2 of 22'), null, WAIT);
  await page.waitForSelector('#sales-chart .bar', WAIT);
  check(await page.getAttribute('#sales-chart', 'data-total') === '2', 'the sales page shows 2 of 22 sold, and a bar on the chart');
  const other = await buyerCheckout(eventId, balcony.slice(0, 1));
  await page.waitForFunction(() => document.querySelector('[data-figure="held"] dd')?.textContent === '1', null, WAIT);
  check(true, 'a hold elsewhere shows on the open sales page without a reload');
  check(!!other.checkout.booking_id, 'a second buyer is checking out');

  // Orders: found by the buyer's email; the detail lists the tickets' short codes.
  await page.fill('#order-search input', email);
  await page.click('#order-search button');
  await page.waitForFunction(() => document.querySelectorAll('#orders tbody tr[data-booking]').length === 1, null, WAIT);
  check(true, 'the order is found by the buyer\'s email');
  await page.click('#orders tbody tr[data-booking] button');
  await page.waitForSelector('#order-detail td.code', WAIT);
  const codes = await page.locator('#order-detail td.code').allTextContents();
  check(codes.length === 2, `the order's detail lists its two tickets (${codes.join(', ')})`);
  await shoot(page, 'console-3-sales');

  // The door, on a phone-sized screen: one ticket admitted once.
  const door = await context.newPage();
  await door.setViewportSize({ width: 390, height: 800 });
  await door.goto(`${coordinator}/operator/checkin?event=${eventId}`);
  await door.waitForFunction((id) => document.querySelector('#f-event_id').value === id, eventId, WAIT);
  await door.fill('#f-code', codes[0]);
  await door.press('#f-code', 'Enter');
  await door.waitForSelector('#checkin-result.admitted', WAIT);
  check((await door.textContent('#checkin-result')).includes('Floor'), `the first scan admits: "${await door.textContent('#checkin-result')}"`);
  await door.waitForFunction(() => document.querySelector('#checkin-count').textContent.startsWith('1 of 2'), null, WAIT);
  check(true, 'the door counts 1 of 2 checked in');
  await page.waitForFunction(() => document.querySelector('[data-figure="checked-in"] dd')?.textContent === '1 of 2', null, WAIT);
  check(true, 'the open sales page counts the admission without a reload');
  await door.fill('#f-code', codes[0]);
  await door.press('#f-code', 'Enter');
  await door.waitForSelector('#checkin-result.refused[data-code="already_checked_in"]', WAIT);
  const again = await door.textContent('#checkin-result');
  check(again.includes(operatorName), `the same ticket again is refused, saying by whom: "${again}"`);
  await shoot(door, 'console-4-door');

  // A refund by the organiser: the seats go back on sale, the other ticket is void.
  await page.fill('#refund-reason', 'The organiser moved the seats');
  page.once('dialog', (dialog) => dialog.accept());
  await page.click('#refund');
  await page.waitForFunction(() => /refund/.test(document.querySelector('#order-detail [data-status]')?.textContent || ''), null, WAIT);
  check(true, `refunded: "${await page.textContent('#order-detail [data-status]')}"`);
  await page.waitForFunction(() => document.querySelector('[data-figure="sold"] dd')?.textContent.startsWith('0 of 22'), null, WAIT);
  check(true, 'the sales page shows the seats back on sale');
  await door.fill('#f-code', codes[1]);
  await door.press('#f-code', 'Enter');
  await door.waitForSelector('#checkin-result.refused', WAIT);
  check(true, `a refunded ticket is refused at the door: "${await door.textContent('#checkin-result')}"`);

  // The audit trail has every action, newest first.
  await page.goto(`${coordinator}/operator/audit`);
  await page.waitForSelector('#audit tbody tr', WAIT);
  const actions = await page.locator('#audit tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
  for (const action of ['event.create', 'event.image', 'event.publish', 'checkin', 'booking.refund']) {
    check(actions.some((a) => a && a.startsWith(action)), `the audit trail lists ${action}`);
  }
  await shoot(page, 'console-5-audit');
  check(problems.length === 0, `no script errors (${problems.join('; ')})`);
} finally {
  await browser.close();
}
