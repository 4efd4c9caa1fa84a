// Mamori console: the little interactivity the pages need. No external scripts.
document.addEventListener("submit", (e) => {
  const f = e.target;
  if (f.classList && f.classList.contains("confirm") && !window.confirm(f.dataset.confirm || "OK?")) {
    e.preventDefault();
  }
});
document.addEventListener("click", (e) => {
  const b = e.target.closest && e.target.closest("button.copy");
  if (!b) return;
  const el = document.getElementById(b.dataset.copy);
  if (el && navigator.clipboard) navigator.clipboard.writeText(el.textContent.trim());
});
