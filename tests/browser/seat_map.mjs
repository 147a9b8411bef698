// The seat map and the waiting room in a real browser (Debian's Chromium, driven by
// playwright-core): two people on one event page, one on a desktop with the keyboard, one
// on a phone-sized screen; holds turn grey live on the other's map, the hold counts down
// and shows in a second tab as the buyer's own, the sticky bar covers no control,
// checkout goes through the sandbox payment page and back to the booking page with the
// event, its local time, the seats by name and the tickets, "My tickets" finds the
// booking after a reload, a declined card on the hosted page keeps the seats and the
// buyer pays again, and with the waiting room on, a hold sends the person to the queue
// page and back with a pass; the demo arena opens on an overview of its sections and zooms into one.
//
// Run by tests/browser.rs, which starts `onsale dev` and an event:
//   node seat_map.mjs EDGE_URL COORDINATOR_URL OPERATOR_TOKEN EVENT_ID
// Prints one line per check; exits non-zero at the first that fails.
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [edge, coordinator, operatorToken, eventId] = process.argv.slice(2);
const WAIT = { timeout: 15000 };
// Screenshots of the journey, desktop and phone, for a person to look at.
const SHOTS = process.env.SCREENSHOTS || new URL('../../target/browser-screenshots/', import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });
const shoot = (page, name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: false });
const started = Date.now();

