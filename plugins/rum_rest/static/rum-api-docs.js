// Starts Swagger UI on the API docs page of Rum's rest plugin ([rest] docs_path).
// Written for Rum (not part of swagger-ui-dist); no inline script, so a strict
// Content-Security-Policy (script-src 'self') allows the page.
window.addEventListener("DOMContentLoaded", function () {
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.getAttribute("data-spec-url"),
    domNode: node,
    deepLinking: true,
    withCredentials: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
