// oncely console: live updates without reloading. Every element with
// data-live and an id is refreshed from the same URL every few seconds; the
// server renders (and escapes) the HTML, nothing else runs here.
(function () {
  "use strict";
  const live = () => document.querySelectorAll("[data-live][id]");
  if (live().length === 0) return;
  const every = Number(document.body.dataset.refreshMs || 2000);
  let busy = false;
  async function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const res = await fetch(window.location.href, { headers: { "X-Oncely-Live": "1" } });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      for (const el of live()) {
        const fresh = doc.getElementById(el.id);
        if (fresh) el.innerHTML = fresh.innerHTML;
      }
      document.body.dataset.refreshedAt = String(Date.now());
    } catch (e) {
      // The console or the network is down: try again at the next tick.
    } finally {
      busy = false;
    }
  }
  setInterval(refresh, every);
})();
