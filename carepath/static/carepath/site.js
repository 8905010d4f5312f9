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
