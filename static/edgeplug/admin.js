// A refused action on an object's page (a decision, an invoice's void or adjustment) or a list
// action's form (a reference to record) comes back as the whole page, its form far below where
// the page opens and the focus at its top. Bring
// the refusal (.edgeplug-refusal, templates/admin/refusal.html) into view and move the
// keyboard focus to it, so a screen reader reads it: the field it names is focused itself,
// ready to correct. The page marks that field in error and described by the refusal as it is
// served (aria-invalid, aria-describedby), so it reads so without this script too.
document.addEventListener("DOMContentLoaded", () => {
  const refusal = document.querySelector(".edgeplug-refusal");
  if (refusal === null) return;
  const form = refusal.closest("form");
  const field = refusal.dataset.field && form && form.elements.namedItem(refusal.dataset.field);
  const focused = field instanceof HTMLElement ? field : refusal;
  focused.scrollIntoView({ block: "center" });
  focused.focus({ preventScroll: true });
});
