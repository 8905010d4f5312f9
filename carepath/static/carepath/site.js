// CarePath progressive enhancement: everything works without it; with it, glossary definitions open on demand
// and slideshows follow the arrow keys.
(function () {
  "use strict";
  document.documentElement.classList.replace("no-js", "js");

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".gloss-term").forEach(function (button) {
      var definition = document.getElementById(button.getAttribute("aria-controls"));
      if (!definition) return;
      definition.hidden = true;
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") === "true";
        button.setAttribute("aria-expanded", String(!open));
        definition.hidden = open;
      });
      button.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
          button.setAttribute("aria-expanded", "false");
          definition.hidden = true;
        }
      });
    });

    // Cached pages carry no CSRF token and nothing personal: a form fetches its token when the reader starts on it
    // (or at the latest when sending), and the find-a-doctor box fills in the ZIP code remembered in a cookie.
    // Without JavaScript, the server answers a tokenless form with the same form, filled in, to send again.
    document.querySelectorAll("form[data-csrf]").forEach(function (form) {
      var input = form.querySelector("input[name=csrfmiddlewaretoken]");
      var pending = null;
      function fetchToken() {
        if (input.value) return Promise.resolve();
        if (!pending) {
          pending = fetch("/csrf-token", { credentials: "same-origin", headers: { Accept: "application/json" } })
            .then(function (response) { return response.json(); })
            .then(function (data) { input.value = data.token; })
            .catch(function () { pending = null; });
        }
        return pending;
      }
      form.addEventListener("focusin", fetchToken, { once: true });
      form.addEventListener("submit", function (event) {
        if (input.value) return;
        event.preventDefault();
        fetchToken().then(function () { HTMLFormElement.prototype.submit.call(form); });
      });
    });

    var zip = (document.cookie.match(/(?:^|; )near_zip=([0-9]{5})(?:;|$)/) || [])[1];
    if (zip) {
      document.querySelectorAll("input[data-near-zip]").forEach(function (input) {
        if (!input.value) input.value = zip;
      });
      document.querySelectorAll("a[data-near-zip]").forEach(function (link) {
        link.href += "&near=" + zip;
      });
    }

    var links = document.querySelectorAll(".slide-nav a[data-key]");
    if (links.length) {
      document.addEventListener("keydown", function (event) {
        var target = event.target;
        if (event.altKey || event.ctrlKey || event.metaKey || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
        links.forEach(function (link) {
          if (link.dataset.key === event.key) { window.location.href = link.href; }
        });
      });
    }
  });
})();
