/* contact-auditor report: sort the ranking by any column, filter it by industry,
   country and name. Progressive enhancement: without this script the table is
   complete and in rank order, and the filter form stays hidden. No network. */
(function () {
  "use strict";

  function cellValue(row, index) {
    var cell = row.children[index];
    if (!cell) return "";
    var value = cell.getAttribute("data-sort");
    return value === null ? cell.textContent.trim() : value;
  }

  function compare(a, b, numeric) {
    // Empty values ("not measured", unranked) always sort last.
    if (a === "" && b === "") return 0;
    if (a === "") return 1;
    if (b === "") return -1;
    if (numeric) return parseFloat(a) - parseFloat(b);
    return a.localeCompare(b, undefined, { sensitivity: "base", numeric: true });
  }

  function setupSorting(table) {
    var headers = Array.prototype.slice.call(table.querySelectorAll("thead th"));
    var body = table.tBodies[0];
    headers.forEach(function (th, index) {
      var button = th.querySelector("button.sort");
      if (!button) return;
      button.addEventListener("click", function () {
        var current = th.getAttribute("aria-sort");
        var numeric = th.getAttribute("data-type") === "num";
        // Scores read best-first; names and rank read ascending first.
        var firstDir = numeric && index !== 0 ? "descending" : "ascending";
        var dir = current === firstDir ? (firstDir === "ascending" ? "descending" : "ascending") : firstDir;
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var a = cellValue(r1, index), b = cellValue(r2, index);
          if (a === "" || b === "") return compare(a, b, numeric);
          var order = compare(a, b, numeric);
          if (order === 0) order = compare(cellValue(r1, 0), cellValue(r2, 0), true);
          else if (dir === "descending") order = -order;
          return order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
      });
    });
  }

  function setupFilters(form, table) {
    var controls = Array.prototype.slice.call(form.querySelectorAll("[data-filter]"));
    var status = form.querySelector("#filter-status");
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    function apply() {
      var shown = 0;
      var wanted = {};
      controls.forEach(function (c) { wanted[c.getAttribute("data-filter")] = c.value.trim().toLowerCase(); });
      rows.forEach(function (row) {
        var ok = (!wanted.industry || (row.getAttribute("data-industry") || "").toLowerCase() === wanted.industry) &&
                 (!wanted.country || (row.getAttribute("data-country") || "").toLowerCase() === wanted.country) &&
                 (!wanted.name || (row.getAttribute("data-name") || "").toLowerCase().indexOf(wanted.name) !== -1);
        row.hidden = !ok;
        if (ok) shown += 1;
      });
      if (status) {
        status.textContent = shown === rows.length
          ? "Showing all " + rows.length + " companies"
          : "Showing " + shown + " of " + rows.length + " companies";
      }
    }
    controls.forEach(function (c) {
      c.addEventListener(c.tagName === "SELECT" ? "change" : "input", apply);
    });
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    form.hidden = false;
    apply();
  }

  function openDetailsForPrint() {
    window.addEventListener("beforeprint", function () {
      Array.prototype.forEach.call(document.querySelectorAll("details:not([open])"), function (d) {
        d.setAttribute("open", "");
        d.setAttribute("data-print-opened", "");
      });
    });
    window.addEventListener("afterprint", function () {
      Array.prototype.forEach.call(document.querySelectorAll("details[data-print-opened]"), function (d) {
        d.removeAttribute("open");
        d.removeAttribute("data-print-opened");
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.getElementById("ranking");
    if (table) {
      setupSorting(table);
      var form = document.getElementById("filters");
      if (form) setupFilters(form, table);
    }
    openDetailsForPrint();
  });
})();
