// Live status of queued and running jobs (analyses, reports): each [data-poll-url] element
// names the job in the API; poll it every two seconds, show its status and progress, and
// reload the page when the job is done so that the page shows the result. A file, not an
// inline script: the Content-Security-Policy allows scripts from this origin only.
(function () {
  "use strict";
  var FINISHED = ["done", "failed"];
  var boxes = document.querySelectorAll("[data-poll-url]");

  function show(box, job) {
    var status = box.querySelector("[data-field=status]");
    var progress = box.querySelector("[data-field=progress]");
    var bar = box.querySelector("progress");
    if (status) { status.textContent = job.status === "pending" ? "queued" : job.status; }
    if (progress) { progress.textContent = job.progress + "%"; }
    if (bar) { bar.value = job.progress; }
  }

  function poll(box) {
    fetch(box.dataset.pollUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (job) {
        show(box, job);
        if (FINISHED.indexOf(job.status) >= 0) {
          window.location.reload();
        } else {
          window.setTimeout(function () { poll(box); }, 2000);
        }
      })
      .catch(function () {
        // A passing network fault or a restart: try again a little later.
        window.setTimeout(function () { poll(box); }, 5000);
      });
  }

  for (var i = 0; i < boxes.length; i++) { poll(boxes[i]); }
})();
