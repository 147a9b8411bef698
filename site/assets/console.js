// The operator console in the browser: sign-in (and the new password a one-time password
// leads to), the event list, the event form with its seat-map editor (sections, rows,
// prices, places around the stage, CSV import) and a live preview drawn by the buyer
// site's seat-map code (`window.onsale.previewSeatMap`), publishing, the picture, the
// waiting room, sales with a chart that follows the change log, orders and refunds, the
// attendee list, door check-in (the camera reads QR codes where the browser has
// BarcodeDetector; short codes are typed), the team and the audit trail.
// Plain JavaScript, served by the coordinator at /static/console.{hash}.js on the pages of
// `/operator`, after the buyer site's script, whose helpers and seat map it uses. Every change goes through the
// operator API; its errors are shown next to the field they name.
(function () {
  'use strict';

  var TOKEN_KEY = 'onsale.operator';
  var LIVE_MS = 2000;

  // ---- small helpers ------------------------------------------------------------------

  // The buyer site's script (onsale.js, loaded first on every console page) lends its
  // helpers and its seat map.
  var site = window.onsale;
  var el = site.el;
  var svg = site.svg;
  var money = site.money;

  function $(selector, root) { return (root || document).querySelector(selector); }

  // "45", "45.5" or "45.50" in `currency` as minor units, or null.
  function minorUnits(text, currency) {
    var value = String(text || '').trim().replace(',', '.');
    if (!/^\d+(\.\d{1,2})?$/.test(value)) return null;
    var parts = value.split('.');
    if (currency === 'JPY') return parts[1] ? null : parseInt(parts[0], 10);
    return parseInt(parts[0], 10) * 100 + parseInt(((parts[1] || '') + '00').slice(0, 2), 10);
  }

  function majorUnits(minor, currency) {
    if (currency === 'JPY') return String(minor);
    return Math.floor(minor / 100) + '.' + String(minor % 100).padStart(2, '0');
  }

  function when(iso) {
    if (!iso) return '';
    var date = new Date(iso);
    return isNaN(date) ? iso : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  // The offset from UTC, in minutes, of `zone` at the instant `utc` (milliseconds).
  function zoneOffset(zone, utc) {
    var parts = {};
    new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    }).formatToParts(new Date(utc)).forEach(function (part) { parts[part.type] = part.value; });
    var asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24, +parts.minute, +parts.second);
    return Math.round((asUtc - utc) / 60000);
  }

  // A wall-clock time at the venue (`2027-05-01T19:30`) in `zone` as an RFC 3339
  // instant, or null when it does not read. Throws a RangeError for an unknown zone.
  function venueInstant(local, zone) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local || '');
    if (!m) return null;
    var wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
    var offset = zoneOffset(zone, wall);
    var instant = wall - offset * 60000;
    var settled = zoneOffset(zone, instant);
    if (settled !== offset) instant = wall - settled * 60000;
    return new Date(instant).toISOString().replace('.000Z', 'Z');
  }

  // The browser's own wall-clock time for a datetime-local field, and back.
  function browserLocal(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    var pad = function (n) { return String(n).padStart(2, '0'); };
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' + pad(d.getMinutes());
  }

  // ---- session and API ----------------------------------------------------------------

  function session() {
    try {
      var stored = JSON.parse(localStorage.getItem(TOKEN_KEY) || 'null');
      if (stored && new Date(stored.expires_at) > new Date()) return stored;
    } catch (e) { /* a damaged entry is no session */ }
    localStorage.removeItem(TOKEN_KEY);
    return null;
  }

  function signInAgain() {
    localStorage.removeItem(TOKEN_KEY);
    window.location.assign('/operator/sign-in?next=' + encodeURIComponent(window.location.pathname + window.location.search));
  }

  // Calls the API; `body` is sent as JSON, or as it is when it is a Blob or a string
  // (with `type`). Answers {ok, status, body}; a refused token leads to the sign-in page.
  function api(method, path, body, type) {
    var headers = {};
    var current = session();
    if (current) headers.Authorization = 'Bearer ' + current.token;
    var payload;
    if (body instanceof Blob || typeof body === 'string') {
      payload = body;
      headers['Content-Type'] = type || body.type || 'application/octet-stream';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    return fetch(path, { method: method, headers: headers, body: payload }).then(function (response) {
      var kind = response.headers.get('content-type') || '';
      var read = kind.indexOf('json') >= 0 ? response.json() : response.text();
      return read.then(function (data) {
        if (response.status === 401 && path !== '/v1/operator/sessions' && path !== '/v1/operator/me/password') signInAgain();
        if (response.status === 403 && data && data.error && data.error.code === 'password_change_required') signInAgain();
        return { ok: response.ok, status: response.status, body: data };
      });
    }, function () {
      return { ok: false, status: 0, body: { error: { code: 'network', message: 'The coordinator cannot be reached; check the connection and try again.' } } };
    });
  }

  function errorOf(answer) {
    return (answer.body && answer.body.error) || { message: 'Something went wrong (' + answer.status + ').' };
  }

  // ---- forms --------------------------------------------------------------------------

  function formMessage(form, text, kind) {
    var box = $('[data-form-message]', form);
    if (!box) return;
    box.hidden = !text;
    box.textContent = text || '';
    box.className = 'notice' + (kind ? ' ' + kind : '');
  }

  function clearErrors(form) {
    form.querySelectorAll('.field-error').forEach(function (p) { p.hidden = true; p.textContent = ''; });
    form.querySelectorAll('[aria-invalid]').forEach(function (input) { input.removeAttribute('aria-invalid'); });
    formMessage(form, '');
  }

  // Shows an API error next to the field its `field` path names (`map` turns a path
  // into the name of the place for it), or above the form's button.
  function showError(form, error, map) {
    var path = error.field ? (map ? map(error.field) : error.field) : null;
    var slot = path && form.querySelector('[data-error-for="' + path.replace(/"/g, '') + '"]');
    if (!slot) return formMessage(form, error.message, 'error');
    slot.textContent = error.message;
    slot.hidden = false;
    var input = slot.parentNode.querySelector('input, textarea, select');
    if (input) { input.setAttribute('aria-invalid', 'true'); input.focus(); }
    slot.scrollIntoView({ block: 'center' });
  }

  function fieldError(form, path, message) {
    showError(form, { field: path, message: message });
  }

  function busy(form, on) {
    form.querySelectorAll('button[type=submit]').forEach(function (b) { b.disabled = on; });
  }

  // ---- header -------------------------------------------------------------------------

  function renderHeader(current) {
    var slot = $('#console-operator');
    if (!slot || !current) return;
    var who = current.operator;
    slot.textContent = '';
    slot.appendChild(el('span', { class: 'who', text: who.name + ' · ' + who.role }));
    slot.appendChild(el('button', {
      type: 'button', class: 'link', text: 'Sign out',
      onclick: function () {
        api('DELETE', '/v1/operator/sessions').then(function () {
          localStorage.removeItem(TOKEN_KEY);
          window.location.assign('/operator/sign-in');
        });
      },
    }));
    document.body.classList.add('role-' + who.role);
  }

  function isAdmin() {
    var current = session();
    return !!current && current.operator.role === 'admin';
  }

  // A staff member reads but does not change: the forms that change things are
  // disabled, with a word why.
  function readOnlyForStaff(form) {
    if (isAdmin()) return;
    form.querySelectorAll('input, textarea, select, button').forEach(function (c) { c.disabled = true; });
    formMessage(form, 'Read only: changing this needs an admin.', 'info');
  }

  // ---- sign-in ------------------------------------------------------------------------

  function SignIn() {
    var form = $('#sign-in');
    var change = $('#password-change');
    var next = new URLSearchParams(window.location.search).get('next');
    var onward = function () {
      window.location.assign(next && next.indexOf('/operator') === 0 ? next : '/operator');
    };
    var password = '';
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      clearErrors(form);
      busy(form, true);
      password = form.password.value;
      api('POST', '/v1/operator/sessions', { name: form.name.value.trim(), password: password }).then(function (answer) {
        busy(form, false);
        if (!answer.ok) return showError(form, errorOf(answer));
        localStorage.setItem(TOKEN_KEY, JSON.stringify(answer.body));
        if (!answer.body.operator.password_change_required) return onward();
        form.hidden = true;
        change.hidden = false;
        change.new_password.focus();
      });
    });
    change.addEventListener('submit', function (e) {
      e.preventDefault();
      clearErrors(change);
      busy(change, true);
      api('PUT', '/v1/operator/me/password', { current_password: password, new_password: change.new_password.value })
        .then(function (answer) {
          busy(change, false);
          if (!answer.ok) return showError(change, errorOf(answer));
          localStorage.setItem(TOKEN_KEY, JSON.stringify(answer.body));
          onward();
        });
    });
    form.name.focus();
  }

  // ---- the event list -----------------------------------------------------------------

  function EventList() {
    var box = $('#event-list');
    var load = function (page) {
      api('GET', '/v1/operator/events?page=' + page + '&page_size=50').then(function (answer) {
        box.textContent = '';
        if (!answer.ok) return box.appendChild(el('p', { class: 'notice error', text: errorOf(answer).message }));
        var events = answer.body;
        if (!events.items.length) {
          return box.appendChild(el('p', {}, ['No events yet. ', el('a', { href: '/operator/events/new', text: 'Make the first one' }), '.']));
        }
        var rows = events.items.map(function (event) {
          return el('tr', { 'data-event': String(event.id) }, [
            el('td', {}, [el('a', { href: '/operator/events/' + event.id, text: event.name })]),
            el('td', { text: event.starts_at.slice(0, 16).replace('T', ' ') + ' ' + event.time_zone_abbreviation }),
            el('td', { text: event.venue + ', ' + event.city }),
            el('td', {}, [el('span', { class: 'badge ' + (event.published ? 'published' : 'draft'), text: event.published ? 'On sale' : 'Draft' })]),
            el('td', { class: 'number', text: String(event.seat_count) }),
            el('td', {}, [el('a', { href: '/operator/events/' + event.id + '/sales', text: 'Sales' })]),
          ]);
        });
        box.appendChild(el('table', {}, [
          el('thead', {}, [el('tr', {}, ['Event', 'Starts', 'Where', 'State', 'Seats', ''].map(function (h) { return el('th', { text: h }); }))]),
          el('tbody', {}, rows),
        ]));
        box.appendChild(pager(events, load));
      });
    };
    load(1);
  }

  function pager(page, load) {
    var pages = Math.max(1, Math.ceil(page.total / page.page_size));
    var nav = el('nav', { class: 'pages', 'aria-label': 'Pages' });
    if (pages < 2) return nav;
    if (page.page > 1) nav.appendChild(el('button', { type: 'button', class: 'link', text: '← Previous', onclick: function () { load(page.page - 1); } }));
    nav.appendChild(el('span', { text: 'Page ' + page.page + ' of ' + pages }));
    if (page.page < pages) nav.appendChild(el('button', { type: 'button', class: 'link', text: 'Next →', onclick: function () { load(page.page + 1); } }));
    return nav;
  }

  // ---- the event form and the seat-map editor -----------------------------------------

  // Places around the stage (on the 100 x 100 plan of the buyer's overview, the stage
  // at the top), as the demo arena uses them.
  var PLACES = [
    ['', 'Automatic'],
    ['floor', 'Floor, before the stage', [30, 10, 40, 32]],
    ['left', 'Left of the stage', [2, 10, 26, 42]],
    ['right', 'Right of the stage', [72, 10, 26, 42]],
    ['centre', 'Facing the stage', [30, 44, 40, 18]],
    ['upper-left', 'Upper left', [2, 54, 26, 30]],
    ['upper-centre', 'Upper, facing the stage', [30, 64, 40, 20]],
    ['upper-right', 'Upper right', [72, 54, 26, 30]],
    ['back', 'At the back', [10, 86, 80, 13]],
  ];

  function placeOf(position) {
    if (!position) return '';
    var found = PLACES.filter(function (p) {
      return p[2] && p[2][0] === position.x && p[2][1] === position.y && p[2][2] === position.width && p[2][3] === position.height;
    })[0];
    return found ? found[0] : '';
  }

  // Where an error of the event API is shown: `performers[2]` by the performers field,
  // anything in a section's rows by its rows.
  function eventFieldSlot(path) {
    if (/^performers\[/.test(path)) return 'performers';
    var section = /^seat_map\.sections\[(\d+)\]\.?([a-z_]*)/.exec(path);
    if (section) {
      var field = ['id', 'name', 'price', 'position'].indexOf(section[2]) >= 0 ? section[2] : 'rows';
      return 'seat_map.sections[' + section[1] + '].' + field;
    }
    return path;
  }

  function EventForm(form, id) {
    this.form = form;
    this.id = id;
    this.sections = [];
    this.editor = $('#sections', form);
    this.preview = $('#seatmap-preview');
    this.event = null;
    var self = this;
    fillTimeZones();
    form.addEventListener('submit', function (e) { e.preventDefault(); self.submit(); });
    if (this.editor) {
      $('#add-section', form).addEventListener('click', function () {
        var n = self.sections.length + 1;
        self.sections.push({ id: 'S' + n, name: 'Section ' + n, price: '', place: '', rows: 'A 10' });
        self.renderSections();
        self.editor.lastChild.querySelector('input').focus();
      });
      $('#seat-csv', form).addEventListener('change', function (e) { self.importCsv(e.target.files[0]); });
      form.currency.addEventListener('input', function () { self.drawPreview(); });
      this.sections.push({ id: 'FLR', name: 'Floor', price: '', place: '', rows: 'A 10\nB 10' });
      this.renderSections();
    }
  }

  EventForm.prototype.currency = function () {
    return (this.form.currency.value || 'EUR').trim().toUpperCase();
  };

  // The form's details as the API takes them, or null after showing what is wrong.
  EventForm.prototype.details = function () {
    var f = this.form;
    var zone = f.time_zone.value.trim();
    var startsAt;
    try {
      startsAt = venueInstant(f.starts_at.value, zone || 'UTC');
    } catch (e) {
      fieldError(f, 'time_zone', 'Unknown time zone: use a name such as Europe/Berlin.');
      return null;
    }
    if (!startsAt) {
      fieldError(f, 'starts_at', 'Give the date and time the event starts.');
      return null;
    }
    var details = {
      name: f.name.value.trim(),
      category: f.category.value.trim(),
      description: f.description.value,
      performers: f.performers.value.split(',').map(function (p) { return p.trim(); }).filter(Boolean),
      venue: f.venue.value.trim(),
      city: f.city.value.trim(),
      starts_at: startsAt,
      currency: this.currency(),
      image_url: this.event ? this.event.image_url : '',
    };
    if (zone) details.time_zone = zone;
    if (f.max_seats_per_account.value) details.max_seats_per_account = parseInt(f.max_seats_per_account.value, 10);
    return details;
  };

  EventForm.prototype.fill = function (event) {
    var f = this.form;
    this.event = event;
    f.name.value = event.name;
    f.category.value = event.category;
    f.description.value = event.description;
    f.performers.value = event.performers.join(', ');
    f.venue.value = event.venue;
    f.city.value = event.city;
    f.starts_at.value = event.starts_at.slice(0, 16);
    f.time_zone.value = event.time_zone;
    f.currency.value = event.currency;
    f.currency.readOnly = true;
    f.max_seats_per_account.value = event.max_seats_per_account;
  };

  // The sections as the API takes them, or null after showing what is wrong.
  EventForm.prototype.seatMap = function (quiet) {
    var currency = this.currency();
    var form = this.form;
    var sections = [];
    var fail = function (path, message) { if (!quiet) fieldError(form, path, message); return null; };
    for (var i = 0; i < this.sections.length; i++) {
      var s = this.sections[i];
      var at = 'seat_map.sections[' + i + '].';
      var price = minorUnits(s.price, currency);
      if (price === null) return fail(at + 'price', 'Give the section\'s price, such as 45.00.');
      var rows = [];
      var lines = s.rows.split('\n').map(function (l) { return l.trim(); }).filter(Boolean);
      for (var r = 0; r < lines.length; r++) {
        var words = lines[r].split(/\s+/);
        var seats = parseInt(words[1], 10);
        if (words.length < 2 || words.length > 3 || !(seats > 0) || String(seats) !== words[1]) {
          return fail(at + 'rows', 'Line ' + (r + 1) + ' should read "A 20": a row name and its number of seats (and a price if the row has its own).');
        }
        var row = { name: words[0], seats: seats };
        if (words[2] !== undefined) {
          var own = minorUnits(words[2], currency);
          if (own === null) return fail(at + 'rows', 'Line ' + (r + 1) + ': "' + words[2] + '" is not a price.');
          row.price = own;
        }
        rows.push(row);
      }
      if (!rows.length) return fail(at + 'rows', 'Give the section at least one row.');
      var section = { id: s.id.trim(), name: s.name.trim(), price: price, rows: rows };
      var place = PLACES.filter(function (p) { return p[0] === s.place; })[0];
      if (place && place[2]) section.position = { x: place[2][0], y: place[2][1], width: place[2][2], height: place[2][3] };
      sections.push(section);
    }
    if (!sections.length) return fail('seat_map.sections', 'Add at least one section.');
    return { sections: sections };
  };

  EventForm.prototype.renderSections = function () {
    var self = this;
    this.editor.textContent = '';
    this.sections.forEach(function (s, i) {
      var at = 'seat_map.sections[' + i + '].';
      var input = function (key, label, attrs) {
        var control = el('input', Object.assign({ id: 'f-section-' + i + '-' + key, value: s[key] }, attrs || {}));
        control.addEventListener('input', function () { s[key] = control.value; self.drawPreview(); });
        return el('div', { class: 'field' }, [
          el('label', { for: control.id, text: label }), control,
          el('p', { class: 'field-error', 'data-error-for': at + key, role: 'alert', hidden: '' }),
        ]);
      };
      var place = el('select', { id: 'f-section-' + i + '-place' }, PLACES.map(function (p) {
        var option = el('option', { value: p[0], text: p[1] });
        if (p[0] === s.place) option.selected = true;
        return option;
      }));
      place.addEventListener('change', function () { s.place = place.value; self.drawPreview(); });
      var rows = el('textarea', { id: 'f-section-' + i + '-rows', rows: '4', spellcheck: 'false' });
      rows.value = s.rows;
      rows.addEventListener('input', function () { s.rows = rows.value; self.drawPreview(); });
      var count = el('input', { type: 'number', min: '1', max: '200', value: '5', 'aria-label': 'Rows', class: 'small' });
      var width = el('input', { type: 'number', min: '1', max: '500', value: '20', 'aria-label': 'Seats per row', class: 'small' });
      var fill = el('button', {
        type: 'button', class: 'secondary', text: 'Fill',
        onclick: function () {
          var lines = [];
          for (var r = 0; r < Math.min(200, parseInt(count.value, 10) || 0); r++) lines.push(rowName(r) + ' ' + (parseInt(width.value, 10) || 1));
          rows.value = s.rows = lines.join('\n');
          self.drawPreview();
        },
      });
      var remove = el('button', {
        type: 'button', class: 'link danger', text: 'Remove the section',
        onclick: function () { self.sections.splice(i, 1); self.renderSections(); },
      });
      self.editor.appendChild(el('div', { class: 'section-editor', 'data-section-index': String(i) }, [
        el('div', { class: 'grid' }, [
          input('id', 'Code', { maxlength: '16', class: 'small' }),
          input('name', 'Name'),
          input('price', 'Price', { inputmode: 'decimal', class: 'small', placeholder: '45.00' }),
          el('div', { class: 'field' }, [
            el('label', { for: place.id, text: 'Place' }), place,
            el('p', { class: 'field-error', 'data-error-for': at + 'position', role: 'alert', hidden: '' }),
          ]),
        ]),
        el('div', { class: 'field' }, [
          el('label', { for: rows.id, text: 'Rows (one per line: name, seats, own price)' }), rows,
          el('p', { class: 'field-error', 'data-error-for': at + 'rows', role: 'alert', hidden: '' }),
        ]),
        el('div', { class: 'row-of-buttons' }, [count, el('span', { text: 'rows of' }), width, el('span', { text: 'seats' }), fill, remove]),
      ]));
    });
    this.drawPreview();
  };

  // Redraws the preview with the buyer site's seat map, from the editor as it is now
  // (skipping what does not read yet).
  EventForm.prototype.drawPreview = function () {
    if (!this.preview) return;
    var map = this.seatMap(true);
    var seats = [];
    var places = [];
    (map ? map.sections : []).forEach(function (section) {
      if (section.position) places.push({ name: section.name, position: section.position });
      section.rows.forEach(function (row) {
        for (var n = 1; n <= row.seats; n++) {
          seats.push({
            seat_id: section.id + '-' + row.name + '-' + n, section: section.name, row: row.name, number: n,
            price: row.price === undefined ? section.price : row.price, state: 'available',
          });
        }
      });
    });
    site.previewSeatMap(this.preview, seats, places, this.currency());
    this.preview.setAttribute('data-seats', String(seats.length));
  };

  EventForm.prototype.importCsv = function (file) {
    var self = this;
    if (!file) return;
    clearErrors(this.form);
    file.text().then(function (text) {
      return api('POST', '/v1/operator/seat-maps/from-csv', text, 'text/csv');
    }).then(function (answer) {
      $('#seat-csv', self.form).value = '';
      if (!answer.ok) {
        var error = errorOf(answer);
        return fieldError(self.form, 'csv', (error.field ? error.field + ': ' : '') + error.message);
      }
      var currency = self.currency();
      self.sections = answer.body.sections.map(function (section) {
        return {
          id: section.id, name: section.name, price: majorUnits(section.price, currency),
          place: placeOf(section.position),
          rows: section.rows.map(function (row) {
            return row.name + ' ' + row.seats + (row.price === undefined || row.price === null ? '' : ' ' + majorUnits(row.price, currency));
          }).join('\n'),
        };
      });
      self.renderSections();
      formMessage(self.form, 'Imported ' + self.sections.length + ' sections from ' + file.name + '.', 'success');
    });
  };

  EventForm.prototype.submit = function () {
    var self = this;
    var form = this.form;
    clearErrors(form);
    var details = this.details();
    if (!details) return;
    var body = details;
    if (!this.id) {
      var map = this.seatMap(false);
      if (!map) return;
      body = Object.assign({}, details, { published: false, seat_map: map });
    }
    busy(form, true);
    var call = this.id ? api('PUT', '/v1/operator/events/' + this.id, body) : api('POST', '/v1/operator/events', body);
    call.then(function (answer) {
      busy(form, false);
      if (!answer.ok) return showError(form, errorOf(answer), eventFieldSlot);
      if (!self.id) return window.location.assign('/operator/events/' + answer.body.id + '?created=1');
      self.fill(answer.body);
      formMessage(form, 'Saved.', 'success');
    });
  };

  // Row names A, B, … Z, AA, AB, …
  function rowName(index) {
    var name = '';
    index += 1;
    while (index > 0) {
      var rest = (index - 1) % 26;
      name = String.fromCharCode(65 + rest) + name;
      index = Math.floor((index - 1) / 26);
    }
    return name;
  }

  function fillTimeZones() {
    var list = $('#time-zones');
    if (!list || !Intl.supportedValuesOf) return;
    Intl.supportedValuesOf('timeZone').forEach(function (zone) { list.appendChild(el('option', { value: zone })); });
  }

  function eventId() {
    var m = /^\/operator\/events\/(\d+)/.exec(window.location.pathname);
    return m ? parseInt(m[1], 10) : null;
  }

  function NewEvent() {
    var editor = new EventForm($('#event-form'), null);
    readOnlyForStaff(editor.form);
    editor.form.name.focus();
  }

  // ---- one event: details, publishing, picture, waiting room, seat map ----------------

  function EventPage() {
    var id = eventId();
    var editor = new EventForm($('#event-form'), id);
    var publish = $('#publish');
    var state = $('#event-state');
    var show = function (event) {
      editor.fill(event);
      $('#event-title').textContent = event.name;
      document.title = event.name + ' · onsale console';
      state.textContent = event.published ? 'On sale' : 'Draft: buyers do not see it';
      state.className = 'badge ' + (event.published ? 'published' : 'draft');
      publish.hidden = !isAdmin();
      publish.textContent = event.published ? 'Unpublish' : 'Publish';
      var image = $('#event-image');
      image.hidden = !event.image_url;
      if (event.image_url) image.src = event.image_url;
    };
    if (new URLSearchParams(window.location.search).get('created')) {
      formMessage(editor.form, 'Created as a draft: publish it when it is ready to sell.', 'success');
    }
    api('GET', '/v1/operator/events/' + id).then(function (answer) {
      if (!answer.ok) return formMessage(editor.form, errorOf(answer).message, 'error');
      show(answer.body);
      readOnlyForStaff(editor.form);
    });
    publish.addEventListener('click', function () {
      var details = editor.details();
      if (!details) return;
      details.published = !editor.event.published;
      publish.disabled = true;
      api('PUT', '/v1/operator/events/' + id, details).then(function (answer) {
        publish.disabled = false;
        if (!answer.ok) return showError(editor.form, errorOf(answer), eventFieldSlot);
        show(answer.body);
      });
    });
    imageForm(id, show);
    waitingRoomForm(id);
    api('GET', '/v1/operator/events/' + id + '/seats').then(function (answer) {
      var box = $('#seatmap-preview');
      if (!answer.ok) return box.appendChild(el('p', { class: 'notice error', text: errorOf(answer).message }));
      var seats = answer.body.seats.map(function (s) {
        return { seat_id: s.seat_id, section: s.section, row: s.row, number: s.number, price: s.price, state: s.state };
      });
      site.previewSeatMap(box, seats, answer.body.sections, editor.event ? editor.event.currency : 'EUR');
      box.setAttribute('data-seats', String(seats.length));
    });
  }

  function imageForm(id, show) {
    var form = $('#image-form');
    readOnlyForStaff(form);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      clearErrors(form);
      var file = form.image.files[0];
      if (!file) return fieldError(form, 'image', 'Choose an image file.');
      if (file.size > 10 * 1024 * 1024) return fieldError(form, 'image', 'The file is larger than 10 MB; the limit is 10 MB.');
      busy(form, true);
      formMessage(form, 'Uploading ' + file.name + '…', 'info');
      api('PUT', '/v1/operator/events/' + id + '/image', file, 'application/octet-stream').then(function (answer) {
        busy(form, false);
        if (!answer.ok) return showError(form, errorOf(answer));
        formMessage(form, 'Stored: ' + answer.body.files.map(function (f) { return f.width + ' px'; }).join(', ') + '.', 'success');
        return api('GET', '/v1/operator/events/' + id).then(function (again) { if (again.ok) show(again.body); });
      });
    });
  }

  function waitingRoomForm(id) {
    var form = $('#waiting-room-form');
    var fill = function (room) {
      var s = room.settings;
      form.enabled.checked = s.enabled;
      form.total_active_users.value = s.total_active_users;
      form.new_users_per_minute.value = s.new_users_per_minute;
      form.session_duration_seconds.value = s.session_duration_seconds;
      form.shuffle_before.value = browserLocal(s.shuffle_before);
      form.auto_threshold.value = s.auto_threshold || '';
      $('#waiting-room-state').textContent = room.queued + ' waiting, ' + room.active + ' buying now, ' + room.admitted_total + ' let in so far.';
    };
    api('GET', '/v1/operator/events/' + id + '/waiting-room').then(function (answer) {
      if (answer.ok) fill(answer.body);
      else formMessage(form, errorOf(answer).message, 'error');
      readOnlyForStaff(form);
    });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      clearErrors(form);
      var number = function (input) { return input.value === '' ? null : parseInt(input.value, 10); };
      var settings = {
        enabled: form.enabled.checked,
        total_active_users: number(form.total_active_users),
        new_users_per_minute: number(form.new_users_per_minute),
        session_duration_seconds: number(form.session_duration_seconds),
      };
      if (form.shuffle_before.value) settings.shuffle_before = new Date(form.shuffle_before.value).toISOString();
      if (form.auto_threshold.value) settings.auto_threshold = number(form.auto_threshold);
      busy(form, true);
      api('PUT', '/v1/operator/events/' + id + '/waiting-room', settings).then(function (answer) {
        busy(form, false);
        if (!answer.ok) return showError(form, errorOf(answer));
        fill(answer.body);
        formMessage(form, 'Saved.', 'success');
      });
    });
  }

  // ---- sales, orders, refunds ---------------------------------------------------------

  var STATUS_WORDS = { pending: 'Waiting for payment', completed: 'Paid', cancelled: 'Ended' };

  function SalesPage() {
    var id = eventId();
    this.id = id;
    this.position = null;
    this.query = '';
    this.page = 1;
    this.currency = 'EUR';
    var self = this;
    api('GET', '/v1/operator/events/' + id).then(function (answer) {
      if (answer.ok) {
        $('#event-title').textContent = 'Sales · ' + answer.body.name;
        document.title = 'Sales · ' + answer.body.name + ' · onsale console';
      }
    });
    $('#order-search').addEventListener('submit', function (e) {
      e.preventDefault();
      self.query = e.target.q.value.trim();
      self.loadOrders(1);
    });
    $('#attendees').addEventListener('click', function () { self.downloadAttendees(); });
    this.loadSales().then(function () { self.follow(); });
    this.loadOrders(1);
  }

  SalesPage.prototype.loadSales = function () {
    var self = this;
    return api('GET', '/v1/operator/events/' + this.id + '/sales?minutes=60').then(function (answer) {
      if (!answer.ok) {
        $('#sales-live').textContent = errorOf(answer).message;
        return;
      }
      var s = answer.body;
      self.currency = s.currency;
      self.position = s.position;
      var figures = $('#sales-figures');
      figures.textContent = '';
      [
        ['Sold', s.sold + ' of ' + s.total, 'sold'],
        ['Held now', String(s.held), 'held'],
        ['On sale', String(s.available), 'available'],
        ['Revenue', money(s.revenue, s.currency), 'revenue'],
        ['Refunded', money(s.refunded, s.currency), 'refunded'],
        ['Orders paid', String(s.bookings.completed), 'completed'],
        ['Awaiting payment', String(s.bookings.pending), 'pending'],
        ['Checked in', s.checked_in + ' of ' + s.sold, 'checked-in'],
      ].forEach(function (f) {
        figures.appendChild(el('div', { 'data-figure': f[2] }, [el('dt', { text: f[0] }), el('dd', { text: f[1] })]));
      });
      var tiers = $('#tiers tbody');
      tiers.textContent = '';
      s.by_tier.forEach(function (t) {
        tiers.appendChild(el('tr', {}, [
          el('td', { text: money(t.price, s.currency) }), el('td', { text: t.sections.join(', ') }),
          el('td', { class: 'number', text: String(t.seats) }), el('td', { class: 'number', text: String(t.sold) }),
          el('td', { class: 'number', text: money(t.revenue, s.currency) }),
        ]));
      });
      drawChart($('#sales-chart'), s.per_minute);
    });
  };

  // Follows the change log: when a change of this event arrives, the figures are read
  // again; the chart therefore moves as seats sell.
  SalesPage.prototype.follow = function () {
    var self = this;
    var status = $('#sales-live');
    var tick = function () {
      var after = self.position ? '&after=' + self.position : '';
      api('GET', '/v1/changes?limit=1000' + after).then(function (answer) {
        if (!answer.ok) {
          status.textContent = 'Live updates paused: ' + errorOf(answer).message;
          return setTimeout(tick, LIVE_MS * 3);
        }
        status.textContent = 'Live: updated ' + new Date().toLocaleTimeString();
        var entries = answer.body;
        if (entries.length) self.position = entries[entries.length - 1].position;
        var ours = entries.some(function (entry) {
          return entry.event_id === self.id;
        });
        var next = ours ? self.loadSales().then(function () { if (!$('#order-detail').hidden) self.reloadDetail(); }) : Promise.resolve();
        next.then(function () { setTimeout(tick, LIVE_MS); });
      });
    };
    tick();
  };

  SalesPage.prototype.loadOrders = function (page) {
    var self = this;
    this.page = page;
    var q = this.query ? '&q=' + encodeURIComponent(this.query) : '';
    api('GET', '/v1/operator/events/' + this.id + '/orders?page=' + page + '&page_size=25' + q).then(function (answer) {
      var body = $('#orders tbody');
      body.textContent = '';
      var nav = $('#orders-pages');
      nav.textContent = '';
      if (!answer.ok) return body.appendChild(el('tr', {}, [el('td', { colspan: '6', text: errorOf(answer).message })]));
      if (!answer.body.items.length) {
        body.appendChild(el('tr', {}, [el('td', { colspan: '6', text: self.query ? 'No order matches "' + self.query + '".' : 'No orders yet.' })]));
      }
      answer.body.items.forEach(function (order) {
        body.appendChild(el('tr', { 'data-booking': order.booking_id }, [
          el('td', {}, [el('button', { type: 'button', class: 'link', text: order.order_code, onclick: function () { self.showDetail(order.booking_id); } })]),
          el('td', { text: order.buyer + ' <' + order.email + '>' }),
          el('td', { text: order.seats.join('; ') }),
          el('td', { class: 'number', text: money(order.total, order.currency) }),
          el('td', { text: STATUS_WORDS[order.status] + (order.refund ? ' · refund ' + order.refund : '') }),
          el('td', { text: when(order.created_at) }),
        ]));
      });
      nav.appendChild(pager(answer.body, function (p) { self.loadOrders(p); }));
    });
  };

  SalesPage.prototype.reloadDetail = function () {
    if (this.shown) this.showDetail(this.shown);
  };

  SalesPage.prototype.showDetail = function (bookingId) {
    var self = this;
    this.shown = bookingId;
    var box = $('#order-detail');
    api('GET', '/v1/operator/bookings/' + encodeURIComponent(bookingId)).then(function (answer) {
      box.hidden = false;
      box.textContent = '';
      if (!answer.ok) return box.appendChild(el('p', { class: 'notice error', text: errorOf(answer).message }));
      var detail = answer.body;
      var order = detail;
      box.appendChild(el('h2', { text: 'Order ' + order.order_code }));
      box.appendChild(el('dl', { class: 'facts' }, [
        el('dt', { text: 'Buyer' }), el('dd', { text: order.buyer + ' <' + order.email + '>' }),
        el('dt', { text: 'Status' }), el('dd', { 'data-status': order.status, text: STATUS_WORDS[order.status] + (order.refund ? ' · refund ' + order.refund : '') + (order.cancel_reason ? ' (' + order.cancel_reason + ')' : '') }),
        el('dt', { text: 'Total' }), el('dd', { text: money(order.total, order.currency) }),
        el('dt', { text: 'Booked' }), el('dd', { text: when(order.created_at) }),
        el('dt', { text: 'Payment' }), el('dd', { text: detail.payment_id || '—' }),
      ]));
      box.appendChild(el('table', {}, [
        el('thead', {}, [el('tr', {}, ['Seat', 'Short code', 'Admitted'].map(function (h) { return el('th', { text: h }); }))]),
        el('tbody', {}, detail.tickets.map(function (t) {
          return el('tr', {}, [
            el('td', { text: t.seat_label }), el('td', { class: 'code', text: t.short_code }),
            el('td', { text: t.checked_in_at ? when(t.checked_in_at) + ' by ' + t.checked_in_by.name : '—' }),
          ]);
        })),
      ]));
      var message = el('p', { class: 'notice', role: 'alert', hidden: '' });
      box.appendChild(message);
      if (isAdmin() && order.status === 'completed' && !order.refund) {
        var reason = el('input', { id: 'refund-reason', maxlength: '500', placeholder: 'Such as: the show is cancelled' });
        box.appendChild(el('div', { class: 'field' }, [el('label', { for: 'refund-reason', text: 'Reason, told to the buyer (optional)' }), reason]));
        box.appendChild(el('button', {
          type: 'button', class: 'danger', id: 'refund', text: 'Refund the whole order (' + money(order.total, order.currency) + ')',
          onclick: function (e) {
            if (!window.confirm('Refund order ' + order.order_code + ' to ' + order.buyer + '? Its seats go back on sale and its tickets stop working.')) return;
            e.target.disabled = true;
            var request = reason.value.trim() ? { reason: reason.value.trim() } : {};
            api('POST', '/v1/operator/bookings/' + encodeURIComponent(bookingId) + '/refund', request).then(function (answer) {
              if (!answer.ok) {
                e.target.disabled = false;
                message.hidden = false;
                message.className = 'notice error';
                message.textContent = errorOf(answer).message;
                return;
              }
              self.showDetail(bookingId);
              self.loadSales();
              self.loadOrders(self.page);
            });
          },
        }));
      }
      box.scrollIntoView({ block: 'nearest' });
    });
  };

  SalesPage.prototype.downloadAttendees = function () {
    var current = session();
    var id = this.id;
    fetch('/v1/operator/events/' + id + '/attendees.csv', { headers: { Authorization: 'Bearer ' + current.token } })
      .then(function (response) { return response.ok ? response.blob() : Promise.reject(response.status); })
      .then(function (blob) {
        var link = el('a', { href: URL.createObjectURL(blob), download: 'attendees-event-' + id + '.csv' });
        document.body.appendChild(link);
        link.click();
        link.remove();
      }, function (status) {
        $('#sales-live').textContent = 'The attendee list could not be read (' + status + ').';
      });
  };

  // Seats sold per minute as bars, the newest on the right, with the scale and the
  // hour it covers.
  function drawChart(box, minutes) {
    var W = 600, H = 160, left = 34, bottom = 20;
    var top = Math.max(1, Math.max.apply(null, minutes.map(function (m) { return m.seats; })));
    var total = minutes.reduce(function (sum, m) { return sum + m.seats; }, 0);
    var chart = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'sales-chart', role: 'img',
      'aria-label': total + ' seats sold in the last ' + minutes.length + ' minutes; at most ' + top + ' in one minute' });
    var step = (W - left) / Math.max(1, minutes.length);
    chart.appendChild(svg('line', { x1: left, y1: H - bottom, x2: W, y2: H - bottom, class: 'axis' }));
    chart.appendChild(svg('text', { x: left - 4, y: 12, 'text-anchor': 'end', class: 'tick', text: String(top) }));
    chart.appendChild(svg('text', { x: left - 4, y: H - bottom, 'text-anchor': 'end', class: 'tick', text: '0' }));
    minutes.forEach(function (m, i) {
      var h = (H - bottom - 8) * m.seats / top;
      if (m.seats) {
        var bar = svg('rect', { x: left + i * step + 1, y: H - bottom - h, width: Math.max(1, step - 2), height: h, class: 'bar', 'data-seats': String(m.seats) });
        bar.appendChild(svg('title', { text: new Date(m.minute).toLocaleTimeString() + ': ' + m.seats + ' seats, ' + m.revenue }));
        chart.appendChild(bar);
      }
    });
    if (minutes.length) {
      chart.appendChild(svg('text', { x: left, y: H - 4, class: 'tick', text: new Date(minutes[0].minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) }));
      chart.appendChild(svg('text', { x: W, y: H - 4, 'text-anchor': 'end', class: 'tick', text: 'now' }));
    }
    box.textContent = '';
    box.appendChild(chart);
    box.setAttribute('data-total', String(total));
  }

  // ---- door check-in ------------------------------------------------------------------

  function CheckInPage() {
    var form = $('#checkin-form');
    var result = $('#checkin-result');
    var count = $('#checkin-count');
    var select = form.event_id;
    var lastScan = { code: '', at: 0 };
    var option = function (event) {
      select.appendChild(el('option', { value: String(event.id), text: event.name + ' · ' + event.starts_at.slice(0, 10) }));
    };
    // The events starting soonest, and the one the link names (`?event=`).
    var chosen = new URLSearchParams(window.location.search).get('event');
    api('GET', '/v1/operator/events?page_size=100').then(function (answer) {
      if (answer.ok) answer.body.items.forEach(option);
      var listed = answer.ok && answer.body.items.some(function (event) { return String(event.id) === chosen; });
      return chosen && !listed ? api('GET', '/v1/operator/events/' + encodeURIComponent(chosen)) : null;
    }).then(function (answer) {
      if (answer && answer.ok) option(answer.body);
      if (chosen) select.value = chosen;
      counts();
    });
    var counts = function () {
      if (!select.value) { count.textContent = ''; return; }
      api('GET', '/v1/operator/events/' + select.value + '/checkins').then(function (answer) {
        if (answer.ok) count.textContent = answer.body.checked_in + ' of ' + answer.body.sold + ' tickets checked in.';
      });
    };
    select.addEventListener('change', counts);
    var admit = function (code) {
      var body = { code: code };
      if (select.value) body.event_id = parseInt(select.value, 10);
      busy(form, true);
      api('POST', '/v1/operator/checkins', body).then(function (answer) {
        busy(form, false);
        result.hidden = false;
        result.textContent = '';
        if (answer.ok) {
          result.className = 'checkin-result admitted';
          result.appendChild(el('strong', { text: 'Admitted' }));
          result.appendChild(el('p', { text: answer.body.seat_label }));
          result.appendChild(el('p', { text: answer.body.holder + ' · ' + answer.body.event_name + ' · order ' + answer.body.order_code }));
        } else {
          var error = errorOf(answer);
          result.className = 'checkin-result refused';
          result.appendChild(el('strong', { text: error.code === 'already_checked_in' ? 'Already checked in' : 'Not admitted' }));
          result.appendChild(el('p', { text: error.message }));
          if (error.checked_in) result.appendChild(el('p', { text: error.checked_in.seat_label + ' · ' + error.checked_in.holder }));
        }
        result.setAttribute('data-code', answer.ok ? 'admitted' : errorOf(answer).code);
        form.code.value = '';
        form.code.focus();
        counts();
      });
    };
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var code = form.code.value.trim();
      if (code) admit(code);
    });
    if ('BarcodeDetector' in window && navigator.mediaDevices) {
      var scan = $('#scan');
      var video = $('#camera');
      scan.hidden = false;
      scan.addEventListener('click', function () {
        var detector = new window.BarcodeDetector({ formats: ['qr_code'] });
        navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } }).then(function (stream) {
          video.srcObject = stream;
          video.hidden = false;
          scan.hidden = true;
          video.play();
          var look = function () {
            detector.detect(video).then(function (codes) {
              var now = Date.now();
              var code = codes[0] && codes[0].rawValue;
              // The same ticket held in front of the camera is read once.
              if (code && (code !== lastScan.code || now - lastScan.at > 3000)) {
                lastScan = { code: code, at: now };
                admit(code);
              }
            }).catch(function () { /* a frame that cannot be read is skipped */ })
              .then(function () { setTimeout(look, 250); });
          };
          look();
        }, function () {
          formMessage(form, 'The camera cannot be used here; type the ticket\'s short code.', 'error');
        });
      });
    }
    form.code.focus();
  }

  // ---- team and audit -----------------------------------------------------------------

  function TeamPage() {
    var operators = $('#operators tbody');
    var keys = $('#keys tbody');
    var me = session().operator;
    var loadOperators = function () {
      api('GET', '/v1/operator/operators').then(function (answer) {
        operators.textContent = '';
        if (!answer.ok) return operators.appendChild(el('tr', {}, [el('td', { colspan: '4', text: errorOf(answer).message })]));
        answer.body.forEach(function (o) {
          var remove = o.id === me.id ? el('span', { text: 'you' }) : el('button', {
            type: 'button', class: 'link danger', text: 'Remove',
            onclick: function () {
              if (!window.confirm('Remove ' + o.name + '? Their sessions end at once.')) return;
              api('DELETE', '/v1/operator/operators/' + encodeURIComponent(o.id)).then(loadOperators);
            },
          });
          operators.appendChild(el('tr', {}, [
            el('td', { text: o.name + (o.password_change_required ? ' (has not signed in yet)' : '') }),
            el('td', { text: o.role }), el('td', { text: when(o.created_at) }), el('td', {}, [remove]),
          ]));
        });
      });
    };
    var loadKeys = function () {
      api('GET', '/v1/operator/keys').then(function (answer) {
        keys.textContent = '';
        if (!answer.ok) return keys.appendChild(el('tr', {}, [el('td', { colspan: '5', text: errorOf(answer).message })]));
        answer.body.forEach(function (k) {
          var revoke = k.revoked_at ? null : el('button', {
            type: 'button', class: 'link danger', text: 'Revoke',
            onclick: function () {
              if (!window.confirm('Revoke the key ' + k.name + '? Whatever uses it stops working.')) return;
              api('DELETE', '/v1/operator/keys/' + encodeURIComponent(k.id)).then(loadKeys);
            },
          });
          keys.appendChild(el('tr', {}, [
            el('td', { text: k.name }), el('td', { text: k.role }),
            el('td', { text: when(k.created_at) + ' by ' + k.created_by.name }),
            el('td', { text: k.revoked_at ? 'revoked ' + when(k.revoked_at) : 'active' }), el('td', {}, [revoke]),
          ]));
        });
      });
    };
    var operatorForm = $('#operator-form');
    operatorForm.addEventListener('submit', function (e) {
      e.preventDefault();
      clearErrors(operatorForm);
      api('POST', '/v1/operator/operators', { name: operatorForm.name.value.trim(), role: operatorForm.role.value }).then(function (answer) {
        if (!answer.ok) return showError(operatorForm, errorOf(answer));
        formMessage(operatorForm, 'Give ' + answer.body.operator.name + ' this one-time password (it is shown once): ' + answer.body.password, 'success');
        operatorForm.name.value = '';
        loadOperators();
      });
    });
    var keyForm = $('#key-form');
    keyForm.addEventListener('submit', function (e) {
      e.preventDefault();
      clearErrors(keyForm);
      api('POST', '/v1/operator/keys', { name: keyForm.name.value.trim(), role: keyForm.role.value }).then(function (answer) {
        if (!answer.ok) return showError(keyForm, errorOf(answer), function (path) { return path === 'name' ? 'key-name' : path; });
        formMessage(keyForm, 'The key (shown once; keep it secret): ' + answer.body.secret, 'success');
        keyForm.name.value = '';
        loadKeys();
      });
    });
    [operatorForm, keyForm].forEach(readOnlyForStaff);
    loadOperators();
    loadKeys();
  }

  function AuditPage() {
    var body = $('#audit tbody');
    var more = $('#audit-more');
    var load = function (before) {
      api('GET', '/v1/operator/audit?limit=50' + (before ? '&before=' + encodeURIComponent(before) : '')).then(function (answer) {
        if (!answer.ok) return body.appendChild(el('tr', {}, [el('td', { colspan: '5', text: errorOf(answer).message })]));
        answer.body.forEach(function (entry) {
          body.appendChild(el('tr', { 'data-action': entry.action }, [
            el('td', { text: when(entry.at) }), el('td', { text: entry.actor.name + ' (' + entry.actor.role + ')' }),
            el('td', { text: entry.action }), el('td', { text: entry.target }), el('td', { text: entry.detail || '' }),
          ]));
        });
        var last = answer.body[answer.body.length - 1];
        more.hidden = answer.body.length < 50;
        more.onclick = function () { load(last.id); };
      });
    };
    load(null);
  }

  // ---- start --------------------------------------------------------------------------

  var main = $('#console');
  if (!main) return;
  var page = main.getAttribute('data-page');
  if (page === 'sign-in') return SignIn();
  var current = session();
  if (!current || current.operator.password_change_required) return signInAgain();
  renderHeader(current);
  var pages = {
    events: EventList, 'new-event': NewEvent, event: EventPage, sales: function () { return new SalesPage(); },
    checkin: CheckInPage, team: TeamPage, audit: AuditPage,
  };
  if (pages[page]) pages[page]();
})();
