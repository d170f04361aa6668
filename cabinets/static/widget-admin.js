// The widget page: a copy button for the code, and the code and the preview following the
// button's words as they are typed. Without script the page works as it is: the code is in a
// read-only field, and «Обновить код» asks the server for it.
document.addEventListener("DOMContentLoaded", () => {
  const code = document.getElementById("widget-code");
  const copy = document.getElementById("copy-code");
  const status = document.getElementById("copy-status");
  const label = document.getElementById("f-label");
  if (!code || !copy) return;
  copy.hidden = false;
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(code.value);
    } catch (refused) {
      code.select();
      document.execCommand("copy");
    }
    status.textContent = "Код скопирован.";
  });
  if (!label) return;
  const escape = (text) => text.replace(/&/g, "&amp;").replace(/"/g, "&quot;")
    .replace(/</g, "&lt;").replace(/>/g, "&gt;");
  label.addEventListener("input", () => {
    const words = label.value.trim().replace(/\s+/g, " ") || code.dataset.default;
    const to = encodeURIComponent(code.dataset.slug);
    const custom = words === code.dataset.default ? "" : ` data-label="${escape(words)}"`;
    code.value = `<script src="${code.dataset.base}/widget/${to}.js"${custom} async></script>\n` +
      `<noscript><a href="${code.dataset.base}/write?to=${to}">${escape(words)}</a></noscript>`;
    const button = document.querySelector("#widget-preview .priemnaya-widget");
    if (button) button.textContent = words;
    status.textContent = "";
  });
});
