/* Nguồn back office shell: small behaviours every page shares. Plain JS, no build step, no inline handlers
 * (the Content-Security-Policy refuses them). Every page works without it; this only makes it smoother. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // A <select data-autosubmit> submits its form when changed (the language switch); its button is for no-JS.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.submit();
    }
  });

  // <input data-filter-select="ID">: narrows the options of the <select id="ID"> as one types, ignoring Vietnamese
  // diacritics; without JavaScript the plain list works as it is. Its box (data-filter-box) is hidden until then.
  var fold = function (s) {
    return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐ]/g, "d").toLowerCase();
  };
  var setUpFilters = function (root) {
    Array.prototype.forEach.call(root.querySelectorAll("input[data-filter-select]"), function (input) {
      var select = document.getElementById(input.getAttribute("data-filter-select"));
      if (!select || input.dataset.filterReady) return;
      input.dataset.filterReady = "1";
      var box = input.closest("[data-filter-box]");
      if (box) box.hidden = false;
      input.addEventListener("input", function () {
        var q = fold(input.value.trim());
        Array.prototype.forEach.call(select.options, function (o) {
          o.hidden = q !== "" && !o.selected && fold(o.text).indexOf(q) < 0;
        });
      });
    });
  };

  // Connection and server errors of htmx requests, said in the page's language (the texts come from base.html).
  var banner = null;
  var showError = function (kind) {
    banner = banner || document.getElementById("connection-error");
    if (!banner) return;
    banner.textContent = banner.getAttribute("data-" + kind) || banner.getAttribute("data-server");
    banner.hidden = false;
  };
  var hideError = function () {
    banner = banner || document.getElementById("connection-error");
    if (banner) banner.hidden = true;
  };
  document.addEventListener("htmx:sendError", function () { showError("offline"); });
  document.addEventListener("htmx:timeout", function () { showError("timeout"); });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail && event.detail.xhr ? event.detail.xhr.status : 0;
    showError(status === 403 ? "forbidden" : "server");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail && event.detail.successful) hideError();
  });
  document.addEventListener("htmx:load", function (event) { setUpFilters(event.target || document); });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setUpFilters(document); });
  } else {
    setUpFilters(document);
  }
})();
