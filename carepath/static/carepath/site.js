// CarePath progressive enhancement: everything works without it; with it, glossary definitions open on demand
// slideshows follow the arrow keys, and the header search box suggests pages as you type.
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

    document.querySelectorAll("input[data-suggest-url]").forEach(suggestBox);
  });

  // A combobox (ARIA 1.2): typing asks /api/v1/search/suggest, arrow keys move through the list, Enter or a
  // click opens the page, Escape closes the list. Without a choice, the form submits to /search/ as usual.
  function suggestBox(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var status = document.getElementById("site-search-status");
    var timer = null, active = -1, asked = "";

    function options() { return list.querySelectorAll("[role=option]"); }
    function close() {
      list.hidden = true;
      list.innerHTML = "";
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function highlight(index) {
      var all = options();
      if (!all.length) return;
      active = (index + all.length) % all.length;
      all.forEach(function (option, i) { option.setAttribute("aria-selected", String(i === active)); });
      input.setAttribute("aria-activedescendant", all[active].id);
    }
    function show(suggestions) {
      close();
      if (!suggestions.length) { if (status) status.textContent = ""; return; }
      suggestions.forEach(function (s, i) {
        var option = document.createElement("li");
        option.id = input.id + "-option-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.dataset.url = s.url;
        option.textContent = s.text;
        if (s.text.toLowerCase() !== s.title.toLowerCase()) {
          var title = document.createElement("span");
          title.className = "suggestion-title";
          title.textContent = s.title;
          option.appendChild(title);
        }
        option.addEventListener("mousedown", function (event) { event.preventDefault(); });
        option.addEventListener("click", function () { window.location.href = s.url; });
        list.appendChild(option);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      if (status) {
        status.textContent = suggestions.length + " suggestion" + (suggestions.length === 1 ? "" : "s") +
          ": use the up and down arrows to choose.";
      }
    }
    function ask() {
      var q = input.value.trim();
      if (q === asked) return;
      asked = q;
      if (q.length < 2) { close(); return; }
      fetch(input.dataset.suggestUrl + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) { if (input.value.trim() === q) show(data.results || []); })
        .catch(function () { close(); });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 120);
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden) return;
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
      else if (event.key === "Escape") { close(); }
      else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        window.location.href = options()[active].dataset.url;
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }
})();
