// Starts Swagger UI on this server's OpenAPI description. No inline script:
// the page's Content-Security-Policy allows scripts from this origin only.
// It opens on the resource types the project profiles (read from the
// CapabilityStatement), with the whole API one choice away: the whole
// description is large (about 2,400 operations) and slow for Swagger UI to load.
/* global window, document, URL, fetch */
(function () {
  'use strict';
  var root = document.getElementById('swagger-ui');
  var choice = document.getElementById('description');
  function fail(text) {
    root.textContent = '';
    var p = document.createElement('p');
    p.className = 'explorer-error';
    p.textContent = text;
    root.appendChild(p);
  }
  if (typeof window.SwaggerUIBundle !== 'function') return fail('The explorer could not start: its script did not load.');
  var whole = new URL('../openapi.json', window.location.href).toString();

  function start(profiledTypes) {
    var options = [];
    if (profiledTypes.length > 0) options.push({ name: 'Social prescribing resources: ' + profiledTypes.join(', '), url: whole + '?_type=' + profiledTypes.join(',') });
    options.push({ name: 'The whole API, every R4 resource type (slow to load)', url: whole });
    choice.textContent = '';
    options.forEach(function (o) {
      var option = document.createElement('option');
      option.value = o.url;
      option.textContent = o.name;
      choice.appendChild(option);
    });
    choice.disabled = false;
    root.textContent = '';
    window.ui = window.SwaggerUIBundle({
      url: options[0].url,
      domNode: root,
      deepLinking: true,
      docExpansion: 'none',
      filter: true,
      defaultModelsExpandDepth: -1,
      // Never send the description to an outside validator.
      validatorUrl: null,
      // The token stays in this page only.
      persistAuthorization: false,
      onComplete: function () {
        root.setAttribute('data-ready', 'true');
      },
    });
    choice.addEventListener('change', function () {
      window.ui.specActions.updateUrl(choice.value);
      window.ui.specActions.download(choice.value);
    });
  }

  fetch(new URL('../metadata', window.location.href), { headers: { Accept: 'application/fhir+json' } })
    .then(function (res) {
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.json();
    })
    .then(function (statement) {
      var resources = (statement.rest && statement.rest[0] && statement.rest[0].resource) || [];
      start(resources.filter(function (r) { return (r.supportedProfile || []).length > 0; }).map(function (r) { return r.type; }));
    })
    .catch(function () {
      start([]);
    });
})();
