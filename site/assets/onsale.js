// onsale's pages in the browser: the header (My tickets, notifications, who is signed
// in), the account box, the live seat map of an event page (pick seats, hold them, the
// hold's countdown, checkout), the waiting-room page, the booking page (status, tickets,
// calendar file, paying again) and "My tickets"; and `window.onsale`, for the operator
// console's script: the same seat map drawn from a list alone (its preview) and the small
// helpers.
// Plain JavaScript with no dependencies, served by the edge at /static/onsale.{hash}.js.
//
// Seat states come from `GET /v1/events/{id}/seats` (through the edge), then live from the
// coordinator's WebSocket feed (`data-live` names where: `/` for the site itself, whose edge
// passes the socket through, or the coordinator as browsers reach it); without it, or when
// the socket keeps failing, the page polls the seat list instead.
(function () {
  'use strict';

  var TOKEN_KEY = 'onsale.session';
  var MAX_SEATS = 10;
  var POLL_MS = 5000;

  // ---- small helpers ------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === 'text') node.textContent = attrs[name];
      else if (name.slice(0, 2) === 'on') node.addEventListener(name.slice(2), attrs[name]);
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === 'text') node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    return node;
  }

  function money(minor, currency) {
    var symbols = { EUR: '€', GBP: '£', USD: '$', JPY: '¥' };
    var symbol = symbols[currency] || currency;
    if (currency === 'JPY') return symbol + minor;
    return symbol + Math.floor(minor / 100) + '.' + String(minor % 100).padStart(2, '0');
  }

  var DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  // An event's start as the venue reads it: `Sat 1 May 2027, 19:30 CEST`. The API gives
  // the start in the venue's offset and the zone's abbreviation, so the browser's own
  // time zone plays no part.
  function localWhen(iso, abbreviation) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso || '');
    if (!m) return iso || '';
    var day = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])).getUTCDay();
    return DAYS[day] + ' ' + (+m[3]) + ' ' + MONTHS[+m[2] - 1] + ' ' + m[1] + ', ' + m[4] + ':' + m[5] +
      (abbreviation ? ' ' + abbreviation : '');
  }

  // "Section Floor, Row A, Seat 1".
  function seatWords(item) {
    return item.section ? 'Section ' + item.section + ', Row ' + item.row + ', Seat ' + item.number : 'Seat ' + item.seat_id;
  }

  function clockText(seconds) {
    return Math.floor(seconds / 60) + ':' + String(seconds % 60).padStart(2, '0');
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return b.toString(16).padStart(2, '0');
    }).join('');
  }

  function session() {
    try {
      var saved = JSON.parse(localStorage.getItem(TOKEN_KEY) || 'null');
      if (saved && Date.parse(saved.expires_at) > Date.now()) return saved;
    } catch (e) { /* a damaged entry counts as signed out */ }
    localStorage.removeItem(TOKEN_KEY);
    return null;
  }

  // Calls the API (through the edge); resolves to {ok, status, body, date, retryAfter},
  // where body is the parsed JSON, an error body is {error: {code, message}}, and
  // retryAfter the seconds a refusal asks to wait (Retry-After), or 0.
  function api(method, path, body, headers) {
    var options = { method: method, headers: Object.assign({}, headers || {}) };
    var current = session();
    if (current) options.headers.Authorization = 'Bearer ' + current.token;
    if (body !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (response) {
      return response.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = null; }
        if (!response.ok && !(parsed && parsed.error)) {
          // Not our JSON: a proxy's or CDN's own answer (Cloudflare's rate limiting, say).
          parsed = response.status === 429
            ? { error: { code: 'rate_limited', message: 'Too many requests; try again in a moment.' } }
            : { error: { code: 'unavailable', message: 'The service answered ' + response.status + '; try again in a moment.' } };
        }
        var wait = parseInt(response.headers.get('retry-after') || '', 10);
        if (!(wait > 0) && parsed && parsed.error && parsed.error.retry_after > 0) wait = parsed.error.retry_after;
        if (!(wait > 0) && response.status === 429) wait = 5;
        return {
          ok: response.ok, status: response.status, body: parsed,
          date: Date.parse(response.headers.get('date') || ''), retryAfter: response.ok || !(wait > 0) ? 0 : wait,
        };
      });
    }, function () {
      return { ok: false, status: 0, body: { error: { code: 'unavailable', message: 'No connection; try again in a moment.' } } };
    });
  }

  function say(node, text, kind) {
    node.textContent = text;
    node.className = 'notice' + (kind ? ' ' + kind : '');
    node.hidden = !text;
  }

  // What a person reads first when a refusal asks them to wait.
  var WAIT_WORDS = {
    rate_limited: 'Too many requests from you in a short time.',
    login_locked: 'Too many failed sign-ins for this username.',
    busy: 'The site is very busy right now.',
  };

  function inWords(seconds) {
    return seconds >= 120 ? Math.ceil(seconds / 60) + ' minutes' : seconds + ' s';
  }

  // Shows a refusal in `node`. One that asks to wait (too many requests, a locked
  // sign-in, a busy server) counts the wait down and keeps `button` disabled until it is
  // over, so that nobody clicks into the same refusal again.
  function refuse(node, answer, button) {
    var error = answer.body.error;
    if (!answer.retryAfter) return say(node, error.message, 'error');
    var until = Date.now() + answer.retryAfter * 1000;
    var lead = WAIT_WORDS[error.code] || error.message;
    node.setAttribute('data-retry-after', String(answer.retryAfter));
    if (button) button.disabled = true;
    (function tick() {
      var left = Math.ceil((until - Date.now()) / 1000);
      if (left <= 0) {
        if (button) button.disabled = false;
        node.removeAttribute('data-retry-after');
        return say(node, 'You can try again now.', 'info');
      }
      say(node, lead + ' Try again in ' + inWords(left) + '.', 'error');
      setTimeout(tick, 1000);
    })();
  }

  // ---- the account box ------------------------------------------------------------------

  // Renders the sign-in / sign-up form (or who is signed in) into `box`; calls `changed`
  // after signing in or out.
  function account(box, changed) {
    box.textContent = '';
    var current = session();
    if (current) {
      box.appendChild(el('p', {}, [
        document.createTextNode('Signed in as '),
        el('strong', { text: current.username }),
        document.createTextNode(' · '),
        el('button', { type: 'button', class: 'link', text: 'Sign out', onclick: function () {
          // Ends the account's tokens on the coordinator (every device), then here,
          // whatever it answered.
          api('DELETE', '/v1/sessions').then(function () {
            localStorage.removeItem(TOKEN_KEY);
            account(box, changed);
            signedInOrOut();
            changed();
          });
        } }),
      ]));
      return;
    }
    var signingUp = false;
    var message = el('p', { class: 'notice', role: 'alert', hidden: '' });
    var username = el('input', { name: 'username', autocomplete: 'username', required: '', 'aria-label': 'Username', placeholder: 'Username' });
    var password = el('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: '', 'aria-label': 'Password', placeholder: 'Password' });
    var email = el('input', { name: 'email', type: 'email', autocomplete: 'email', 'aria-label': 'Email', placeholder: 'Email' });
    var phone = el('input', { name: 'phone', type: 'tel', autocomplete: 'tel', 'aria-label': 'Phone', placeholder: 'Phone (+44…)' });
    var extra = el('div', { class: 'signup', hidden: '' }, [email, phone]);
    var submit = el('button', { type: 'submit', text: 'Sign in' });
    var toggle = el('button', { type: 'button', class: 'link', text: 'New here? Create an account', onclick: function () {
      signingUp = !signingUp;
      extra.hidden = !signingUp;
      email.required = phone.required = signingUp;
      password.setAttribute('autocomplete', signingUp ? 'new-password' : 'current-password');
      submit.textContent = signingUp ? 'Create account' : 'Sign in';
      toggle.textContent = signingUp ? 'Have an account? Sign in' : 'New here? Create an account';
    } });
    var form = el('form', { class: 'account', 'aria-label': 'Sign in' }, [
      el('p', { text: 'Sign in to hold seats.' }), username, password, extra, submit, toggle, message,
    ]);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      submit.disabled = true;
      var credentials = { username: username.value.trim(), password: password.value };
      var first = signingUp
        ? api('POST', '/v1/users', { username: credentials.username, email: email.value.trim(), phone: phone.value.trim(), password: credentials.password })
        : Promise.resolve({ ok: true });
      first.then(function (created) {
        if (!created.ok) return created;
        return api('POST', '/v1/sessions', credentials);
      }).then(function (answer) {
        submit.disabled = false;
        if (!answer.ok) return refuse(message, answer, submit);
        localStorage.setItem(TOKEN_KEY, JSON.stringify({
          token: answer.body.token, expires_at: answer.body.expires_at, username: credentials.username,
        }));
        account(box, changed);
        signedInOrOut();
        changed();
      });
    });
    box.appendChild(form);
  }

  // ---- the header: My tickets, notifications, who is signed in ----------------------------

  var SEEN_KEY = 'onsale.notifications.seen';

  function Header(root) {
    this.root = root;
    this.render();
  }

  Header.prototype.render = function () {
    var self = this;
    var current = session();
    this.root.textContent = '';
    if (!current) {
      this.root.appendChild(el('a', { href: '/me/tickets', text: 'Sign in' }));
      return;
    }
    this.bell = el('button', { type: 'button', class: 'bell', 'aria-expanded': 'false', 'aria-controls': 'notification-list', text: 'Notifications' });
    this.list = el('ul', { id: 'notification-list', class: 'notification-list', hidden: '' });
    this.bell.addEventListener('click', function () { self.toggle(); });
    this.root.appendChild(el('span', { class: 'who', text: current.username }));
    this.root.appendChild(el('span', { class: 'bell-box' }, [this.bell, this.list]));
    api('GET', '/v1/me/notifications').then(function (answer) {
      if (!answer.ok) return;
      self.items = answer.body;
      var seen = Date.parse(localStorage.getItem(SEEN_KEY) || '') || 0;
      var unread = self.items.filter(function (n) { return Date.parse(n.created_at) > seen; }).length;
      self.bell.textContent = unread ? 'Notifications (' + unread + ')' : 'Notifications';
      self.bell.setAttribute('data-unread', String(unread));
    });
  };

  Header.prototype.toggle = function () {
    var open = this.list.hidden;
    this.list.hidden = !open;
    this.bell.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (!open) return;
    var list = this.list;
    list.textContent = '';
    (this.items || []).forEach(function (n) {
      list.appendChild(el('li', {}, [
        el('a', { href: '/bookings/' + encodeURIComponent(n.booking_id), text: n.message }),
        el('span', { class: 'meta', text: ' · ' + new Date(n.created_at).toLocaleString() }),
      ]));
    });
    if (!list.children.length) list.appendChild(el('li', { class: 'meta', text: 'Nothing yet.' }));
    localStorage.setItem(SEEN_KEY, new Date().toISOString());
    this.bell.textContent = 'Notifications';
    this.bell.setAttribute('data-unread', '0');
  };

  var header = null;

  // Something on the page signed in or out: the header follows.
  function signedInOrOut() {
    if (header) header.render();
  }

  // ---- the seat map ---------------------------------------------------------------------

  var SEAT = 22;        // distance between seat centres, in SVG units
  var LABEL = 36;       // width of the row-label column, in SVG units
  var SEAT_PX = 27;     // a seat's distance on screen at least: its circle is then 24 px across
  var OVERVIEW_SEATS = 600; // more seats than this: an overview of the sections comes first
  var MAX_ZOOM = 3;     // seats grow to three times their size at most
  var TIER_COLOURS = ['#2a6fdb', '#e76f51', '#8e44ad', '#2a9d8f', '#d4a017', '#c2185b'];

  // One colour per price tier, distinct however many tiers there are: the palette up to
  // its length, then hues spread evenly round the wheel at alternating lightness.
  function tierColour(tier, tiers) {
    if (tiers <= TIER_COLOURS.length) return TIER_COLOURS[tier];
    var hue = Math.round(210 + tier * 360 / tiers) % 360;
    return 'hsl(' + hue + ',68%,' + (tier % 2 ? 36 : 50) + '%)';
  }

  // Where a checked-out booking is paid: its payment page, told to come back to the
  // booking's page (a hosted page knows that already; the sandbox's intent page reads
  // `return_to`), or the booking's page when there is none. The URL API keeps a page's
  // fragment (Stripe Checkout's carries its state) after the query.
  function paymentPage(checkout) {
    var back = window.location.origin + '/bookings/' + encodeURIComponent(checkout.booking_id);
    if (!checkout.payment_url) return back;
    var page = new URL(checkout.payment_url);
    page.searchParams.set('return_to', back);
    return page.href;
  }

  function priceRange(low, high, currency) {
    return low === high ? money(low, currency) : money(low, currency) + '–' + money(high, currency);
  }

  // Where a page opens live feeds (`data-live`): the coordinator's base URL, or `/` for
  // the site itself (an edge that streams them through); null where there is none.
  function liveBase(root) {
    var live = root.getAttribute('data-live');
    return live ? new URL(live, location.href).href.replace(/\/$/, '') : null;
  }

  function SeatMap(root) {
    this.root = root;
    this.eventId = root.getAttribute('data-event');
    this.currency = root.getAttribute('data-currency');
    this.live = liveBase(root);
    // One hold takes at most MAX_SEATS; the event may allow an account fewer in all.
    this.maxSeats = Math.min(MAX_SEATS, parseInt(root.getAttribute('data-max-seats'), 10) || MAX_SEATS);
    this.seats = [];          // every seat, in display order, with x/y/state/node
    this.byId = {};
    this.selected = [];       // seat ids picked but not yet held
    this.hold = null;         // the live hold: {hold_id, seats, total, deadline}
    this.holding = [];        // seat ids of a hold request not yet answered
    this.seq = null;          // the last live-feed position seen
    this.failures = 0;
    this.focus = null;        // the seat that takes the keyboard focus
    this.build();
  }

  SeatMap.prototype.build = function () {
    var self = this;
    this.accountBox = el('div', { class: 'account-box' });
    this.status = el('p', { class: 'live-status', 'aria-live': 'polite', text: 'Loading the seat map…' });
    this.figure = el('div', { class: 'seatmap-scroll' });
    this.legend = el('ul', { class: 'legend', 'aria-label': 'Legend' });
    this.message = el('p', { class: 'notice', role: 'alert', hidden: '' });
    // The bar at the bottom of the view: what is picked or held, the countdown, the
    // buttons, and every message, so that none appears out of sight.
    this.summary = el('div', { class: 'summary-body', 'aria-live': 'polite' });
    this.bar = el('div', { class: 'summary' }, [this.message, this.summary]);
    this.root.textContent = '';
    [this.accountBox, this.status, this.legend, this.figure, this.bar]
      .forEach(function (node) { self.root.appendChild(node); });
    // Whatever the browser scrolls into view (a focused field, a button) stops above the
    // bar, so the bar never covers a control.
    var keepClear = function () {
      document.documentElement.style.scrollPaddingBottom = (self.bar.offsetHeight + 8) + 'px';
    };
    if (window.ResizeObserver) new ResizeObserver(keepClear).observe(this.bar);
    keepClear();
    account(this.accountBox, function () { self.restoreHold(); self.renderSummary(); });
    this.restoreHold();
    this.load();
  };

  SeatMap.prototype.load = function () {
    var self = this;
    return api('GET', '/v1/events/' + this.eventId + '/seats').then(function (answer) {
      if (!answer.ok) {
        self.status.textContent = 'The seat map cannot be shown right now (' + answer.body.error.message + ').';
        setTimeout(function () { self.load(); }, POLL_MS);
        return;
      }
      if (!self.seats.length) {
        self.draw(answer.body.seats, answer.body.sections || []);
        self.connect();
      } else {
        answer.body.seats.forEach(function (s) { self.setState(s.seat_id, s.state); });
      }
      self.renderCounts();
      self.renderSummary();
    });
  };

  // Draws the seat map: one block per section (its name and prices, then its rows, each
  // row's label in a column that stays in view when the seats scroll sideways), seats
  // coloured by price tier. A big venue opens on an overview: the stage and a tile per
  // section with its prices and free seats; a tile opens its section alone, seats at
  // least 24 px.
  SeatMap.prototype.draw = function (list, places) {
    var self = this;
    var prices = [];
    list.forEach(function (s) { if (prices.indexOf(s.price) < 0) prices.push(s.price); });
    prices.sort(function (a, b) { return a - b; });
    var sections = [];
    list.forEach(function (s) {
      var section = sections[sections.length - 1];
      if (!section || section.name !== s.section) {
        sections.push(section = { name: s.section, rows: [], low: s.price, high: s.price, seats: [] });
      }
      var row = section.rows[section.rows.length - 1];
      if (!row || row.name !== s.row) section.rows.push(row = { name: s.row, seats: [] });
      row.seats.push(s);
      section.low = Math.min(section.low, s.price);
      section.high = Math.max(section.high, s.price);
    });
    this.sections = sections;
    this.tierCount = prices.length;
    this.big = list.length > OVERVIEW_SEATS && sections.length > 1;
    var rowIndex = 0;
    sections.forEach(function (section) {
      var widest = 1;
      section.rows.forEach(function (row) { widest = Math.max(widest, row.seats.length); });
      var width = widest * SEAT + SEAT / 2;
      var height = section.rows.length * SEAT + 8;
      var labels = svg('svg', { class: 'row-labels', viewBox: '0 0 ' + LABEL + ' ' + height, 'aria-hidden': 'true' });
      var map = svg('svg', { role: 'group', class: 'seatmap', viewBox: '0 0 ' + width + ' ' + height,
        'aria-label': section.name + ': arrow keys move between seats, Enter or Space picks a seat' });
      section.rows.forEach(function (row, r) {
        var y = r * SEAT + SEAT / 2 + 4;
        var left = (widest - row.seats.length) * SEAT / 2 + SEAT / 4;
        labels.appendChild(svg('text', { x: LABEL - 6, y: y + 4, 'text-anchor': 'end', class: 'row-label', text: row.name }));
        row.seats.forEach(function (s, i) {
          var seat = {
            id: s.seat_id, section: s.section, row: s.row, number: s.number, price: s.price, block: section,
            tier: prices.indexOf(s.price), state: s.state, rowIndex: rowIndex, x: left + i * SEAT + SEAT / 2, y: y,
          };
          seat.node = svg('circle', { cx: seat.x, cy: seat.y, r: 10, role: 'button', tabindex: '-1', 'data-seat': seat.id });
          seat.node.style.setProperty('--tier', tierColour(seat.tier, prices.length));
          seat.node.addEventListener('click', function () { self.toggle(seat); });
          seat.node.addEventListener('keydown', function (e) { self.key(e, seat); });
          seat.node.addEventListener('focus', function () { self.setFocus(seat); });
          map.appendChild(seat.node);
          self.seats.push(seat);
          section.seats.push(seat);
          self.byId[seat.id] = seat;
        });
        rowIndex += 1;
      });
      // Seats never shrink below SEAT_PX apart: a wide section scrolls sideways in its
      // box (its row labels staying in view) rather than shrinking (see magnify).
      section.map = map;
      section.labels = labels;
      section.width = width;
      var scroll = el('div', { class: 'section-scroll' }, [el('div', { class: 'section-rows' }, [labels, map])]);
      self.zoomGestures(scroll);
      section.node = el('div', { class: 'section-block', 'data-section': section.name }, [
        el('h3', { class: 'section-name', text: section.name + ' · ' + priceRange(section.low, section.high, self.currency) }),
        scroll,
      ]);
    });
    this.zoomOut = el('button', { type: 'button', class: 'zoom', 'aria-label': 'Zoom out', text: '−' });
    this.zoomIn = el('button', { type: 'button', class: 'zoom', 'aria-label': 'Zoom in', text: '+' });
    this.zoomOut.addEventListener('click', function () { self.magnify(self.zoomLevel / 1.5); });
    this.zoomIn.addEventListener('click', function () { self.magnify(self.zoomLevel * 1.5); });
    this.zoomBar = el('div', { class: 'zoom-controls' }, [this.zoomOut, this.zoomIn]);
    this.zoomBar.hidden = this.big;
    this.magnify(1);
    this.figure.appendChild(this.zoomBar);
    if (!this.big) this.figure.appendChild(el('div', { class: 'stage', text: 'STAGE' }));
    if (this.big) this.figure.appendChild(this.drawOverview(places));
    sections.forEach(function (section) {
      section.node.hidden = self.big;
      self.figure.appendChild(section.node);
    });
    this.seats.forEach(function (seat) { self.paint(seat); });
    this.setFocus(this.seats.filter(function (s) { return s.state === 'available'; })[0] || this.seats[0]);
    this.drawLegend(prices);
  };

  // The overview of a big venue: the sections as tiles placed around the stage where the
  // seat map puts them (`places`: each section's rectangle on a 100 x 100 plan), each
  // with its full name, prices and free seats.
  SeatMap.prototype.drawOverview = function (places) {
    var self = this;
    this.back = el('button', { type: 'button', class: 'back-to-overview', hidden: '', text: '← All sections' });
    this.back.addEventListener('click', function () { self.zoom(null); });
    var where = {};
    places.forEach(function (place) { where[place.name] = place.position; });
    var planned = this.sections.every(function (section) { return where[section.name]; });
    this.tiles = el('ul', { class: 'section-tiles' + (planned ? ' plan' : ''), 'aria-label': 'Sections' });
    if (planned) this.tiles.appendChild(el('li', { class: 'plan-stage', 'aria-hidden': 'true', text: 'STAGE' }));
    this.sections.forEach(function (section) {
      section.free = el('span', { class: 'free' });
      var tile = el('button', { type: 'button', class: 'section-tile', 'data-section': section.name }, [
        el('strong', { text: section.name }),
        el('span', { text: priceRange(section.low, section.high, self.currency) }),
        section.free,
      ]);
      tile.style.setProperty('--tier', tierColour(section.seats[0].tier, self.tierCount));
      tile.addEventListener('click', function () { self.zoom(section); });
      section.tile = tile;
      var item = el('li', {}, [tile]);
      var place = where[section.name];
      if (planned) {
        item.style.left = place.x + '%';
        item.style.top = place.y + '%';
        item.style.width = place.width + '%';
        item.style.height = place.height + '%';
      }
      self.tiles.appendChild(item);
    });
    return el('div', { class: 'overview' }, [this.tiles, this.back]);
  };

  // Draws every section's seats `level` times their least size (1 to MAX_ZOOM): the
  // sections scroll in their boxes, so nothing else on the page moves.
  SeatMap.prototype.magnify = function (level) {
    this.zoomLevel = Math.min(MAX_ZOOM, Math.max(1, level));
    var scale = SEAT_PX / SEAT * this.zoomLevel;
    this.sections.forEach(function (section) {
      section.map.style.width = section.map.style.minWidth = Math.ceil(section.width * scale) + 'px';
      section.labels.style.width = section.labels.style.minWidth = Math.ceil(LABEL * scale) + 'px';
    });
    this.zoomOut.disabled = this.zoomLevel <= 1;
    this.zoomIn.disabled = this.zoomLevel >= MAX_ZOOM;
  };

  // Zooming with gestures over a section: two fingers pinching (one finger still
  // scrolls), or Ctrl (⌘) with the mouse wheel or a trackpad's pinch.
  SeatMap.prototype.zoomGestures = function (box) {
    var self = this;
    var pinch = null;
    var spread = function (touches) {
      return Math.hypot(touches[0].clientX - touches[1].clientX, touches[0].clientY - touches[1].clientY) || 1;
    };
    box.addEventListener('touchstart', function (e) {
      if (e.touches.length === 2) pinch = { from: spread(e.touches), level: self.zoomLevel };
    }, { passive: true });
    box.addEventListener('touchmove', function (e) {
      if (!pinch || e.touches.length !== 2) return;
      e.preventDefault();
      self.magnify(pinch.level * spread(e.touches) / pinch.from);
    }, { passive: false });
    box.addEventListener('touchend', function (e) {
      if (e.touches.length < 2) pinch = null;
    });
    box.addEventListener('wheel', function (e) {
      if (!e.ctrlKey && !e.metaKey) return;
      e.preventDefault();
      self.magnify(self.zoomLevel * (e.deltaY < 0 ? 1.25 : 0.8));
    }, { passive: false });
  };

  // Shows one section alone (the overview folded away), or with `null` the overview.
  SeatMap.prototype.zoom = function (section) {
    this.zoomed = section;
    this.zoomBar.hidden = !section;
    this.tiles.hidden = !!section;
    this.back.hidden = !section;
    this.sections.forEach(function (s) { s.node.hidden = s !== section; });
    if (!section) return this.tiles.querySelector('button').focus();
    var first = section.seats.filter(function (s) { return s.state === 'available'; })[0] || section.seats[0];
    this.setFocus(first);
    section.node.scrollIntoView({ block: 'nearest' });
  };

  SeatMap.prototype.drawLegend = function (prices) {
    var self = this;
    prices.forEach(function (price, tier) {
      var swatch = el('span', { class: 'swatch' });
      swatch.style.background = tierColour(tier, prices.length);
      self.legend.appendChild(el('li', {}, [swatch, document.createTextNode(money(price, self.currency))]));
    });
    [['selected', 'Your pick'], ['mine', 'Held for you'], ['held', 'Held by someone'], ['sold', 'Sold']]
      .forEach(function (entry) {
        self.legend.appendChild(el('li', {}, [el('span', { class: 'swatch ' + entry[0] }), document.createTextNode(entry[1])]));
      });
  };

  SeatMap.prototype.isMine = function (seat) {
    return !!(this.hold && this.hold.seats.indexOf(seat.id) >= 0);
  };

  // The look and the accessible name of one seat, from its state.
  SeatMap.prototype.paint = function (seat) {
    var picked = this.selected.indexOf(seat.id) >= 0;
    var mine = this.isMine(seat);
    var look = mine ? 'mine' : picked ? 'selected' : seat.state;
    seat.node.setAttribute('class', 'seat ' + look);
    var words = { available: 'available', held: 'held by someone', sold: 'sold', selected: 'picked', mine: 'held for you' };
    seat.node.setAttribute('aria-label', seat.section + ', row ' + seat.row + ', seat ' + seat.number + ', ' +
      money(seat.price, this.currency) + ', ' + words[look]);
    seat.node.setAttribute('aria-pressed', picked ? 'true' : 'false');
    seat.node.setAttribute('aria-disabled', seat.state === 'available' || picked ? 'false' : 'true');
  };

  SeatMap.prototype.setState = function (id, state) {
    var seat = this.byId[id];
    if (!seat || seat.state === state) return;
    seat.state = state;
    if (state === 'sold' && this.isMine(seat)) {
      this.endHold('Paid: your seats are booked. Your tickets come by email.');
    }
    var picked = this.selected.indexOf(id);
    if (state !== 'available' && picked >= 0 && this.holding.indexOf(id) < 0) {
      this.selected.splice(picked, 1);
      say(this.message, 'Seat ' + seat.row + seat.number + ' (' + seat.section + ') was just taken by someone else.', 'error');
      this.renderSummary();
    }
    this.paint(seat);
  };

  SeatMap.prototype.toggle = function (seat) {
    if (this.preview) return;
    if (this.hold) {
      say(this.message, 'Pay for or release your held seats before picking others.', 'error');
      return;
    }
    var at = this.selected.indexOf(seat.id);
    if (at >= 0) {
      this.selected.splice(at, 1);
    } else if (seat.state !== 'available') {
      say(this.message, 'That seat is ' + (seat.state === 'sold' ? 'sold' : 'held by someone') + '.', 'error');
      return;
    } else if (this.selected.length >= this.maxSeats) {
      say(this.message, 'You can hold at most ' + this.maxSeats + ' seats at once.', 'error');
      return;
    } else {
      this.selected.push(seat.id);
    }
    say(this.message, '');
    this.paint(seat);
    this.renderSummary();
  };

  SeatMap.prototype.setFocus = function (seat) {
    if (!seat) return;
    if (this.focus && this.focus !== seat) this.focus.node.setAttribute('tabindex', '-1');
    this.focus = seat;
    seat.node.setAttribute('tabindex', '0');
  };

  // Arrow keys move along a row and to the nearest seat of the next or previous row;
  // Home/End go to the row's ends; Enter or Space picks.
  SeatMap.prototype.key = function (e, seat) {
    var next = null;
    var index = this.seats.indexOf(seat);
    var sameRow = function (s) { return s.rowIndex === seat.rowIndex; };
    var shown = function (s) { return !s.block.node.hidden; };
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.toggle(seat);
      return;
    }
    if (e.key === 'ArrowRight' && this.seats[index + 1] && sameRow(this.seats[index + 1])) next = this.seats[index + 1];
    if (e.key === 'ArrowLeft' && this.seats[index - 1] && sameRow(this.seats[index - 1])) next = this.seats[index - 1];
    if (e.key === 'Home' || e.key === 'End') {
      var row = this.seats.filter(sameRow);
      next = e.key === 'Home' ? row[0] : row[row.length - 1];
    }
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      var target = seat.rowIndex + (e.key === 'ArrowDown' ? 1 : -1);
      this.seats.forEach(function (s) {
        if (s.rowIndex === target && shown(s) && (!next || Math.abs(s.x - seat.x) < Math.abs(next.x - seat.x))) next = s;
      });
    }
    if (next) {
      e.preventDefault();
      this.setFocus(next);
      next.node.focus();
    }
  };

  // ---- live updates ---------------------------------------------------------------------

  SeatMap.prototype.connect = function () {
    var self = this;
    if (!this.live || !window.WebSocket || this.failures >= 3) {
      this.status.textContent = 'Seat states refresh every few seconds.';
      setTimeout(function () { self.load().then(function () { self.connect(); }); }, POLL_MS);
      return;
    }
    var url = this.live.replace(/^http/, 'ws') + '/v1/events/' + this.eventId + '/live' +
      (this.seq ? '?after=' + encodeURIComponent(this.seq) : '');
    var socket = new WebSocket(url);
    var opened = false;
    socket.onopen = function () {
      opened = true;
      self.failures = 0;
      self.status.textContent = 'Live: seats update as people book.';
      self.status.setAttribute('data-live-state', 'open');
    };
    socket.onmessage = function (message) {
      var update = JSON.parse(message.data);
      if (update.type === 'snapshot') {
        update.seats.forEach(function (s) { self.setState(s.seat_id, s.state); });
      } else if (update.type === 'seat') {
        self.setState(update.seat_id, update.state);
      }
      if (update.seq) self.seq = update.seq;
      self.renderCounts();
    };
    socket.onclose = function () {
      self.status.setAttribute('data-live-state', 'closed');
      if (!opened) self.failures += 1;
      self.status.textContent = 'Reconnecting to live updates…';
      setTimeout(function () { self.connect(); }, 1000 * Math.min(10, 1 + self.failures * 2));
    };
  };

  SeatMap.prototype.renderCounts = function () {
    var counts = { available: 0, held: 0, sold: 0 };
    this.seats.forEach(function (s) { counts[s.state] += 1; });
    (this.big ? this.sections : []).forEach(function (section) {
      var free = section.seats.filter(function (s) { return s.state === 'available'; }).length;
      section.free.textContent = free + ' free';
    });
    var availability = document.getElementById('availability');
    if (availability) {
      availability.textContent = counts.available + ' of ' + this.seats.length + ' seats available' +
        (counts.held ? ' (' + counts.held + ' held by buyers right now)' : '');
    }
  };

  // ---- holding, the countdown, checkout -------------------------------------------------

  // The buyer's live hold of this event, placed in this tab, another tab or on another
  // device (`GET /v1/me/holds`): shown as theirs, with Pay and Release.
  SeatMap.prototype.restoreHold = function () {
    var self = this;
    if (!session()) return;
    api('GET', '/v1/me/holds?event_id=' + encodeURIComponent(this.eventId)).then(function (answer) {
      if (!answer.ok) return;
      var live = answer.body[0];
      if (!live) {
        if (self.hold) self.endHold('');
        return;
      }
      self.adoptHold(live, answer.date);
      self.renderSummary();
    });
  };

  // Takes `hold` (as the API answers it) as the buyer's hold; its countdown runs on the
  // server's clock: the time left when it answered (whose Date header has whole
  // seconds, so the middle of that second).
  SeatMap.prototype.adoptHold = function (hold, date) {
    var self = this;
    var now = Date.now();
    var left = Date.parse(hold.expires_at) - (date ? date + 500 : now);
    this.hold = { hold_id: hold.hold_id, seats: hold.seats, total: hold.total, deadline: now + left, booking_id: hold.booking_id };
    this.warned = false;
    this.hold.seats.forEach(function (id) {
      if (!self.byId[id]) return;
      if (self.byId[id].state === 'available') self.byId[id].state = 'held';
      self.paint(self.byId[id]);
    });
  };

  SeatMap.prototype.passHeader = function () {
    try {
      var pass = JSON.parse(sessionStorage.getItem('onsale.pass.' + this.eventId) || 'null');
      if (pass && Date.parse(pass.expires_at) > Date.now()) return { 'X-Queue-Pass': pass.pass };
    } catch (e) { /* no usable pass */ }
    return {};
  };

  // Holds the picked seats, or with `best` ({section, count}) the best seats the
  // coordinator finds free.
  SeatMap.prototype.placeHold = function (button, best) {
    var self = this;
    if (!session()) {
      say(this.message, 'Sign in (above) to hold seats.', 'error');
      this.accountBox.querySelector('input') && this.accountBox.querySelector('input').focus();
      return;
    }
    button.disabled = true;
    var headers = Object.assign({ 'Idempotency-Key': newKey() }, this.passHeader());
    var seats = best ? [] : this.selected.slice();
    this.holding = seats;
    var body = best ? { best_available: best } : { seats: seats };
    api('POST', '/v1/events/' + this.eventId + '/holds', body, headers).then(function (answer) {
      button.disabled = false;
      self.holding = [];
      if (answer.ok) {
        self.selected = [];
        self.adoptHold(answer.body, answer.date);
        say(self.message, '');
        self.renderSummary();
        // The next step takes the focus, for keyboards and screen readers alike.
        var pay = self.summary.querySelector('button.primary');
        if (pay) pay.focus();
        return;
      }
      var code = answer.body.error.code;
      if (code === 'queue_pass_required' || code === 'queue_pass_invalid') {
        window.location.href = '/events/' + self.eventId + '/queue';
        return;
      }
      if (code === 'unauthorized') {
        localStorage.removeItem(TOKEN_KEY);
        account(self.accountBox, function () { self.renderSummary(); });
      }
      refuse(self.message, answer, button);
      if (code === 'seat_unavailable') self.load();
    });
  };

  SeatMap.prototype.endHold = function (text) {
    var self = this;
    var seats = this.hold ? this.hold.seats : [];
    this.hold = null;
    seats.forEach(function (id) { if (self.byId[id]) self.paint(self.byId[id]); });
    say(this.message, text || '', text ? 'info' : '');
    this.renderSummary();
  };

  SeatMap.prototype.release = function () {
    var self = this;
    api('DELETE', '/v1/holds/' + this.hold.hold_id).then(function () {
      self.endHold('Your seats were released.');
    });
  };

  SeatMap.prototype.checkout = function (button) {
    var self = this;
    button.disabled = true;
    // A new key per click: a hold already being paid for answers with its booking
    // whatever the key, and one whose payment was declined makes a new booking.
    api('POST', '/v1/holds/' + this.hold.hold_id + '/checkout', {}, { 'Idempotency-Key': newKey() })
      .then(function (answer) {
        button.disabled = false;
        if (!answer.ok) {
          if (answer.body.error.code === 'hold_expired') return self.endHold(answer.body.error.message);
          return refuse(self.message, answer, button);
        }
        window.location.href = paymentPage(answer.body);
      });
  };

  // "Best available": a section and a count, held by the coordinator's choice.
  SeatMap.prototype.bestForm = function () {
    var self = this;
    var sections = el('select', { name: 'section', 'aria-label': 'Section' });
    this.sections.forEach(function (section) {
      var price = section.low === section.high ? money(section.low, self.currency) : 'from ' + money(section.low, self.currency);
      sections.appendChild(el('option', { value: section.name, text: section.name + ' · ' + price }));
    });
    var count = el('select', { name: 'count', 'aria-label': 'Number of seats' });
    for (var n = 1; n <= this.maxSeats; n += 1) count.appendChild(el('option', { value: String(n), text: n + (n === 1 ? ' seat' : ' seats') }));
    count.value = String(Math.min(2, this.maxSeats));
    var find = el('button', { type: 'submit', class: 'primary', text: 'Find best seats' });
    var form = el('form', { class: 'actions best', 'aria-label': 'Best available seats' }, [sections, count, find]);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      self.placeHold(find, { section: sections.value, count: Number(count.value) });
    });
    return form;
  };

  SeatMap.prototype.renderSummary = function () {
    var self = this;
    clearInterval(this.ticker);
    this.summary.textContent = '';
    if (this.hold) {
      var clock = el('strong', { class: 'countdown', role: 'timer', 'aria-label': 'Time left to pay' });
      var tick = function () {
        var left = Math.max(0, Math.floor((self.hold.deadline - Date.now()) / 1000));
        clock.textContent = clockText(left);
        if (left === 0) return self.endHold('Your hold expired; the seats went back on sale.');
        if (left <= 60) {
          clock.classList.add('warning');
          if (!self.warned) {
            self.warned = true;
            say(self.message, 'Less than a minute left to pay for your seats.', 'error');
          }
        }
      };
      var names = this.hold.seats.map(function (id) {
        var seat = self.byId[id];
        return seat ? seat.section + ' ' + seat.row + seat.number : id;
      });
      this.summary.appendChild(el('p', {}, [
        document.createTextNode('Held for you: ' + names.join(', ') + ' · ' + money(this.hold.total, this.currency) + ' · pay within '),
        clock,
      ]));
      this.summary.appendChild(el('div', { class: 'actions' }, [
        el('button', { type: 'button', class: 'primary', text: 'Pay now', onclick: function (e) { self.checkout(e.target); } }),
        el('button', { type: 'button', text: 'Release seats', onclick: function () { self.release(); } }),
      ]));
      tick();
      this.ticker = setInterval(function () { if (self.hold) tick(); }, 1000);
      return;
    }
    if (!this.selected.length) {
      this.summary.appendChild(el('p', { class: 'meta', text: 'Pick up to ' + this.maxSeats + ' seats on the map, or let us find the best seats:' }));
      this.summary.appendChild(this.bestForm());
      return;
    }
    var total = 0;
    var names = this.selected.map(function (id) {
      var seat = self.byId[id];
      total += seat.price;
      return seat.section + ' ' + seat.row + seat.number;
    });
    this.summary.appendChild(el('p', { text: this.selected.length + ' picked: ' + names.join(', ') + ' · ' + money(total, this.currency) }));
    this.summary.appendChild(el('div', { class: 'actions' }, [
      el('button', { type: 'button', class: 'primary', text: 'Hold ' + this.selected.length + (this.selected.length === 1 ? ' seat' : ' seats'),
        onclick: function (e) { self.placeHold(e.target); } }),
    ]));
  };

  // ---- the waiting room -----------------------------------------------------------------

  function Queue(root) {
    this.root = root;
    this.eventId = root.getAttribute('data-event');
    this.live = liveBase(root);
    this.accountBox = el('div', { class: 'account-box' });
    this.status = el('p', { class: 'queue-status', 'aria-live': 'polite', text: 'Joining the queue…' });
    this.detail = el('p', { class: 'meta' });
    this.message = el('p', { class: 'notice', role: 'alert', hidden: '' });
    root.textContent = '';
    [this.accountBox, this.status, this.detail, this.message].forEach(function (n) { root.appendChild(n); });
    var self = this;
    account(this.accountBox, function () { self.join(); });
    this.join();
  }

  Queue.prototype.ticketKey = function () { return 'onsale.ticket.' + this.eventId; };

  Queue.prototype.join = function () {
    var self = this;
    if (!session()) {
      this.status.textContent = 'Sign in to take your place in the queue.';
      return;
    }
    api('POST', '/v1/events/' + this.eventId + '/queue', {}).then(function (answer) {
      if (!answer.ok) {
        if (answer.body.error.code === 'waiting_room_off') return self.back('The queue is closed: seats are on sale now.');
        self.status.textContent = answer.retryAfter
          ? (WAIT_WORDS[answer.body.error.code] || answer.body.error.message) + ' Trying again in ' + inWords(answer.retryAfter) + '.'
          : answer.body.error.message;
        setTimeout(function () { self.join(); }, Math.max(POLL_MS, answer.retryAfter * 1000));
        return;
      }
      localStorage.setItem(self.ticketKey(), answer.body.ticket);
      self.show(answer.body);
      self.follow(answer.body.ticket);
    });
  };

  // Follows the ticket live (server-sent events from the coordinator, directly or through
  // the edge), or by asking the edge every few seconds where there is no live feed or the
  // stream fails.
  Queue.prototype.follow = function (ticket) {
    var self = this;
    var poll = function () {
      api('GET', '/v1/events/' + self.eventId + '/queue?ticket=' + encodeURIComponent(ticket)).then(function (answer) {
        if (answer.ok && self.show(answer.body)) setTimeout(poll, POLL_MS);
        else if (!answer.ok) setTimeout(poll, POLL_MS);
      });
    };
    if (!this.live || !window.EventSource) return poll();
    var source = new EventSource(this.live + '/v1/events/' + this.eventId + '/queue/live?ticket=' + encodeURIComponent(ticket));
    source.addEventListener('queue', function (message) {
      if (!self.show(JSON.parse(message.data))) source.close();
    });
    source.onerror = function () {
      source.close();
      poll();
    };
  };

  // Shows where the holder stands; returns whether to keep following.
  Queue.prototype.show = function (standing) {
    this.root.setAttribute('data-state', standing.state);
    if (standing.state === 'queued') {
      this.status.textContent = 'You are number ' + standing.position + ' in line.';
      this.detail.textContent = 'Estimated wait: ' + minutes(standing.estimated_wait_seconds) + '. Keep this page open; it updates by itself.';
      return true;
    }
    if (standing.state === 'waiting') {
      this.status.textContent = 'You are in. Sales open at ' + new Date(standing.shuffle_at).toLocaleTimeString() + '.';
      this.detail.textContent = 'Everyone who arrives before then gets a random place in line at that moment.';
      return true;
    }
    if (standing.state === 'admitted') {
      sessionStorage.setItem('onsale.pass.' + this.eventId, JSON.stringify({ pass: standing.pass, expires_at: standing.expires_at }));
      this.back('It is your turn! Taking you to the seats…');
      return false;
    }
    if (standing.state === 'open') {
      this.back('The queue is closed: seats are on sale now.');
      return false;
    }
    var self = this;
    this.status.textContent = 'Your turn passed before you picked seats.';
    this.detail.textContent = '';
    this.detail.appendChild(el('button', { type: 'button', class: 'primary', text: 'Join the queue again', onclick: function () { self.join(); } }));
    return false;
  };

  Queue.prototype.back = function (text) {
    this.status.textContent = text;
    this.detail.textContent = '';
    var target = '/events/' + this.eventId;
    this.detail.appendChild(el('a', { href: target, text: 'Go to the seat map' }));
    setTimeout(function () { window.location.href = target; }, 800);
  };

  function minutes(seconds) {
    if (seconds === null || seconds === undefined) return 'unknown';
    if (seconds < 60) return 'under a minute';
    var m = Math.round(seconds / 60);
    return 'about ' + m + (m === 1 ? ' minute' : ' minutes');
  }

  // ---- a booking and its tickets --------------------------------------------------------

  function Booking(root) {
    this.root = root;
    this.id = root.getAttribute('data-booking');
    this.accountBox = el('div', { class: 'account-box' });
    this.message = el('p', { class: 'notice', role: 'alert', hidden: '' });
    this.view = el('div', { class: 'booking' });
    root.textContent = '';
    root.appendChild(this.accountBox);
    root.appendChild(this.message);
    root.appendChild(this.view);
    this.started = Date.now();
    var self = this;
    account(this.accountBox, function () { self.load(); });
    this.load();
  }

  var BOOKING_WORDS = {
    pending: 'Waiting for your payment…',
    completed: 'Paid: these seats are yours. Show a ticket at the door.',
    cancelled: 'This booking was cancelled.',
  };

  Booking.prototype.load = function () {
    var self = this;
    if (!session()) {
      this.view.textContent = 'Sign in to see your booking.';
      return;
    }
    api('GET', '/v1/bookings/' + encodeURIComponent(this.id)).then(function (answer) {
      if (!answer.ok) {
        self.view.textContent = answer.body.error.message;
        return;
      }
      self.show(answer.body, answer.date);
      // A pending booking settles within seconds of the payment; look again until then.
      if (answer.body.status === 'pending' && Date.now() - self.started < 10 * 60 * 1000) {
        clearTimeout(self.again);
        self.again = setTimeout(function () { self.load(); }, 2000);
      }
    });
  };

  // The event, the seats, the order code and what was paid, as on a ticket.
  function bookingFacts(booking) {
    var event = booking.event;
    return el('div', { class: 'booking-facts' }, [
      el('h2', {}, [el('a', { href: '/events/' + booking.event_id, text: event.name })]),
      el('p', { class: 'when', text: localWhen(event.starts_at, event.time_zone_abbreviation) }),
      el('p', { class: 'where', text: event.venue + ', ' + event.city }),
      el('ul', { class: 'seat-list' }, booking.items.map(function (item) {
        return el('li', { text: seatWords(item) + ' · ' + money(item.price, booking.currency) });
      })),
      el('p', { class: 'meta' }, [
        document.createTextNode('Order '),
        el('strong', { class: 'order-code', text: booking.order_code }),
        document.createTextNode(' · ' + money(booking.total, booking.currency) + ' · booked ' + new Date(booking.created_at).toLocaleDateString()),
      ]),
    ]);
  }

  Booking.prototype.show = function (booking, date) {
    var self = this;
    clearInterval(this.ticker);
    this.root.setAttribute('data-status', booking.status);
    this.view.textContent = '';
    this.view.appendChild(el('p', { class: 'booking-status', text: BOOKING_WORDS[booking.status] || booking.status }));
    this.view.appendChild(bookingFacts(booking));
    if (booking.pay_by) this.view.appendChild(this.payPanel(booking, date));
    if (booking.status === 'cancelled') {
      var why = booking.cancel_reason ? 'Reason: ' + booking.cancel_reason + '. ' : '';
      var refund = booking.refund === 'refunded' ? 'Your payment was refunded.'
        : booking.refund === 'requested' ? 'Your refund is on its way.' : 'No money was taken.';
      this.view.appendChild(el('p', { class: 'cancel-reason', text: why + refund }));
    }
    var items = {};
    booking.items.forEach(function (item) { items[item.seat_id] = item; });
    var list = el('ul', { class: 'tickets' });
    (booking.tickets || []).forEach(function (ticket) {
      var words = items[ticket.seat_id] ? seatWords(items[ticket.seat_id]) : 'Seat ' + ticket.seat_id;
      // The QR code as an image: SVG in an <img> runs no script.
      var qr = el('img', { alt: 'QR code for ' + words, width: '160', height: '160',
        src: 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(ticket.qr_svg) });
      list.appendChild(el('li', { class: 'ticket' }, [
        el('strong', { class: 'ticket-event', text: booking.event.name }),
        el('span', { class: 'meta', text: localWhen(booking.event.starts_at, booking.event.time_zone_abbreviation) }),
        el('span', { class: 'ticket-seat', text: words }),
        qr,
        el('span', { class: 'short-code', text: ticket.short_code }),
      ]));
    });
    if (booking.tickets && booking.tickets.length) {
      this.view.appendChild(el('div', { class: 'actions no-print' }, [
        el('button', { type: 'button', class: 'primary', text: 'Print tickets', onclick: function () { window.print(); } }),
        el('button', { type: 'button', text: 'Add to calendar', onclick: function (e) { self.calendar(e.target); } }),
      ]));
      this.view.appendChild(list);
    }
    this.view.appendChild(el('p', { class: 'no-print' }, [
      el('a', { href: '/me/tickets', text: 'All my tickets' }),
      document.createTextNode(' · '),
      el('a', { href: '/events/' + booking.event_id, text: 'Back to the event' }),
    ]));
  };

  // While the booking can be paid: the time left on the seats' hold, and a button to
  // the payment page (pending), or to pay again after a declined card.
  Booking.prototype.payPanel = function (booking, date) {
    var self = this;
    var now = Date.now();
    var deadline = now + Date.parse(booking.pay_by) - (date ? date + 500 : now);
    var clock = el('strong', { class: 'countdown', role: 'timer', 'aria-label': 'Time left to pay' });
    var again = booking.status === 'cancelled';
    var button = el('button', { type: 'button', class: 'primary', text: again ? 'Pay again' : 'Continue to payment' });
    button.addEventListener('click', function () { self.pay(booking, button); });
    var panel = el('div', { class: 'pay-panel' }, [
      el('p', {}, [document.createTextNode('Your seats are held for you for '), clock, document.createTextNode('.')]),
      el('div', { class: 'actions' }, [button]),
    ]);
    var tick = function () {
      var left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
      clock.textContent = clockText(left);
      if (left <= 60) clock.classList.add('warning');
      if (left === 0) {
        clearInterval(self.ticker);
        panel.textContent = '';
        panel.appendChild(el('p', { text: 'The hold ended: the seats went back on sale.' }));
      }
    };
    tick();
    this.ticker = setInterval(tick, 1000);
    return panel;
  };

  Booking.prototype.pay = function (booking, button) {
    var self = this;
    var go = function (target) { window.location.href = paymentPage(target); };
    if (booking.status === 'pending' && booking.payment_url) return go(booking);
    button.disabled = true;
    api('POST', '/v1/holds/' + encodeURIComponent(booking.hold_id) + '/checkout', {}, { 'Idempotency-Key': newKey() })
      .then(function (answer) {
        button.disabled = false;
        if (!answer.ok) return refuse(self.message, answer, button);
        go(answer.body);
      });
  };

  // The calendar file comes with the buyer's token, so it is fetched and handed to the
  // browser as a download.
  Booking.prototype.calendar = function (button) {
    var self = this;
    var current = session();
    if (!current) return;
    button.disabled = true;
    fetch('/v1/bookings/' + encodeURIComponent(this.id) + '/calendar.ics', { headers: { Authorization: 'Bearer ' + current.token } })
      .then(function (response) {
        if (!response.ok) throw new Error('the calendar file is not available (' + response.status + ')');
        return response.blob();
      })
      .then(function (blob) {
        button.disabled = false;
        var link = el('a', { href: URL.createObjectURL(blob), download: 'onsale-' + self.id + '.ics' });
        document.body.appendChild(link);
        link.click();
        link.remove();
      }, function (error) {
        button.disabled = false;
        say(self.message, 'Could not get the calendar file: ' + error.message + '.', 'error');
      });
  };

  // ---- My tickets ----------------------------------------------------------------------------

  function MyTickets(root) {
    this.root = root;
    this.accountBox = el('div', { class: 'account-box' });
    this.view = el('div', { class: 'my-bookings' });
    root.textContent = '';
    root.appendChild(this.accountBox);
    root.appendChild(this.view);
    var self = this;
    account(this.accountBox, function () { self.load(1); });
    this.load(1);
  }

  MyTickets.prototype.load = function (page) {
    var self = this;
    if (!session()) {
      this.view.textContent = 'Sign in to see your tickets.';
      return;
    }
    api('GET', '/v1/me/bookings?page=' + page + '&page_size=20').then(function (answer) {
      self.view.textContent = '';
      if (!answer.ok) {
        self.view.appendChild(el('p', { class: 'notice error', text: answer.body.error.message }));
        return;
      }
      var bookings = answer.body;
      if (!bookings.items.length) {
        self.view.appendChild(el('p', {}, [
          document.createTextNode('No bookings yet. '),
          el('a', { href: '/', text: 'Find an event' }),
        ]));
        return;
      }
      var list = el('ul', { class: 'bookings' });
      bookings.items.forEach(function (booking) {
        list.appendChild(el('li', { class: 'booking-card', 'data-status': booking.status }, [
          el('a', { href: '/bookings/' + encodeURIComponent(booking.booking_id), class: 'booking-link', text: booking.event.name }),
          el('p', { class: 'when', text: localWhen(booking.event.starts_at, booking.event.time_zone_abbreviation) }),
          el('p', { class: 'where', text: booking.event.venue + ', ' + booking.event.city }),
          el('p', { class: 'meta', text: booking.items.map(seatWords).join('; ') }),
          el('p', { class: 'meta', text: 'Order ' + booking.order_code + ' · ' + money(booking.total, booking.currency) + ' · ' + STATUS_WORDS[booking.status] }),
        ]));
      });
      self.view.appendChild(list);
      var pages = Math.max(1, Math.ceil(bookings.total / bookings.page_size));
      if (pages > 1) {
        var nav = el('nav', { class: 'pages', 'aria-label': 'Pages' });
        if (page > 1) nav.appendChild(el('button', { type: 'button', class: 'link', text: '← Newer', onclick: function () { self.load(page - 1); } }));
        nav.appendChild(el('span', { text: 'Page ' + page + ' of ' + pages }));
        if (page < pages) nav.appendChild(el('button', { type: 'button', class: 'link', text: 'Older →', onclick: function () { self.load(page + 1); } }));
        self.view.appendChild(nav);
      }
    });
  };

  var STATUS_WORDS = { pending: 'waiting for payment', completed: 'paid', cancelled: 'cancelled' };

  // The seat map drawn from a seat list alone (`seats` as `GET /v1/events/{id}/seats`
  // lists them, `places` its sections' positions), with no account, hold or live feed:
  // the operator console's preview of a seat map as it is made.
  function previewSeatMap(root, seats, places, currency) {
    var map = Object.create(SeatMap.prototype);
    map.root = root;
    map.currency = currency;
    map.preview = true;
    map.seats = [];
    map.byId = {};
    map.selected = [];
    map.hold = null;
    map.holding = [];
    map.legend = el('ul', { class: 'legend', 'aria-label': 'Legend' });
    map.figure = el('div', { class: 'seatmap-scroll' });
    root.textContent = '';
    root.appendChild(map.legend);
    root.appendChild(map.figure);
    if (seats.length) map.draw(seats, places || []);
    return map;
  }

  // What the operator console's script (console.js, loaded after this one) shares.
  window.onsale = { previewSeatMap: previewSeatMap, money: money, el: el, svg: svg };

  // ---- start ----------------------------------------------------------------------------

  var seatmap = document.getElementById('seatmap');
  if (seatmap) new SeatMap(seatmap);
  var queue = document.getElementById('queue');
  if (queue) new Queue(queue);
  var booking = document.getElementById('booking');
  if (booking) new Booking(booking);
  var tickets = document.getElementById('my-tickets');
  if (tickets) new MyTickets(tickets);
  var accountSlot = document.getElementById('header-account');
  if (accountSlot) header = new Header(accountSlot);
})();
