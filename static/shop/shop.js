// Pixel Shop's client side. Nothing here stores or computes balances: every figure on the page is a fragment the
// server rendered from the database. This file only decides *when* fragments fetch themselves again, shows
// progress and errors, and tells other tabs that something changed.
(function () {
  "use strict";

  // Events the server sends in HX-Trigger after a change; fragments listen with `hx-trigger="<event> from:body"`.
  var SERVER_EVENTS = ["balance-changed", "cart-changed", "order-changed"];
  var channel = "BroadcastChannel" in window ? new BroadcastChannel("pixel-shop") : null;

  function refreshFragments(events, origin) {
    events.forEach(function (name) {
      htmx.trigger(document.body, name, { origin: origin });
    });
  }

  // --- Other tabs catch up ------------------------------------------------------------------------------------
  SERVER_EVENTS.forEach(function (name) {
    document.body.addEventListener(name, function (event) {
      // Re-broadcast only what this tab's own server responses announced, never what another tab told us
      // (that would bounce between tabs forever).
      if (channel && !(event.detail && event.detail.origin)) {
        channel.postMessage({ event: name });
      }
    });
  });
  if (channel) {
    channel.onmessage = function (message) {
      if (message.data && SERVER_EVENTS.indexOf(message.data.event) !== -1) {
        refreshFragments([message.data.event], "other-tab");
      }
    };
  }
  // A tab that was in the background may have missed changes made elsewhere (another device, a webhook).
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      refreshFragments(SERVER_EVENTS, "visible-again");
    }
  });
  // A page restored from the back/forward cache shows what it showed when the shopper left it.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      refreshFragments(SERVER_EVENTS, "restored");
    }
  });

  // --- Nothing in Web Storage -----------------------------------------------------------------------------------
  // htmx notes the current path in sessionStorage for its history support, which the shop does not use (no
  // hx-push-url, and no snapshots: historyCacheSize 0 in base.html). A path names a checkout or an order, so it
  // goes too: nothing about points or payments stays in the browser's storage.
  try {
    sessionStorage.removeItem("htmx-current-path-for-history");
  } catch (error) {
    // Storage disabled: then there is nothing to remove.
  }

  // --- Conditional requests for fragments that send an ETag (the balance badge) ---------------------------------
  // The badge is never cached (no-store), so the browser would not revalidate it by itself; we send the last
  // ETag we saw and the server answers 304 when nothing changed, and htmx then leaves the badge as it is.
  var etags = {};
  document.body.addEventListener("htmx:configRequest", function (event) {
    var path = event.detail.path;
    if (event.detail.verb === "get" && etags[path]) {
      event.detail.headers["If-None-Match"] = etags[path];
    }
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    var etag = xhr && xhr.getResponseHeader("ETag");
    if (etag && event.detail.requestConfig && event.detail.requestConfig.verb === "get") {
      etags[event.detail.requestConfig.path] = etag;
    }
  });

  // --- Errors, with a retry ----------------------------------------------------------------------------------
  // One banner, about one request: it goes when that request succeeds (a retry, the next poll), not when some
  // other fragment happens to load meanwhile.
  var banner = null;
  var failedRequest = null;

  function requestKey(detail) {
    var config = detail.requestConfig;
    return config ? config.verb + " " + config.path : null;
  }

  function hideError() {
    if (banner) {
      banner.remove();
      banner = null;
      failedRequest = null;
    }
  }

  function showError(detail, message, retry) {
    hideError();
    failedRequest = requestKey(detail);
    banner = document.createElement("div");
    banner.className = "htmx-error";
    banner.setAttribute("role", "alert");
    var text = document.createElement("span");
    text.textContent = message;
    banner.appendChild(text);
    if (retry) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button small secondary";
      button.textContent = "Retry";
      button.addEventListener("click", function () {
        hideError();
        retry();
      });
      banner.appendChild(button);
    }
    var dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "link dismiss";
    dismiss.setAttribute("aria-label", "Dismiss");
    dismiss.textContent = "×";
    dismiss.addEventListener("click", hideError);
    banner.appendChild(dismiss);
    document.body.appendChild(banner);
  }

  function retryOf(detail) {
    var config = detail.requestConfig;
    if (!config) {
      return null;
    }
    return function () {
      htmx.ajax(config.verb.toUpperCase(), config.path, { source: detail.elt, target: detail.target });
    };
  }

  document.body.addEventListener("htmx:sendError", function (event) {
    showError(event.detail, "We couldn't reach the shop. Check your connection.", retryOf(event.detail));
  });
  document.body.addEventListener("htmx:timeout", function (event) {
    showError(event.detail, "The shop took too long to answer.", retryOf(event.detail));
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    var detail = event.detail;
    var status = detail.xhr.status;
    if (status === 429) {
      showError(detail, "Too many requests. Wait a moment, then retry.", retryOf(detail));
    } else if (status === 403) {
      showError(detail, "Your session changed. Reload the page and try again.", function () {
        window.location.reload();
      });
    } else if (status >= 500) {
      showError(detail, "Something went wrong on our side. Nothing was charged twice.", retryOf(detail));
    } else {
      showError(detail, "That didn't work (error " + status + ").", retryOf(detail));
    }
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful && banner && requestKey(event.detail) === failedRequest) {
      hideError();
    }
  });

  // --- Progress ----------------------------------------------------------------------------------------------
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    event.detail.elt.setAttribute("aria-busy", "true");
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    event.detail.elt.removeAttribute("aria-busy");
  });

  // --- Header menu (a <details>: it works without this) ---------------------------------------------------------
  // A click elsewhere or Escape closes it, as a menu does; Escape gives the focus back to its button.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.removeAttribute("open"); }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  });

  // --- Status changes, announced once ------------------------------------------------------------------------
  // A status region (`data-live-region`, with an id and `hx-preserve`) inside a fragment that swaps keeps its place:
  // htmx leaves the node that screen readers watch in the page, and its content changes here only when the server's
  // says something else. A replaced region is not announced, and the same text written again could be announced
  // again (a form inside keeps its fields then: they were rendered for the same state).
  var liveUpdates = {};

  function spoken(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html;
    return holder.content.textContent.replace(/\s+/g, " ").trim();
  }
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var response = event.detail.serverResponse;
    if (!event.detail.shouldSwap || typeof response !== "string" || response.indexOf("data-live-region") === -1) {
      return;
    }
    var parsed = document.createElement("template");
    parsed.innerHTML = response;
    parsed.content.querySelectorAll("[data-live-region][id]").forEach(function (fresh) {
      liveUpdates[fresh.id] = fresh.innerHTML;
    });
  });
  document.body.addEventListener("htmx:afterSwap", function () {
    Object.keys(liveUpdates).forEach(function (id) {
      var region = document.getElementById(id);
      var html = liveUpdates[id];
      delete liveUpdates[id];
      if (region && spoken(region.innerHTML) !== spoken(html)) {
        region.innerHTML = html;
        htmx.process(region);
      }
    });
  });

  // Links meant for browsers without JavaScript stay hidden while htmx runs.
  document.documentElement.classList.add("js");
})();
