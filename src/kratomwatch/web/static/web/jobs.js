// A long job's page: ask the server how far the job is once a second and move the progress bar; when the job
// ends, load the page again to show the file or the result. Without this script the page refreshes itself.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.dataset.status !== "running") { return; }
  var bar = document.getElementById("job-progress");
  var text = document.getElementById("job-progress-text");
  var status = document.getElementById("job-status");
  var url = box.dataset.statusUrl;
  function show(state) {
    if (state.percent !== null && state.percent !== undefined) {
      bar.value = state.percent;
      bar.textContent = state.percent + "%";
      text.textContent = state.percent + "% done. This page updates by itself.";
    }
    status.textContent = state.status_text;
    box.dataset.status = state.status;
  }
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (state) {
        show(state);
        if (state.status === "running") { window.setTimeout(poll, 1000); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
}());
