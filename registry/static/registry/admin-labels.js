// Select2 (the admin's autocomplete) names its combobox by the current selection only, so
// an empty field has no accessible name (axe-core: aria-input-field-name). Name it by the
// field's label as well: after the admin has set Select2 up, and in inline rows added later.
"use strict";
(function () {
    function nameComboboxes(root) {
        root.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
            const label = document.querySelector('label[for="' + select.id + '"]');
            const container = select.nextElementSibling;
            const box = container && container.querySelector('.select2-selection[role="combobox"]');
            if (!label || !box) {
                return;
            }
            label.id = label.id || select.id + "-label";
            const names = (box.getAttribute("aria-labelledby") || "").split(" ");
            if (!names.includes(label.id)) {
                box.setAttribute("aria-labelledby", [label.id, ...names].join(" ").trim());
            }
            // The read-only textbox inside it, which shows the selection, likewise.
            const shown = box.querySelector('[role="textbox"]');
            if (shown) {
                shown.setAttribute("aria-labelledby", label.id);
            }
        });
    }
    // The admin sets Select2 up in a jQuery ready callback; one registered after it runs
    // after it (jQuery keeps their order).
    document.addEventListener("DOMContentLoaded", function () {
        window.django.jQuery(function () { nameComboboxes(document); });
    });
    // The two-box filter widget (set up on load) puts an aria-label on a bare <span> icon,
    // where ARIA forbids it (axe-core: aria-prohibited-attr): the icon is an image.
    window.addEventListener("load", function () {
        window.setTimeout(function () {
            document.querySelectorAll("span.help-tooltip[aria-label]:not([role])").forEach(
                function (icon) { icon.setAttribute("role", "img"); }
            );
        }, 0);
    });
    document.addEventListener("formset:added", function (event) { nameComboboxes(event.target); });
})();
