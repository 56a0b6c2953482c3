// A form the server refused comes back as the whole page: on a long page (a reviews page, the
// pricing page's plans) its refusal would sit far below where the page opens. Bring the first
// refusal (or the first field in error) into view and move the keyboard focus to it, so a
// screen reader reads it too: a field in error is focused itself, ready to correct, and read
// with its error (its aria-describedby). Without JavaScript the page still shows it, further
// down.
document.addEventListener("DOMContentLoaded", () => {
  let refused = document.querySelector(".refusal[role=alert], .field.invalid");
  if (refused === null) return;
  const control = refused.matches(".field") && refused.querySelector("input, select, textarea");
  if (control) {
    refused = control;
  } else {
    refused.setAttribute("tabindex", "-1");
  }
  refused.scrollIntoView({ block: "center" });
  refused.focus({ preventScroll: true });
});
