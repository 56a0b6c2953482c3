// A form that acts is sent once: a second click while its page still loads (a double-click, a
// busy server) would act twice, as two adjustment lines or two payment retries in the admin,
// or, in the vendor portal, as a second plan, key or invitation refused as already there,
// hiding that the first was made; in the admin, a second Save of an add page would meet the
// row the first added (a tenant's slug taken). The forms: in the admin an object's action
// (marked data-submit-once), a list action and its confirmation (#changelist-form), and every
// form that posts on an add or change page (Django's own form; its <body class="change-form">);
// in the portal every form that posts (its <body data-submit-once>). Each of them leads to
// another page; back on this one from the browser's history it may be sent again.
const ACTING_FORMS = [
  "form[data-submit-once]",
  "#changelist-form",
  "body.change-form form[method=post]",
  "body[data-submit-once] form[method=post]",
].join(", ");
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.matches(ACTING_FORMS)) return;
  if (event.defaultPrevented) return; // another handler kept it (a confirmation declined)
  if (form.dataset.sent === "true") {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "true";
});
window.addEventListener("pageshow", () => {
  for (const form of document.querySelectorAll("form[data-sent]")) delete form.dataset.sent;
});
