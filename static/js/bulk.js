// The gallery's bulk bar: ticking tiles (shift-click ticks a range), "Select all on this page",
// "Select all N in this filter" (then `scope=filter` goes with the form), and a live count.
// Without this script the bar is a plain form that is always shown.
//
// The gallery may swap its grid and bar with htmx (a new filter), which runs this file again:
// it sets itself up once, and finds the current bar on each event.
(function () {
  "use strict";
  if (window.darkroomBulkBar) return;
  window.darkroomBulkBar = true;

  let lastTicked = null;

  function bar() { return document.getElementById("bulk-form"); }
  function boxes() { return Array.from(document.querySelectorAll(".tile-select")); }
  function images(n) { return `${n.toLocaleString()} image${n === 1 ? "" : "s"}`; }
  function part(form, name) { return form.querySelector(`[data-bulk-${name}]`); }

  function enhance(form) {
    if (form.classList.contains("is-enhanced")) return;
    form.classList.add("is-enhanced");
    part(form, "scope").checked = false;
    form.filterCount = null; // asked for only once a whole page is ticked; per bar (per filter)
  }

  function update() {
    const form = bar();
    if (!form) return;
    enhance(form);
    const scope = part(form, "scope");
    const all = boxes();
    const ticked = all.filter((box) => box.checked).length;
    const wholePage = all.length > 0 && ticked === all.length;
    const anything = ticked > 0 || scope.checked;
    const known = typeof form.filterCount === "number" && form.filterCount >= 0;
    form.classList.toggle("has-selection", anything);
    document.body.classList.toggle("has-bulk-selection", anything);
    const count = form.querySelector("#bulk-count");
    if (scope.checked) {
      count.textContent = known ? `All ${images(form.filterCount)} in this filter selected` : "Every image in this filter selected";
    } else {
      count.textContent = `${ticked} selected`;
    }
    part(form, "page").hidden = wholePage || scope.checked || all.length === 0;
    part(form, "clear").hidden = !anything;
    const more = known && form.filterCount > ticked;
    const filterButton = part(form, "filter");
    filterButton.hidden = !wholePage || scope.checked || !more;
    if (more) filterButton.textContent = `Select all ${images(form.filterCount)} in this filter`;
    if (wholePage && form.filterCount === null) askFilterCount(form);
  }

  function askFilterCount(form) {
    form.filterCount = -1; // asked; not known yet
    fetch(form.dataset.countUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((body) => { form.filterCount = body.count; update(); })
      .catch(() => { form.filterCount = null; });
  }

  function tickAll(checked) { boxes().forEach((box) => { box.checked = checked; }); }

  document.addEventListener("click", (event) => {
    const box = event.target.closest(".tile-select");
    if (box) {
      if (event.shiftKey && lastTicked && lastTicked !== box && document.contains(lastTicked)) {
        const all = boxes();
        const [from, to] = [all.indexOf(lastTicked), all.indexOf(box)].sort((a, b) => a - b);
        all.slice(from, to + 1).forEach((other) => { other.checked = box.checked; });
      }
      lastTicked = box;
      return;
    }
    const form = bar();
    const button = form && event.target.closest("#bulk-form [data-bulk-page], #bulk-form [data-bulk-filter], #bulk-form [data-bulk-clear]");
    if (!button) return;
    const scope = part(form, "scope");
    if (button.hasAttribute("data-bulk-clear")) {
      tickAll(false);
      scope.checked = false;
    } else {
      tickAll(true);
      scope.checked = button.hasAttribute("data-bulk-filter");
    }
    update();
  });

  document.addEventListener("change", (event) => {
    if (!event.target.matches(".tile-select")) return;
    const form = bar();
    if (form && !event.target.checked) part(form, "scope").checked = false; // no longer "all"
    update();
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id !== "bulk-form" || !form.classList.contains("is-enhanced")) return;
    const action = event.submitter && event.submitter.value;
    const note = form.querySelector("#bulk-note");
    const noteError = form.querySelector("#bulk-note-error");
    if (action === "reject" && note && !note.value.trim()) {
      // Said next to the field, not with setCustomValidity: that would block every other action
      // of the form until the field changed.
      event.preventDefault();
      noteError.hidden = false;
      note.setAttribute("aria-invalid", "true");
      note.focus();
      note.addEventListener("input", () => { noteError.hidden = true; note.removeAttribute("aria-invalid"); }, { once: true });
      return;
    }
    const ticked = boxes().filter((box) => box.checked).length;
    const what = part(form, "scope").checked ? "every image in this filter" : images(ticked);
    if (action === "delete") {
      if (window.confirm(`Delete ${what}? Only those you may delete are deleted.`)) {
        part(form, "confirmed").value = "1";
      } else {
        event.preventDefault();
      }
    }
  });

  // "Show more" adds tiles: with the whole filter selected, they are selected too.
  document.addEventListener("htmx:afterSettle", () => {
    const form = bar();
    if (form && form.classList.contains("is-enhanced") && part(form, "scope").checked) tickAll(true);
    update();
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", update);
  } else {
    update();
  }
})();
