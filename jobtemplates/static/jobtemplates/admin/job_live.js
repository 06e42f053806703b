/* A job's admin page, while the job runs: poll its live state (…/<pk>/live/, staff only) and refresh its
   status, progress bars, log tail and (a meta-job) its graph's node colours and links; stop once the job
   is final. The page names what to poll in a [data-job-live] element (absent for a final job). */
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";

  function percent(progress) {
    return Math.round(progress * 100) + "%";
  }

  function setText(selector, text) {
    document.querySelectorAll(selector).forEach(function (element) {
      element.textContent = text;
    });
  }

  function showProgress(pk, progress) {
    document.querySelectorAll('.job-progress[data-job="' + pk + '"]').forEach(function (bar) {
      const meter = bar.querySelector("progress");
      if (meter) {
        meter.value = Math.round(progress * 100);
      }
      const label = bar.querySelector('[data-live="percent"]');
      if (label) {
        label.textContent = percent(progress);
      }
    });
  }

  function showChild(child, colours) {
    const node = document.querySelector('.job-graph g[data-node="' + CSS.escape(child.name || "") + '"]');
    if (!node) {
      return;
    }
    node.dataset.status = child.status;
    const box = node.querySelector("rect");
    if (box && colours[child.status]) {
      box.setAttribute("fill", colours[child.status]);
    }
    if (node.parentNode.localName !== "a" && child.url) {
      const link = document.createElementNS(SVG, "a");
      link.setAttribute("href", child.url);
      node.parentNode.insertBefore(link, node);
      link.appendChild(node);
    }
  }

  function show(state, colours) {
    setText('[data-live="status"]', state.status);
    showProgress(state.pk, state.progress);
    state.children.forEach(function (child) {
      showProgress(child.pk, child.progress);
      showChild(child, colours);
    });
    const log = document.querySelector('[data-live="log"]');
    if (state.log && log) {
      const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.textContent = state.log.text;
      if (atEnd) {
        log.scrollTop = log.scrollHeight;
      }
    }
    if (state.final) {
      setText('[data-live="final-note"]', "The job is now " + state.status + ": reload the page for its outputs.");
    }
  }

  function start() {
    const log = document.querySelector('[data-live="log"]');
    if (log) {
      log.scrollTop = log.scrollHeight; // the newest lines first in view
    }
    const marker = document.querySelector("[data-job-live]");
    if (!marker) {
      return;
    }
    const url = marker.dataset.jobLive;
    const interval = Number(marker.dataset.interval) || 2000;
    const colours = JSON.parse(marker.dataset.colours || "{}");

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(response.status + " " + response.statusText);
          }
          return response.json();
        })
        .then(function (state) {
          show(state, colours);
          if (!state.final) {
            window.setTimeout(poll, interval);
          }
        })
        .catch(function () {
          window.setTimeout(poll, interval * 5); // the server is away for a moment: ask again, less often
        });
    }

    window.setTimeout(poll, interval);
  }

  // The admin puts a page's scripts in its <head>: start once the page is there.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
