/* The «Сообщить о проблеме» button of one organization: put
   <script src="…/widget/SLUG.js" async></script> where the button belongs;
   data-label="…" on the tag changes its text. */
(function () {
  var here = document.currentScript;
  if (!here || !here.parentNode) return;
  var link = document.createElement("a");
  link.href = {{ form_url | tojson }};
  link.target = "_blank";
  link.rel = "noopener";
  link.textContent = here.getAttribute("data-label") || {{ label | tojson }};
  link.className = "priemnaya-widget";
  /* Style properties, not a style attribute: a strict CSP on the host site allows these. */
  var look = {
    display: "inline-block", padding: "0.6em 1.2em", borderRadius: "0.4em",
    background: "#1f5fbf", color: "#fff", textDecoration: "none",
    font: "600 16px/1.2 system-ui, sans-serif"
  };
  for (var name in look) link.style[name] = look[name];
  here.parentNode.insertBefore(link, here.nextSibling);
})();
