// Starts Swagger UI on this server's OpenAPI description. No inline script:
// the page's Content-Security-Policy allows scripts from this origin only.
(function () {
  'use strict';
  var root = document.getElementById('swagger-ui');
  if (typeof window.SwaggerUIBundle !== 'function') {
    root.innerHTML = '<p class="explorer-error">The explorer could not start: its script did not load.</p>';
    return;
  }
  window.ui = window.SwaggerUIBundle({
    url: new URL('../openapi.json', window.location.href).toString(),
    domNode: root,
    deepLinking: true,
    // About 1,500 operations: show the resource types closed, with a filter box to find one.
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
})();
