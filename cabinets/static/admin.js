// Administration pages: after a form comes back, move focus to what it produced (the error
// summary or the preview), so a screen reader announces it.
document.addEventListener("DOMContentLoaded", () => {
  const target = document.querySelector("[data-autofocus]");
  if (target) target.focus();
});
