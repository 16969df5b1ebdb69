// Toasts: dismiss on click; success and info toasts leave by themselves, errors and sticky ones stay.
(function () {
  "use strict";
  const AUTO_DISMISS_MS = 6000;

  function dismiss(toast) {
    toast.classList.add("is-leaving");
    setTimeout(() => toast.remove(), 300);
  }

  function arm(root) {
    root.querySelectorAll(".toast:not([data-armed])").forEach((toast) => {
      toast.dataset.armed = "1";
      const sticky = toast.classList.contains("toast-sticky") || toast.classList.contains("toast-error");
      if (!sticky) setTimeout(() => dismiss(toast), AUTO_DISMISS_MS);
    });
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest(".toast-close");
    if (button) dismiss(button.closest(".toast"));
  });
  document.addEventListener("DOMContentLoaded", () => arm(document));
  document.addEventListener("htmx:afterSettle", () => arm(document));

  // Copy buttons: <button data-copy="input-id"> copies that input's value. What they then say
  // comes from <body data-text-…>, in the page's language.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const input = document.getElementById(button.dataset.copy);
    input.select();
    navigator.clipboard.writeText(input.value).then(
      () => { button.textContent = document.body.dataset.textCopied; },
      () => { button.textContent = document.body.dataset.textCopyFailed; },
    );
  });

  // Close an open header menu when clicking elsewhere.
  document.addEventListener("click", (event) => {
    document.querySelectorAll("details.menu[open]").forEach((menu) => {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
})();

// Header menus (<details class="menu">): say on the summary whether the menu is open, and let
// Escape close it and give the focus back to its summary.
(function () {
  "use strict";
  document.addEventListener("toggle", (event) => {
    const menu = event.target;
    if (!(menu instanceof HTMLDetailsElement) || !menu.classList.contains("menu")) return;
    const summary = menu.querySelector(":scope > summary");
    if (summary) summary.setAttribute("aria-expanded", menu.open ? "true" : "false");
  }, true);
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach((menu) => {
      menu.removeAttribute("open");
      const summary = menu.querySelector(":scope > summary");
      if (summary && menu.contains(document.activeElement)) summary.focus();
    });
  });
})();

// An htmx form's answer swaps out the button that had the focus, which would then drop to
// <body>. A new job's card takes it through `autofocus` (htmx focuses what it swaps in with
// that); a form sent back with errors gives it to its first field to fix. So does a whole page
// sent back with errors (a form posted without htmx).
(function () {
  "use strict";
  const focusFirstInvalid = () => {
    if (document.activeElement && document.activeElement !== document.body) return;
    const invalid = document.querySelector('main [aria-invalid="true"]');
    if (invalid) invalid.focus();
  };
  document.addEventListener("htmx:afterSettle", (event) => {
    const config = event.detail.requestConfig;
    if (config && config.verb !== "get") focusFirstInvalid();
  });
  focusFirstInvalid(); // deferred: the page is parsed
})();
