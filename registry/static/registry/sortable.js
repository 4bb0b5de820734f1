// Sortable tables: a click on a heading's sort button orders the rows by that column
// (numbers by value, text alphabetically; a second click reverses). Each cell may carry
// data-sort with the value to sort by. Served as a file: the CSP forbids inline scripts.
(function () {
  "use strict";

  function value(row, column, type) {
    var cell = row.cells[column];
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    if (type === "number") {
      var number = parseFloat(raw);
      return isNaN(number) ? Infinity : number;  // "—" and "> budget" sort last
    }
    return raw.trim().toLowerCase();
  }

  function sort(table, heading, type) {
    var column = heading.cellIndex;
    var ascending = heading.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, column, type), y = value(b, column, type);
      if (x === y) { return 0; }
      return (x < y ? -1 : 1) * (ascending ? 1 : -1);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    var headings = table.tHead.rows[0].cells;
    for (var i = 0; i < headings.length; i++) { headings[i].removeAttribute("aria-sort"); }
    heading.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    table.querySelectorAll("th button.sort").forEach(function (button) {
      button.addEventListener("click", function () {
        sort(table, button.closest("th"), button.dataset.sortType);
      });
    });
  });
})();
