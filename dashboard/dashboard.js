// Updates the page every data-refresh milliseconds from the page's own URL with part=main. The
// values of its cells change in place (matched by data-key and data-cell), so that a screen
// reader's position, the keyboard focus and a text selection stay; only when scripts came or
// went, and neither the focus nor a selection is inside it, is the whole main element replaced.
// Pause stops the updates.
(function () {
  "use strict";
  var main = document.getElementById("main");
  var pause = document.getElementById("pause");
  var every = parseInt(document.body.dataset.refresh, 10) || 2000;
  var paused = false;
  pause.hidden = false;
  pause.addEventListener("click", function () {
    paused = !paused;
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? "Resume updates" : "Pause updates";
  });
  function keyOf(el) {
    var row = el.closest("[data-key]");
    return (row ? row.dataset.key : "") + "\u0000" + el.dataset.cell;
  }
  function cells(root) {
    var m = new Map();
    root.querySelectorAll("[data-cell]").forEach(function (el) { m.set(keyOf(el), el); });
    return m;
  }
  function busy() {
    var sel = window.getSelection();
    return main.contains(document.activeElement) || (sel && !sel.isCollapsed && main.contains(sel.anchorNode));
  }
  function apply(html) {
    var fresh = document.createElement("template");
    fresh.innerHTML = html;
    var now = cells(main), next = cells(fresh.content);
    var same = now.size === next.size;
    next.forEach(function (el, key) { same = same && now.has(key); });
    if (!same && !busy()) {
      main.replaceChildren(fresh.content);
      return;
    }
    next.forEach(function (el, key) {
      var old = now.get(key);
      if (old && old.innerHTML !== el.innerHTML) { old.innerHTML = el.innerHTML; old.className = el.className; }
    });
    var stamp = fresh.content.querySelector(".updated time"), mine = main.querySelector(".updated time");
    if (stamp && mine) { mine.replaceWith(stamp); }
  }
  function tick() {
    if (paused || document.hidden) { return schedule(); }
    var url = new URL(window.location.href);
    url.searchParams.set("part", "main");
    fetch(url, { cache: "no-store", credentials: "same-origin" }).then(function (resp) {
      return resp.text().then(function (text) {
        if (!resp.ok && resp.status !== 404 && resp.status !== 503) { throw new Error("HTTP " + resp.status); }
        apply(text);
      });
    }).catch(function (err) {
      var el = document.getElementById("refresh-error");
      if (el) { el.textContent = " (updates failing: " + err.message + ")"; }
    }).then(schedule);
  }
  function schedule() { window.setTimeout(tick, every); }
  schedule();
})();
