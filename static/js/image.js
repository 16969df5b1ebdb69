// One image, on its page or in the gallery's lightbox: copy prompt, zoom to 100 %, ← → keys,
// and the lightbox dialog itself. Everything here improves a page that already works without it:
// the image is a link to the original, ← → are links, the lightbox's tiles are links.
(function () {
  "use strict";

  // Buttons that only work with JavaScript are rendered hidden; show them once we run.
  function reveal(root) {
    root.querySelectorAll("[data-copy-text][hidden], [data-zoom-toggle][hidden]").forEach((el) => {
      el.hidden = false;
    });
  }

  // --- Copy prompt -----------------------------------------------------------------------------
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy-text]");
    if (!button) return;
    const status = button.parentElement.querySelector("[data-copied]");
    const say = (text) => {
      if (!status) return;
      status.textContent = text;
      clearTimeout(status.dataset.timer);
      status.dataset.timer = setTimeout(() => { status.textContent = ""; }, 4000);
    };
    navigator.clipboard.writeText(button.dataset.copyText).then(
      () => say(document.body.dataset.textCopied),
      () => say(document.body.dataset.textCopyTitleFailed),
    );
  });

  // --- Zoom: fit to the column, or the actual pixels (scrollable) -------------------------------
  function toggleZoom(frame) {
    const actual = frame.classList.toggle("is-actual");
    const button = frame.querySelector("[data-zoom-toggle]");
    if (button) {
      button.setAttribute("aria-pressed", String(actual));
      button.textContent = actual ? "Fit to the page" : "Actual size (100 %)";
    }
    const link = frame.querySelector("[data-zoom]");
    if (link) link.title = actual ? "Fit to the page" : "Show at actual size";
  }

  document.addEventListener("click", (event) => {
    const trigger = event.target.closest("[data-zoom], [data-zoom-toggle]");
    if (!trigger || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    const frame = trigger.closest("[data-zoom-frame]");
    if (!frame) return;
    event.preventDefault();
    toggleZoom(frame);
  });

  // --- ← → to the previous / next image of the filter ------------------------------------------
  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  document.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || typing(event.target)) return;
    // An open lightbox has the keys; otherwise the image page (a gallery without one has no links).
    const scope = document.querySelector("dialog.lightbox[open]") || document;
    const link = scope.querySelector(event.key === "ArrowLeft" ? "[data-nav='prev']" : "[data-nav='next']");
    if (!link) return;
    event.preventDefault();
    link.click();
  });

  // --- The lightbox ----------------------------------------------------------------------------
  // The gallery's tiles hx-get an image's lightbox partial into #lightbox: open it as a modal
  // dialog, and when it closes give the focus back to the tile of the image last shown.
  let opener = null;

  document.addEventListener("htmx:beforeRequest", (event) => {
    const source = event.detail.elt;
    if (source && !source.closest("#lightbox") && event.detail.target && event.detail.target.id === "lightbox") {
      opener = source;
    }
  });

  function tileFor(path) {
    const candidates = document.querySelectorAll("[hx-get], a[href]");
    for (const el of candidates) {
      if (el.closest("#lightbox")) continue;
      const url = el.getAttribute("hx-get") || el.getAttribute("href");
      if (url && new URL(url, window.location.href).pathname === path) return el;
    }
    return null;
  }

  function arm(dialog) {
    if (dialog.dataset.armed) return;
    dialog.dataset.armed = "1";
    dialog.addEventListener("close", () => {
      if (!dialog.isConnected) return; // replaced by the next image, not closed
      const box = dialog.parentElement;
      const back = tileFor(dialog.dataset.imagePath) || opener;
      box.replaceChildren();
      opener = null;
      if (back) back.focus();
    });
    // A click on the backdrop (the dialog element itself, outside its content) closes it.
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
    if (!dialog.open) dialog.showModal();
  }

  document.addEventListener("click", (event) => {
    const close = event.target.closest("[data-lightbox-close]");
    if (close) close.closest("dialog").close();
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    reveal(document); // an outerHTML swap leaves event.detail.target outside the page
    const box = document.getElementById("lightbox");
    if (box && event.detail.target && box.contains(event.detail.target)) {
      const dialog = box.querySelector("dialog.lightbox");
      if (dialog) arm(dialog);
    }
  });

  // A review or comment refused for a missing text: put the cursor where the text goes.
  document.addEventListener("htmx:afterSettle", (event) => {
    const id = event.detail.target && event.detail.target.id;
    if (id !== "review" && id !== "comments") return;
    const invalid = document.querySelector(`#${id} .field-invalid textarea`);
    if (invalid) invalid.focus();
  });

  document.addEventListener("DOMContentLoaded", () => reveal(document));
})();
