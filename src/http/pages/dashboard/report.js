// Reads the figures the dashboard shows out of an activity report
// (a MeasureReport against Measure/sp-activity-report). It reads; it never
// works a figure out itself, so the page shows exactly what the report says.
// A count or statistic the report withholds (data-absent-reason "masked") is
// null here and shown as "suppressed".
/* global window */
(function () {
  'use strict';

  var ONS4_ITEMS = ['life-satisfaction', 'worthwhile', 'happy-yesterday', 'anxious-yesterday'];
  var QUARTILE = 'https://social-prescribing.example.org/fhir/StructureDefinition/quartile';
  var MEAN_BEFORE = 'https://social-prescribing.example.org/fhir/StructureDefinition/ons4-mean-before';
  var MEAN_AFTER = 'https://social-prescribing.example.org/fhir/StructureDefinition/ons4-mean-after';

  function groupOf(report, code) {
    return (report.group || []).find(function (g) { return g.code && g.code.text === code; });
  }
  function countOf(population) {
    return population && typeof population.count === 'number' ? population.count : null;
  }
  function groupCount(report, code) {
    var g = groupOf(report, code);
    return g ? countOf((g.population || [])[0]) : null;
  }
  /** A stratifier's strata: the code (and its system), and the count or null. */
  function strata(report, groupCode, stratifierCode) {
    var g = groupOf(report, groupCode);
    var s = g && (g.stratifier || []).find(function (x) { return x.code && x.code[0] && x.code[0].text === stratifierCode; });
    return ((s && s.stratum) || []).map(function (st) {
      var coding = st.value && st.value.coding && st.value.coding[0];
      return { code: st.value ? st.value.text : '', system: coding ? coding.system : undefined, count: countOf((st.population || [])[0]) };
    });
  }
  function quartile(g, name) {
    var e = (g.extension || []).find(function (x) {
      return x.url === QUARTILE && (x.extension || []).some(function (p) { return p.url === 'quartile' && p.valueCode === name; });
    });
    var v = e && e.extension.find(function (p) { return p.url === 'value'; });
    return v ? v.valueQuantity.value : null;
  }
  function days(report, code, step) {
    var g = groupOf(report, code) || {};
    var score = g.measureScore && typeof g.measureScore.value === 'number' ? g.measureScore.value : null;
    return { step: step, people: countOf((g.population || [])[0]), median: score, q1: quartile(g, 'q1'), q3: quartile(g, 'q3') };
  }
  function decimal(g, url) {
    var e = (g.extension || []).find(function (x) { return x.url === url; });
    return e ? e.valueDecimal : null;
  }
  /** Largest first; suppressed after the rest; then by code. */
  function byCount(a, b) {
    var ca = a.count === null ? -1 : a.count;
    var cb = b.count === null ? -1 : b.count;
    return cb - ca || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
  }
  /** Every month of the period, with the report's count (0 where the report has no referral that month). */
  function months(report) {
    var counted = {};
    strata(report, 'referrals', 'month').forEach(function (s) { counted[s.code] = s.count; });
    var out = [];
    var start = (report.period && report.period.start || '').slice(0, 7);
    var end = (report.period && report.period.end || '').slice(0, 7);
    var y = Number(start.slice(0, 4));
    var m = Number(start.slice(5, 7));
    while (start && out.length < 600) {
      var key = y + '-' + (m < 10 ? '0' : '') + m;
      if (key > end) break;
      out.push({ code: key, count: Object.prototype.hasOwnProperty.call(counted, key) ? counted[key] : 0 });
      m += 1;
      if (m > 12) { m = 1; y += 1; }
    }
    return out;
  }

  function figures(report) {
    return {
      period: report.period,
      referrals: groupCount(report, 'referrals'),
      source: strata(report, 'referrals', 'source-of-referral').sort(byCount),
      need: strata(report, 'referrals', 'need').sort(byCount),
      funnel: [
        { step: 'Referred', count: groupCount(report, 'referrals') },
        { step: 'First contact', count: groupCount(report, 'days-to-first-contact') },
        { step: 'Plan agreed', count: groupCount(report, 'days-to-plan-agreed') },
        { step: 'Completed', count: groupCount(report, 'days-to-completion') },
      ],
      days: [days(report, 'days-to-first-contact', 'First contact'), days(report, 'days-to-plan-agreed', 'Plan agreed'), days(report, 'days-to-completion', 'Completed')],
      outcomes: ONS4_ITEMS.map(function (item) {
        var g = groupOf(report, 'ons4-' + item) || {};
        var change = g.measureScore && typeof g.measureScore.value === 'number' ? g.measureScore.value : null;
        return { item: item, people: countOf((g.population || [])[0]), before: decimal(g, MEAN_BEFORE), after: decimal(g, MEAN_AFTER), change: change };
      }),
      services: strata(report, 'onward-activity', 'provider').sort(byCount).slice(0, 10),
      trend: months(report),
    };
  }

  window.ActivityFigures = { figures: figures };
})();