function log(message) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${message}`);
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  log(`ok: ${message}`);
}

async function signUp(username) {
  const response = await fetch(`${edge}/v1/users`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      username,
      email: `${username}@example.com`,
      phone: `+4420${String(Date.now()).slice(-7)}${username.length}`,
      password: 'correct horse battery',
    }),
  });
  check(response.status === 201, `${username} signed up over the API (${response.status})`);
}

const seat = (page, id) => page.locator(`circle[data-seat="${id}"]`);
const seatClass = (page, id) => seat(page, id).getAttribute('class');

async function waitForSeat(page, id, look) {
  await page.waitForFunction(
    ([id, look]) => document.querySelector(`circle[data-seat="${id}"]`)?.classList.contains(look),
    [id, look],
    WAIT,
  );
}

async function openEvent(page) {
  await page.goto(`${edge}/events/${eventId}`);
  await page.waitForSelector('circle[data-seat]', WAIT);
  await page.waitForSelector('[data-live-state="open"]', WAIT);
}

// Every button, field and list on the page, scrolled into view as the browser scrolls a
// focused control (to the bottom edge), is the element found at its centre: nothing
// (the sticky bar, say) covers it. Returns those that were covered.
async function coveredControls(page) {
  return page.evaluate(() => {
    const covered = [];
    for (const control of document.querySelectorAll('main button, main input, main select')) {
      if (!control.getClientRects().length) continue;
      control.scrollIntoView({ block: 'end' });
      const r = control.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      if (!(hit === control || control.contains(hit))) {
        covered.push(`${control.outerHTML.slice(0, 60)} under ${hit && hit.outerHTML.slice(0, 40)}`);
      }
    }
    window.scrollTo(0, 0);
    return covered;
  });
}

async function signIn(page, username) {
  await page.fill('form.account input[name=username]', username);
  await page.fill('form.account input[name=password]', 'correct horse battery');
  await page.click('form.account button[type=submit]');
  await page.waitForSelector(`text=Signed in as ${username}`, WAIT);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
try {
  const desktop = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  const phone = await (await browser.newContext({
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2,
  })).newPage();
  for (const page of [desktop, phone]) {
    page.on('pageerror', (error) => { throw new Error(`script error on the page: ${error.message}`); });
  }

  // Ada creates her account in the page's form; Ben signs in to one made over the API.
  const ada = `ada${Date.now() % 100000}`;
  const ben = `ben${Date.now() % 100000}`;
  await openEvent(desktop);
  await openEvent(phone);
  check(await desktop.getAttribute('[data-live]', 'data-live') === '/',
    'the live seat feed is opened on the site itself (the edge passes the socket through)');
  check(await seat(desktop, 'FLR-A-1').count() === 1, 'the event page draws the seat map as SVG');
  check((await desktop.locator('.legend li').count()) === 3 + 4, 'the legend lists the three price tiers and four states');
  check((await seat(desktop, 'BAL-A-1').getAttribute('aria-label')).includes('row A, seat 1'), 'seats have accessible names');
  await desktop.click('text=New here? Create an account');
  await desktop.fill('form.account input[name=username]', ada);
  await desktop.fill('form.account input[name=password]', 'correct horse battery');
  await desktop.fill('form.account input[name=email]', `${ada}@example.com`);
  await desktop.fill('form.account input[name=phone]', '+442079460958');
  await desktop.click('form.account button[type=submit]');
  await desktop.waitForSelector(`text=Signed in as ${ada}`, WAIT);
  check(true, 'a new account is created and signed in from the event page');
  const coveredSignedOut = await coveredControls(phone);
  check(coveredSignedOut.length === 0, `the sticky bar covers no control of the signed-out phone page ${coveredSignedOut.join('; ')}`);
  await signUp(ben);
  await signIn(phone, ben);
  await shoot(phone, 'phone-1-event');

  // The phone: nothing wider than the screen, seats big enough to tap.
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `the phone page does not scroll sideways (overflow ${overflow} px)`);
  const box = await seat(phone, 'FLR-A-1').boundingBox();
  check(box && box.width >= 12, `a seat is ${box && box.width.toFixed(1)} px wide on the phone`);

  // Ada picks two seats with the keyboard only.
  await desktop.focus('circle[tabindex="0"]');
  check(await desktop.evaluate(() => document.activeElement.dataset.seat) === 'FLR-A-1', 'the first free seat takes the focus');
  await desktop.keyboard.press('ArrowRight');
  await desktop.keyboard.press('Enter');
  await desktop.keyboard.press('ArrowDown');
  await desktop.keyboard.press(' ');
  check(await seat(desktop, 'FLR-A-2').getAttribute('aria-pressed') === 'true', 'Enter picks the focused seat');
  check(await seat(desktop, 'FLR-B-2').getAttribute('aria-pressed') === 'true', 'arrow down moves to the next row, Space picks');
  await desktop.keyboard.press('Tab');
  check(await desktop.evaluate(() => document.activeElement.textContent) === 'Hold 2 seats', 'Tab leaves the map for the hold button');
  const held = Date.now();
  await desktop.keyboard.press('Enter');
  await desktop.waitForSelector('.countdown', WAIT);
  const clock = await desktop.textContent('.countdown');
  check(/^(10:00|9:5\d)$/.test(clock), `the hold counts down from 10 minutes (${clock})`);
  check((await seatClass(desktop, 'FLR-A-2')).includes('mine'), 'held seats show as yours');
  const mineLook = await desktop.$eval('[data-seat="FLR-A-2"]', (c) => [getComputedStyle(c).fill, getComputedStyle(c).stroke]);
  check(mineLook[0] === 'rgb(255, 255, 255)' && mineLook[1] === 'rgb(17, 17, 17)', `a seat held for you is a dark ring, like no price tier (${mineLook.join(' / ')})`);
  check(await desktop.evaluate(() => document.activeElement.textContent) === 'Pay now', 'the hold puts the focus on Pay now');
  await shoot(desktop, 'desktop-1-hold');
  const coveredHolding = await coveredControls(desktop);
  check(coveredHolding.length === 0, `the sticky bar covers no control while holding ${coveredHolding.join('; ')}`);

  // A second tab of Ada's shows her hold as hers, with Pay and Release.
  const tab = await desktop.context().newPage();
  await openEvent(tab);
  await tab.waitForSelector('.countdown', WAIT);
  await waitForSeat(tab, 'FLR-B-2', 'mine');
  check(await tab.locator('text=Pay now').count() === 1, 'a second tab shows the hold as hers, with Pay now');
  await tab.close();

  // Ben sees them go grey without reloading, and cannot pick them.
  await waitForSeat(phone, 'FLR-A-2', 'held');
  await waitForSeat(phone, 'FLR-B-2', 'held');
  log(`Ben's map showed Ada's hold ${Date.now() - held} ms after she pressed Enter`);
  await seat(phone, 'FLR-A-2').tap({ force: true }); // aria-disabled: Playwright would wait
  check(await seat(phone, 'FLR-A-2').getAttribute('aria-pressed') === 'false', 'a held seat cannot be picked');
  check((await phone.textContent('.notice.error')).includes('held by someone'), 'and the page says why');

  // Ben holds a seat by touch and lets it go; Ada sees both.
  await seat(phone, 'BAL-A-3').tap();
  await phone.click('text=Hold 1 seat');
  await phone.waitForSelector('.countdown', WAIT);
  await waitForSeat(desktop, 'BAL-A-3', 'held');
  await phone.click('text=Release seats');
  await waitForSeat(desktop, 'BAL-A-3', 'available');
  check(true, "Ben's hold and release reached Ada's map live");

  // Ben asks for the best two balcony seats; they are side by side in its only row.
  await phone.selectOption('form.best select[name=section]', 'Balcony');
  await phone.selectOption('form.best select[name=count]', '2');
  await phone.click('text=Find best seats');
  await phone.waitForSelector('.countdown', WAIT);
  const best = await phone.$$eval('circle.mine', (seats) => seats.map((s) => s.dataset.seat));
  check(best.length === 2 && best.every((id) => id.startsWith('BAL-A-')), `best available held ${best.join(', ')}`);
  await waitForSeat(desktop, best[0], 'held');
  await phone.click('text=Release seats');
  await waitForSeat(desktop, best[0], 'available');

  // Ada pays on the sandbox payment page, by keyboard alone; Ben sees the seats sold.
  await openEvent(desktop);
  await desktop.waitForSelector('.countdown', WAIT);
  for (let n = 0; n < 40 && await desktop.evaluate(() => document.activeElement.textContent) !== 'Pay now'; n += 1) {
    await desktop.keyboard.press('Tab');
  }
  check(await desktop.evaluate(() => document.activeElement.textContent) === 'Pay now', 'Tab reaches Pay now on a reloaded page');
  await desktop.keyboard.press('Enter');
  await desktop.waitForURL(/\/pay\//, WAIT);
  await desktop.focus('form[action*="/succeed"] button');
  await desktop.keyboard.press('Enter');
  await desktop.waitForURL(/\/bookings\//, WAIT);
  await desktop.waitForSelector('#booking[data-status="completed"]', WAIT);
  const tickets = await desktop.locator('.ticket').count();
  check(tickets === 2, `the payment page returns Ada to her booking, paid, with ${tickets} tickets`);
  check(await desktop.locator('.ticket img[alt^="QR code"]').count() === 2, 'each ticket shows its QR code');
  await shoot(desktop, 'desktop-2-confirmation');
  const confirmation = await desktop.textContent('#booking');
  for (const words of ['Seat map night', 'Hall, Leeds', 'Wed 1 May 2030, 20:30 BST', 'Section Floor, Row A, Seat 2', 'Section Floor, Row B, Seat 2']) {
    check(confirmation.includes(words), `the confirmation says "${words}"`);
  }
  const orderCode = await desktop.textContent('.order-code');
  check(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/.test(orderCode), `with a short order code (${orderCode})`);
  const shortCodes = await desktop.$$eval('.short-code', (codes) => codes.map((c) => c.textContent));
  check(shortCodes.length === 2 && shortCodes.every((c) => /^[0-9A-Z]{5}-[0-9A-Z]{5}$/.test(c)), `and a short code under each QR (${shortCodes.join(', ')})`);
  check(await desktop.locator('text=Add to calendar').count() === 1, 'the booking offers a calendar file');

  // "My tickets", from the header, after a reload.
  await desktop.click('header >> text=My tickets');
  await desktop.waitForURL(/\/me\/tickets$/, WAIT);
  await desktop.reload();
  await desktop.waitForSelector('.booking-card', WAIT);
  await shoot(desktop, 'desktop-3-my-tickets');
  const card = await desktop.textContent('.booking-card');
  check(card.includes('Seat map night') && card.includes(orderCode) && card.includes('paid'), `My tickets lists the booking after a reload (${card.slice(0, 80)}…)`);
  await desktop.waitForSelector('button.bell', WAIT);
  await desktop.waitForFunction(() => Number(document.querySelector('button.bell').dataset.unread) > 0, null, WAIT);
  await desktop.click('button.bell');
  check((await desktop.textContent('#notification-list')).length > 0, 'the header shows her notifications');
  await waitForSeat(phone, 'FLR-A-2', 'sold');
  await waitForSeat(phone, 'FLR-B-2', 'sold');
  check(true, "Ada's payment turned her seats sold on Ben's map");
  await openEvent(desktop);
  check((await seatClass(desktop, 'FLR-A-2')).includes('sold'), 'a fresh page shows the sold seats sold');

  // Ben's card is declined on the hosted payment page: he tries again there later. He
  // goes back to the shop first: the booking waits, the seat stays his, and Continue to
  // payment brings him back to the same page, where the next card pays.
  await seat(phone, 'BAL-A-6').tap();
  await phone.click('text=Hold 1 seat');
  await phone.waitForSelector('.countdown', WAIT);
  await phone.click('text=Pay now');
  await phone.waitForURL(/\/pay\/cs_/, WAIT);
  const firstLeft = await phone.textContent('#left');
  await phone.waitForFunction((first) => document.getElementById('left').textContent !== first, firstLeft, WAIT);
  check(true, `the payment page counts the hold down (${firstLeft}, then ${await phone.textContent('#left')})`);
  await phone.click('form[action*="/fail"] button');
  await phone.waitForSelector('[role="alert"]', WAIT);
  check((await phone.textContent('[role="alert"]')).includes('declined'), 'a declined card is said so on the payment page');
  await shoot(phone, 'phone-2-declined');
  await phone.click('text=Back to the shop');
  await phone.waitForURL(/\/bookings\//, WAIT);
  await phone.waitForSelector('#booking[data-status="pending"]', WAIT);
  await phone.waitForSelector('.pay-panel .countdown', WAIT);
  await waitForSeat(desktop, 'BAL-A-6', 'held');
  check(true, 'back at the shop, the booking waits for payment with the seat held');
  await phone.click('text=Continue to payment');
  await phone.waitForURL(/\/pay\/cs_/, WAIT);
  await phone.click('form[action*="/succeed"] button');
  await phone.waitForURL(/\/bookings\//, WAIT);
  await phone.waitForSelector('#booking[data-status="completed"]', WAIT);
  check(await phone.locator('.ticket').count() === 1, 'paying again while the seat is held books it');
  await openEvent(phone);

  // The waiting room: a hold sends Ben to the queue page, which brings him back admitted.
  const room = await fetch(`${coordinator}/v1/operator/events/${eventId}/waiting-room`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${operatorToken}` },
    body: JSON.stringify({ enabled: true, total_active_users: 100, new_users_per_minute: 120, session_duration_seconds: 600 }),
  });
  check(room.ok, `the operator switched the waiting room on (${room.status})`);
  await seat(phone, 'BAL-A-4').tap();
  await phone.click('text=Hold 1 seat');
  await phone.waitForURL(/\/queue$/, WAIT);
  check(true, 'a hold without a pass leads to the queue page');
  await phone.waitForSelector('#queue[data-state]', WAIT);
  log(`queue page: ${await phone.textContent('.queue-status')}`);
  await phone.waitForURL(new RegExp(`/events/${eventId}$`), { timeout: 30000 });
  await phone.waitForSelector('[data-live-state="open"]', WAIT);
  check(true, 'admitted, the queue page brings Ben back to the seat map');
  await seat(phone, 'BAL-A-4').tap();
  await phone.click('text=Hold 1 seat');
  await phone.waitForSelector('.countdown', WAIT);
  await waitForSeat(desktop, 'BAL-A-4', 'held');
  check(true, 'with the pass, the hold goes through');

  // The demo arena (event 1 of `onsale dev`, 8,000 seats in eight sections) on the phone:
  // an overview of the sections, one colour per price tier, a tap opens a section with
  // seats of 24 px or more, its row letters staying in view as the seats scroll sideways.
  const arena = await phone.context().newPage();
  arena.on('pageerror', (error) => { throw new Error(`script error on the arena page: ${error.message}`); });
  await arena.goto(`${edge}/events/1`);
  await arena.waitForSelector('.section-tile', WAIT);
  await arena.locator('.section-tiles').scrollIntoViewIfNeeded();
  await shoot(arena, 'phone-3-arena-overview');
  const tiles = await arena.$$eval('.section-tile', (all) => all.map((t) => t.textContent));
  check(tiles.length === 8 && tiles.every((t) => /free$/.test(t)), `the arena opens on an overview of ${tiles.length} sections with prices and free seats`);
  check(tiles.some((t) => t.startsWith('Lower Tier Centre')), 'sections show their full names');
  const place = (name) => arena.locator(`.section-tile[data-section="${name}"]`).boundingBox();
  const [floor, gallery, left, right, stage] = [
    await place('Floor'), await place('Gallery'), await place('Lower Tier Left'), await place('Lower Tier Right'),
    await arena.locator('.plan-stage').boundingBox(),
  ];
  check(stage.y < floor.y && floor.y < gallery.y && left.x < floor.x && floor.x < right.x,
    'sections sit where the seat map places them: the floor by the stage, the tiers either side, the gallery at the back');
  check(await arena.locator('circle[data-seat]:visible').count() === 0, 'no seats show until a section is chosen');
  const colours = await arena.$$eval('.legend .swatch', (all) => all.map((s) => s.style.background).filter(Boolean));
  check(colours.length === 8 && new Set(colours).size === 8, `eight price tiers, eight colours (${colours.join(' ')})`);
  await arena.click('.section-tile[data-section="Lower Tier Centre"]');
  await arena.waitForSelector('.section-block[data-section="Lower Tier Centre"] circle', { ...WAIT, state: 'visible' });
  check(await arena.locator('.section-block:visible').count() === 1, 'a tap opens that section alone');
  await shoot(arena, 'phone-4-arena-section');
  const seatBox = await arena.locator('.section-block:visible circle').first().boundingBox();
  check(seatBox.width >= 24, `its seats are ${seatBox.width.toFixed(1)} px across`);
  const labelInView = await arena.evaluate(() => {
    const scroller = document.querySelector('.section-block:not([hidden]) .section-scroll');
    scroller.scrollLeft = scroller.scrollWidth;
    const label = scroller.querySelector('.row-label').getBoundingClientRect();
    const box = scroller.getBoundingClientRect();
    return scroller.scrollLeft > 0 && label.left >= box.left - 1 && label.right <= box.right;
  });
  check(labelInView, 'row letters stay in view when the seats scroll sideways');
  const arenaOverflow = await arena.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(arenaOverflow <= 0, `the arena page does not scroll sideways (overflow ${arenaOverflow} px)`);
  // Zoom: the + button, then two fingers spreading apart over the seats (as a phone's
  // touch screen sends them), up to three times the least size; − goes back.
  const seatWidth = async () => (await arena.locator('.section-block:visible circle').first().boundingBox()).width;
  await arena.click('[aria-label="Zoom in"]');
  const zoomedIn = await seatWidth();
  check(Math.abs(zoomedIn / seatBox.width - 1.5) < 0.05, `Zoom in makes the seats bigger (${seatBox.width.toFixed(1)} → ${zoomedIn.toFixed(1)} px)`);
  await arena.locator('.section-block:visible .section-scroll').scrollIntoViewIfNeeded();
  const seatsBox = await arena.locator('.section-block:visible .section-scroll').boundingBox();
  const touch = await arena.context().newCDPSession(arena);
  const middle = { x: seatsBox.x + seatsBox.width / 2, y: Math.max(seatsBox.y, 0) + 80 };
  const fingers = (apart) => [{ x: middle.x - apart, y: middle.y, id: 1 }, { x: middle.x + apart, y: middle.y, id: 2 }];
  await touch.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: fingers(30) });
  for (const apart of [45, 60, 90, 120]) {
    await touch.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: fingers(apart) });
  }
  await touch.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  const pinched = await seatWidth();
  check(Math.abs(pinched / seatBox.width - 3) < 0.1, `a pinch zooms the seats to three times their size at most (${pinched.toFixed(1)} px)`);
  const pinchedOverflow = await arena.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(pinchedOverflow <= 0, `zoomed, only the section scrolls, not the page (overflow ${pinchedOverflow} px)`);
  await arena.click('[aria-label="Zoom out"]');
  await arena.click('[aria-label="Zoom out"]');
  await arena.click('[aria-label="Zoom out"]');
  check(Math.abs(await seatWidth() - seatBox.width) < 0.5, 'Zoom out goes back to the least size');
  await arena.click('text=← All sections');
  await arena.waitForSelector('.section-tile', { ...WAIT, state: 'visible' });
  check(true, '"All sections" goes back to the overview');
  await arena.close();
} finally {
  await browser.close();
}
log(`all checks passed; screenshots in ${SHOTS}`);
