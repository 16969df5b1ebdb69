// The gallery's bulk bar: ticking tiles (shift-click ticks a range), "Select all on this page",
// "Select all N in this filter" (then `scope=filter` goes with the form), and a live count.
// Without this script the bar is a plain form that is always shown.
(function () {
  "use strict";
  const form = document.getElementById("bulk-form");
  if (!form) return;
  const count = form.querySelector("#bulk-count");
  const pageButton = form.querySelector("[data-bulk-page]");
  const filterButton = form.querySelector("[data-bulk-filter]");
  const clearButton = form.querySelector("[data-bulk-clear]");
  const scope = form.querySelector("[data-bulk-scope]");
  let lastTicked = null;
  let filterCount = null; // asked for only once a whole page is ticked

  form.classList.add("is-enhanced");
  scope.checked = false;

  function boxes() { return Array.from(document.querySelectorAll(".tile-select")); }

  function images(n) { return `${n.toLocaleString()} image${n === 1 ? "" : "s"}`; }

  function update() {
    const all = boxes();
    const ticked = all.filter((box) => box.checked).length;
    const wholePage = all.length > 0 && ticked === all.length;
    const anything = ticked > 0 || scope.checked;
    form.classList.toggle("has-selection", anything);
    document.body.classList.toggle("has-bulk-selection", anything);
    if (scope.checked) {
      count.textContent = filterCount === null ? "Every image in this filter selected" : `All ${images(filterCount)} in this filter selected`;
    } else {
      count.textContent = `${ticked} selected`;
    }
    pageButton.hidden = wholePage || scope.checked || all.length === 0;
    clearButton.hidden = !anything;
    const more = filterCount !== null && filterCount > ticked;
    filterButton.hidden = !wholePage || scope.checked || !more;
    if (more) filterButton.textContent = `Select all ${images(filterCount)} in this filter`;
    if (wholePage && filterCount === null) askFilterCount();
  }

  function askFilterCount() {
    filterCount = -1; // asked; not known yet
    fetch(form.dataset.countUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((body) => { filterCount = body.count; update(); })
      .catch(() => { filterCount = null; });
  }

  document.addEventListener("click", (event) => {
    const box = event.target.closest(".tile-select");
    if (!box) return;
    if (event.shiftKey && lastTicked && lastTicked !== box && document.contains(lastTicked)) {
      const all = boxes();
      const [from, to] = [all.indexOf(lastTicked), all.indexOf(box)].sort((a, b) => a - b);
      all.slice(from, to + 1).forEach((other) => { other.checked = box.checked; });
    }
    lastTicked = box;
  });

  document.addEventListener("change", (event) => {
    if (!event.target.matches(".tile-select")) return;
    if (!event.target.checked) scope.checked = false; // no longer "everything"
    update();
  });

  pageButton.addEventListener("click", () => {
    boxes().forEach((box) => { box.checked = true; });
    update();
  });
  filterButton.addEventListener("click", () => {
    boxes().forEach((box) => { box.checked = true; });
    scope.checked = true;
    update();
  });
  clearButton.addEventListener("click", () => {
    boxes().forEach((box) => { box.checked = false; });
    scope.checked = false;
    update();
  });

  form.addEventListener("submit", (event) => {
    const action = event.submitter && event.submitter.value;
    const note = form.querySelector("#bulk-note");
    if (action === "reject" && note && !note.value.trim()) {
      event.preventDefault();
      note.setCustomValidity("Say why the images are rejected: their authors will read it.");
      note.reportValidity();
      note.addEventListener("input", () => note.setCustomValidity(""), { once: true });
      return;
    }
    const ticked = boxes().filter((box) => box.checked).length;
    const what = scope.checked ? "every image in this filter" : images(ticked);
    if (action === "delete" && !window.confirm(`Delete ${what}? Only those you may delete are deleted.`)) {
      event.preventDefault();
    }
  });

  // "Show more" adds tiles: with the whole filter selected, they are selected too.
  document.addEventListener("htmx:afterSettle", () => {
    if (scope.checked) boxes().forEach((box) => { box.checked = true; });
    update();
  });

  update();
})();
