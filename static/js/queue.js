// The review queue's keyboard: A approve, R reject, N needs changes (each focuses its note field;
// Enter sends it), F favourite, J/K or →/← next/previous, ? the shortcuts, Esc leaves a field.
// Every shortcut presses a real button or link, so mouse, keyboard and screen reader agree.
(function () {
  "use strict";

  function queue() { return document.getElementById("queue-item"); }

  function press(key) {
    const target = queue() && queue().querySelector(`[data-queue-key="${key}"]`);
    if (!target) return false;
    target.click();
    return true;
  }

  function focusNote(key) {
    const field = queue() && queue().querySelector(`[data-queue-note="${key}"]`);
    if (!field) return false;
    field.focus();
    return true;
  }

  function showHelp() {
    const dialog = document.getElementById("queue-help");
    if (dialog && !dialog.open) dialog.showModal();
    return Boolean(dialog);
  }

  const KEYS = {
    a: () => press("a"),
    f: () => press("f"),
    j: () => press("j"),
    arrowright: () => press("j"),
    k: () => press("k"),
    arrowleft: () => press("k"),
    r: () => focusNote("r"),
    n: () => focusNote("n"),
    "?": showHelp,
  };

  document.addEventListener("keydown", (event) => {
    if (!queue() || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest("input, textarea, select, [contenteditable]")) {
      if (event.key === "Escape") {
        target.blur();
        queue().focus();
      }
      return;
    }
    if (document.querySelector("dialog[open]")) return; // the dialog has Esc and its own button
    const action = KEYS[event.key.toLowerCase()];
    if (action && action()) event.preventDefault();
  });

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-queue-help]")) showHelp();
  });
  // The keys (and so their list) need this script: the button shows only with it.
  document.querySelectorAll("[data-queue-help]").forEach((button) => { button.hidden = false; });

  // After htmx swaps in the next image, focus goes to the queue (or to a note field with an
  // error): the keys keep working and a screen reader stays in place. htmx itself would put it
  // back into the note field just sent (same id), where the next key would be typed. The swaps
  // settle at once (settle:0ms), so no key pressed in between lands in a stale form.
  function refocus(event) {
    const item = queue();
    if (!item || !event.detail.target || event.detail.target.id !== "queue-item") return;
    const invalid = item.querySelector("[aria-invalid='true']");
    (invalid || item).focus();
  }
  document.addEventListener("htmx:afterSwap", refocus);
  document.addEventListener("htmx:afterSettle", refocus);

  document.addEventListener("close", (event) => {
    if (event.target.id === "queue-help" && queue()) queue().focus();
  }, true);
})();
