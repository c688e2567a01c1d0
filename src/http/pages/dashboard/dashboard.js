// The dashboard's behaviour: asks $activity-report for the chosen period and
// organisation with the pasted token, then draws each figure as a chart and
// as a table. Every request goes to this server's FHIR API under the token's
// own access; a refused token is explained, never left as a blank page.
/* global window, document, URL, URLSearchParams, fetch, performance */
(function () {
  'use strict';

  var FHIR = new URL('../fhir', window.location.href).pathname;
  var COLOURS = ['#005eb8', '#007f3b', '#8a1538', '#ed8b00', '#330072', '#00a499', '#ae2573', '#425563', '#41b6e6', '#78be20'];
  var form = document.getElementById('report-form');
  var tokenInput = document.getElementById('token');
  var organisation = document.getElementById('organisation');
  var message = document.getElementById('message');
  var status = document.getElementById('status');
  var figuresBox = document.getElementById('figures');
  var download = document.getElementById('download');
  var charts = {};
  var labels = {};
  var lastQuery = null;

  function token() { return tokenInput.value.trim(); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }

  function showMessage(lines) {
    message.replaceChildren.apply(message, lines.map(function (l) { return el('p', {}, [l]); }));
    message.hidden = false;
  }
  function clearMessage() { message.hidden = true; message.replaceChildren(); }

  /** Why the server refused, from its OperationOutcome or WWW-Authenticate header. */
  async function reasonOf(res) {
    try {
      var body = await res.json();
      var issue = body && body.issue && body.issue[0];
      if (issue && (issue.diagnostics || (issue.details && issue.details.text))) return issue.diagnostics || issue.details.text;
    } catch { /* not JSON */ }
    var header = res.headers.get('WWW-Authenticate') || '';
    var m = /error_description="([^"]*)"/.exec(header);
    return m ? m[1] : 'HTTP ' + res.status;
  }

  function RefusedError(lines) { this.lines = lines; }

  async function api(path, accept) {
    var res;
    try {
      res = await fetch(FHIR + path, { headers: { Authorization: 'Bearer ' + token(), Accept: accept || 'application/fhir+json' } });
    } catch {
      throw new RefusedError(['The server could not be reached. Check your connection and try again.']);
    }
    if (res.ok) return res;
    var reason = (await reasonOf(res)).replace(/\.$/, '');
    if (res.status === 401) throw new RefusedError(['Your token was not accepted: ' + reason + '.', 'Paste a new token and press “Show the report” again.']);
    if (res.status === 403) throw new RefusedError(['This token may not see the activity report: ' + reason + '.', 'A commissioner’s token is needed.']);
    if (res.status === 400) throw new RefusedError(['The server could not run the report: ' + reason + '.']);
    throw new RefusedError(['The server could not answer (' + res.status + '): ' + reason + '. Try again shortly.']);
  }

  function query() {
    var start = document.getElementById('period-start').value;
    var end = document.getElementById('period-end').value;
    if (!token()) throw new RefusedError(['Paste your access token first.']);
    if (!start || !end) throw new RefusedError(['Choose the start and the end of the period.']);
    if (start > end) throw new RefusedError(['The period starts after it ends.']);
    var params = new URLSearchParams({ periodStart: start, periodEnd: end });
    var choice = organisation.value ? JSON.parse(organisation.value) : null;
    var as = form.querySelector('input[name="as"]:checked').value;
    if (choice && as === 'owner') params.set('owner', 'Organization/' + choice.id);
    if (choice && as === 'referrer') {
      if (!choice.ods) throw new RefusedError(['That organisation has no ODS code, so it cannot be chosen as the referrer. Choose “Social prescribing service” instead.']);
      params.set('referrer', choice.ods);
    }
    return params.toString();
  }

  /** Organisations the token may see, for the organisation list. */
  async function loadOrganisations() {
    if (!token() || organisation.dataset.loaded === 'true') return;
    try {
      var res = await api('/Organization?_count=200&_sort=name&_elements=name,identifier');
      var bundle = await res.json();
      while (organisation.options.length > 1) organisation.remove(1);
      (bundle.entry || []).forEach(function (e) {
        var r = e.resource;
        var ods = (r.identifier || []).find(function (i) { return i.system === 'https://fhir.nhs.uk/Id/ods-organization-code'; });
        var value = JSON.stringify({ id: r.id, ods: ods ? ods.value : undefined });
        organisation.appendChild(el('option', { value: value }, [(r.name || r.id) + (ods ? ' (' + ods.value + ')' : '')]));
      });
      organisation.dataset.loaded = 'true';
    } catch {
      // The list is a convenience: without it the report still runs for all organisations.
    }
  }

  /** Display names of coded strata, from the server's terminology ($lookup); the code itself where there is none. */
  async function lookUp(items) {
    await Promise.all(items.filter(function (s) { return s.system && !labels[s.system + '|' + s.code]; }).map(async function (s) {
      try {
        var res = await api('/CodeSystem/$lookup?system=' + encodeURIComponent(s.system) + '&code=' + encodeURIComponent(s.code));
        var params = await res.json();
        var display = (params.parameter || []).find(function (p) { return p.name === 'display'; });
        labels[s.system + '|' + s.code] = display ? display.valueString : s.code;
      } catch {
        labels[s.system + '|' + s.code] = s.code;
      }
    }));
  }
  function label(s) { return s.system ? labels[s.system + '|' + s.code] || s.code : s.code; }

  function cell(value, unit) {
    if (value === null || value === undefined) return el('td', { class: 'number suppressed' }, ['suppressed']);
    return el('td', { class: 'number' }, [String(value) + (unit || '')]);
  }
  function table(id, caption, headings, rows) {
    var head = el('tr', {}, headings.map(function (h, i) { return el('th', { scope: 'col', class: i > 0 ? 'number' : '' }, [h]); }));
    var body = rows.map(function (r) {
      return el('tr', { 'data-key': r.key }, [el('th', { scope: 'row' }, [r.label])].concat(r.cells));
    });
    if (rows.length === 0) body = [el('tr', {}, [el('td', { colspan: String(headings.length) }, ['Nothing in this period.'])])];
    var t = el('table', { id: id }, [el('caption', {}, [caption]), el('thead', {}, [head]), el('tbody', {}, body)]);
    document.getElementById(id.replace(/^t-/, 'table-')).replaceChildren(t);
  }

  /** Under a chart with nothing to draw, says why, so an empty chart is never a puzzle. */
  function noteUnder(canvas, datasets) {
    var box = canvas.parentNode;
    var note = box.nextElementSibling && box.nextElementSibling.classList.contains('chart-note') ? box.nextElementSibling : null;
    if (!note) {
      note = el('p', { class: 'chart-note' });
      box.parentNode.insertBefore(note, box.nextSibling);
    }
    var values = datasets.reduce(function (all, d) { return all.concat(d.data); }, []);
    var drawn = values.some(function (v) { return typeof v === 'number' && v !== 0; });
    var suppressed = values.some(function (v) { return v === null; });
    note.textContent = drawn ? '' : suppressed ? 'Every figure here is suppressed (based on 1 to 7 people): see the table.' : 'Nothing to show for this period.';
    note.hidden = drawn;
  }

  function chart(id, type, chartLabels, datasets, options) {
    noteUnder(document.getElementById(id), datasets);
    if (typeof window.Chart !== 'function') return;
    if (charts[id]) charts[id].destroy();
    var canvas = document.getElementById(id);
    charts[id] = new window.Chart(canvas, {
      type: type,
      data: { labels: chartLabels, datasets: datasets },
      options: Object.assign({ responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: datasets.length > 1 } } }, options || {}),
    });
  }
  function bars(label, values, colour) {
    return { label: label, data: values, backgroundColor: colour || COLOURS[0] };
  }

  function render(f) {
    var suppressedNote = 'Suppressed counts (1 to 7) are left out of the charts and marked in the tables.';
    document.getElementById('summary').textContent =
      'Period ' + f.period.start + ' to ' + f.period.end + ': ' + (f.referrals === null ? 'suppressed (1 to 7)' : f.referrals) + ' referrals. ' + suppressedNote;

    chart('chart-source', 'bar', f.source.map(label), [bars('Referrals', f.source.map(function (s) { return s.count; }))]);
    table('t-source', 'Referrals by source', ['Source', 'Referrals'], f.source.map(function (s) { return { key: s.code, label: label(s), cells: [cell(s.count)] }; }));

    chart('chart-need', 'bar', f.need.map(label), [bars('Referrals', f.need.map(function (s) { return s.count; }), COLOURS[1])], { indexAxis: 'y' });
    table('t-need', 'Referrals by need (a referral may give several)', ['Need', 'Referrals'], f.need.map(function (s) { return { key: s.code, label: label(s), cells: [cell(s.count)] }; }));

    chart('chart-funnel', 'bar', f.funnel.map(function (s) { return s.step; }), [bars('Referrals', f.funnel.map(function (s) { return s.count; }), COLOURS[4])]);
    table('t-funnel', 'Referrals reaching each step', ['Step', 'Referrals'], f.funnel.map(function (s) { return { key: s.step, label: s.step, cells: [cell(s.count)] }; }));

    chart('chart-days', 'bar', f.days.map(function (d) { return d.step; }), [bars('Median days', f.days.map(function (d) { return d.median; }), COLOURS[3])]);
    table('t-days', 'Days from referral to each step (median and quartiles)', ['Step', 'People', 'Median', 'Lower quartile', 'Upper quartile'], f.days.map(function (d) {
      return { key: d.step, label: d.step, cells: [cell(d.people), cell(d.median), cell(d.q1), cell(d.q3)] };
    }));

    var items = { 'life-satisfaction': 'Life satisfaction', worthwhile: 'Worthwhile', 'happy-yesterday': 'Happy yesterday', 'anxious-yesterday': 'Anxious yesterday' };
    chart('chart-outcomes', 'bar', f.outcomes.map(function (o) { return items[o.item]; }), [
      bars('Mean before', f.outcomes.map(function (o) { return o.before; }), COLOURS[7]),
      bars('Mean after', f.outcomes.map(function (o) { return o.after; }), COLOURS[1]),
    ], { scales: { y: { min: 0, max: 10 } } });
    table('t-outcomes', 'ONS4 scores (0 to 10) of people with a score before and after', ['Question', 'People', 'Mean before', 'Mean after', 'Mean change'], f.outcomes.map(function (o) {
      return { key: o.item, label: items[o.item], cells: [cell(o.people), cell(o.before), cell(o.after), cell(o.change)] };
    }));

    chart('chart-services', 'bar', f.services.map(label), [bars('Onward referrals', f.services.map(function (s) { return s.count; }), COLOURS[5])], { indexAxis: 'y' });
    table('t-services', 'Onward referrals by service provider (the ten most)', ['Service provider', 'Onward referrals'], f.services.map(function (s) { return { key: s.code, label: label(s), cells: [cell(s.count)] }; }));

    chart('chart-trend', 'line', f.trend.map(function (m) { return m.code; }), [{ label: 'Referrals', data: f.trend.map(function (m) { return m.count; }), borderColor: COLOURS[0], backgroundColor: COLOURS[0], spanGaps: false }]);
    table('t-trend', 'Referrals per month', ['Month', 'Referrals'], f.trend.map(function (m) { return { key: m.code, label: m.code, cells: [cell(m.count)] }; }));
  }

  async function showReport(event) {
    event.preventDefault();
    clearMessage();
    var started = performance.now();
    document.body.setAttribute('data-state', 'loading');
    status.textContent = 'Running the report…';
    try {
      var q = query();
      await loadOrganisations();
      var res = await api('/$activity-report?' + q);
      var report = await res.json();
      var f = window.ActivityFigures.figures(report);
      await lookUp(f.source.concat(f.need));
      figuresBox.hidden = false;
      var drawing = performance.now();
      render(f);
      document.body.setAttribute('data-draw-ms', String(Math.round(performance.now() - drawing)));
      lastQuery = q;
      download.disabled = false;
      var ms = Math.round(performance.now() - started);
      document.body.setAttribute('data-render-ms', String(ms));
      document.body.setAttribute('data-state', 'ready');
      status.textContent = 'Report shown for ' + f.period.start + ' to ' + f.period.end + '.';
      figuresBox.focus();
    } catch (err) {
      document.body.setAttribute('data-state', 'error');
      status.textContent = '';
      figuresBox.hidden = true;
      download.disabled = true;
      showMessage(err instanceof RefusedError ? err.lines : ['Something went wrong while showing the report: ' + (err && err.message) + '.']);
      message.focus();
    }
  }

  async function downloadCsv() {
    if (!lastQuery) return;
    clearMessage();
    try {
      var res = await api('/$activity-report?' + lastQuery, 'text/csv');
      var blob = await res.blob();
      var link = el('a', { href: URL.createObjectURL(blob), download: 'activity-report.csv' });
      document.body.appendChild(link);
      link.click();
      link.remove();
      status.textContent = 'The CSV file was downloaded.';
    } catch (err) {
      showMessage(err instanceof RefusedError ? err.lines : ['The CSV file could not be downloaded.']);
    }
  }

  // The last twelve months up to today, to start with.
  var today = new Date();
  var yearAgo = new Date(Date.UTC(today.getUTCFullYear() - 1, today.getUTCMonth(), today.getUTCDate() + 1));
  document.getElementById('period-end').value = today.toISOString().slice(0, 10);
  document.getElementById('period-start').value = yearAgo.toISOString().slice(0, 10);
  if (typeof window.Chart !== 'function') showMessage(['The charts could not load; the tables will still show the figures.']);
  form.addEventListener('submit', showReport);
  download.addEventListener('click', downloadCsv);
  tokenInput.addEventListener('change', function () { organisation.dataset.loaded = ''; loadOrganisations(); });
})();
