// Print buttons: a button marked data-print opens the browser's print dialog. Without
// JavaScript the browser's own Print does the same; the print stylesheet hides the rest.
document.querySelectorAll("button[data-print]").forEach(function (b) {
  b.addEventListener("click", function () { window.print(); });
});
