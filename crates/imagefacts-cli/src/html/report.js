// imagefacts report page. It renders the data imagefacts embedded (facts and insights computed
// by the CLI); it computes no fact. Every string from the data is inserted as text.
(function () {
  "use strict";
  var app = document.getElementById("app");

  // The data is gzip-compressed JSON in base64; the browser inflates it.
  function load() {
    var text = atob(document.getElementById("imagefacts-data").textContent.trim());
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }
  if (typeof DecompressionStream === "undefined") {
    app.textContent = "This browser cannot read the page's data (it lacks DecompressionStream); " +
      "open it in a current Chrome, Edge, Firefox or Safari, or read facts.json.";
    return;
  }
  load().then(start, function (e) {
    app.textContent = "The page's data cannot be read: " + e;
  });

  function start(data) {

  // el("td", {className: "num"}, "text", node, ...): children that are strings become text nodes.
  function el(tag, props) {
    var node = document.createElement(tag);
    if (props) {
      for (var k in props) {
        if (!Object.prototype.hasOwnProperty.call(props, k)) continue;
        var v = props[k];
        if (v === undefined || v === null) continue;
        if (k === "dataset") {
          for (var d in v) node.dataset[d] = v[d];
        } else if (k === "aria") {
          for (var a in v) node.setAttribute("aria-" + a, v[a]);
        } else if (k === "onclick" || k === "oninput" || k === "onchange" || k === "onkeydown") {
          node.addEventListener(k.slice(2), v);
        } else {
          node[k] = v;
        }
      }
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function append(node, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  function plural(n, one, many) { return n.toLocaleString("en-US") + " " + (n === 1 ? one : many); }

  var summary = data.summary;
  var rows = data.rows;
  rows.forEach(function (r, i) {
    r.id = i;
    r.search = [r.namespace, r.namespaceList.join(" "), r.image, r.tag, r.digest, r.reference,
      r.status, r.clusterList.join(" "), r.workloadNames.join(" "),
      r.detail.digest || "", r.detail.manifestDigest || ""].join("\n").toLowerCase();
  });

  // ---- header and summary ----
  var errorsText = summary.errorsByKind.map(function (e) { return e[0] + " " + e[1]; }).join(", ");
  var insightText = summary.insights.map(function (e) { return e[1] + " " + e[0]; }).join(", ");
  app.appendChild(el("header", null,
    el("h1", null, "Image facts"),
    el("div", {className: "muted"},
      "facts.json " + summary.version + ", collected " + summary.generatedAt +
      (summary.clusters.length ? "; " + plural(summary.clusters.length, "cluster", "clusters") +
        ": " + summary.clusters.join(", ") : "") +
      (summary.namespace ? "; namespace " + summary.namespace : "") +
      (summary.clusterPlatforms.length ? "; nodes run " + summary.clusterPlatforms.join(", ") : "")),
    el("div", {className: "cards", id: "summary"},
      card("Images", summary.images, null, "images"),
      card("Registries", summary.registries, null, "registries"),
      card("Repositories", summary.repositories, null, "repositories"),
      card("Total size", summary.totalSize, null, "size"),
      card("Errors", summary.errors, errorsText || "none", "errors"),
      card("Insights", summary.insights.reduce(function (n, e) { return n + e[1]; }, 0),
        insightText || "none", "insights"),
      summary.fromCache ? card("From cache", summary.fromCache, null, "cache") : null,
      summary.discoveryErrors ? card("Discovery errors", summary.discoveryErrors, null, "discovery") : null,
      summary.redactions ? card("Redacted", summary.redactions, "secret-looking values hidden", "redactions") : null)));

  function card(label, value, sub, key) {
    return el("div", {className: "card", dataset: {card: key}},
      el("div", {className: "value"}, typeof value === "number" ? value.toLocaleString("en-US") : value),
      el("div", {className: "label"}, label),
      sub ? el("div", {className: "sub"}, sub) : null);
  }

  // ---- insights, worst first (the CLI's order) ----
  var insightSection = el("section", {id: "insights"}, el("h2", null, "Insights"));
  if (data.insights.length === 0) {
    insightSection.appendChild(el("p", {className: "muted"}, "No insight: every check passed."));
  } else {
    var insightList = el("ul", {className: "insights"});
    var shownInsights = 0;
    var moreInsights = el("button", {type: "button", id: "more-insights", className: "link",
      onclick: function () { showInsights(data.insights.length); }});
    var showInsights = function (upTo) {
      data.insights.slice(shownInsights, upTo).forEach(function (s) { insightList.appendChild(insight(s)); });
      shownInsights = Math.max(shownInsights, Math.min(upTo, data.insights.length));
      moreInsights.hidden = shownInsights >= data.insights.length;
      moreInsights.textContent = "Show all " + data.insights.length.toLocaleString("en-US") +
        " insights (" + (data.insights.length - shownInsights).toLocaleString("en-US") + " more)";
    };
    insightSection.appendChild(insightList);
    insightSection.appendChild(moreInsights);
    showInsights(20);
  }
  function insight(s) {
      return el("li", {className: "insight " + s.severity, dataset: {name: s.name}},
        el("span", {className: "sev sev-" + s.severity}, s.severity),
        el("span", {className: "title"}, s.title),
        el("p", {className: "detail"}, s.detail),
        s.hint && s.detail.indexOf(s.hint) < 0 ? el("p", {className: "hint"}, "Hint: " + s.hint) : null,
        (s.workload || s.image) ? el("p", {className: "meta"},
          s.workload ? ["Workload: ", el("span", {className: "mono"}, s.workload)] : null,
          s.workload && s.image ? " \u00b7 " : null,
          s.image ? ["Image: ", el("button", {className: "link mono", type: "button",
            title: "Show this image in the table",
            onclick: function () { showOnly(s.image); }}, s.image)] : null) : null);
  }
  app.appendChild(insightSection);

  // ---- charts ----
  function bars(title, items, cls) {
    var max = items.reduce(function (m, b) { return Math.max(m, b[1]); }, 0) || 1;
    return el("div", {className: "chart"}, el("h3", null, title),
      items.length === 0 ? el("p", {className: "muted"}, "none") : items.map(function (b) {
        var bar = el("div", {className: "bar" + (cls ? " " + cls : "")});
        bar.style.width = (100 * b[1] / max).toFixed(1) + "%";
        return el("div", {className: "bar-row"},
          el("span", {className: "bar-label", title: b[0]}, b[0]),
          el("div", {className: "bar-track"}, bar),
          el("span", {className: "bar-value"}, b[2]));
      }));
  }
  app.appendChild(el("section", {id: "charts"}, el("h2", null, "At a glance"),
    el("div", {className: "charts"},
      bars("Errors by kind", data.charts.errorsByKind, "error"),
      bars("Largest images", data.charts.largest, null))));

  // ---- the image table ----
  var columns = [
    {key: "namespace", label: "Namespace"},
    {key: "image", label: "Image"},
    {key: "tag", label: "Tag"},
    {key: "digest", label: "Digest"},
    {key: "platforms", label: "Platforms"},
    {key: "size", label: "Size", num: "sizeBytes"},
    {key: "age", label: "Age", num: "ageSeconds"},
    {key: "workloads", label: "Workloads", num: "workloads"},
    {key: "drift", label: "Drift"},
    {key: "status", label: "Status"}
  ];
  if (data.fleet) columns.unshift({key: "clusters", label: "Clusters"});

  var state = {text: "", namespace: "", status: "", sort: null, dir: 1, page: 0, pageSize: 100,
    open: {}};
  var filterInput = el("input", {type: "search", id: "filter", placeholder:
    "Filter by image, tag, digest, namespace, workload\u2026", aria: {label: "Filter images"},
    oninput: onFilter, onchange: onFilter});
  function onFilter() {
    var text = filterInput.value.trim().toLowerCase();
    if (text === state.text) return;
    state.text = text; state.page = 0; render();
  }
  var nsSelect = el("select", {id: "namespace", aria: {label: "Namespace"},
    onchange: function () { state.namespace = nsSelect.value; state.page = 0; render(); }},
    el("option", {value: ""}, "All namespaces"),
    data.namespaces.map(function (n) { return el("option", {value: n}, n); }));
  var statusSelect = el("select", {id: "status", aria: {label: "Status"},
    onchange: function () { state.status = statusSelect.value; state.page = 0; render(); }},
    el("option", {value: ""}, "Every status"),
    el("option", {value: "group:failed"}, "Any error or partial"),
    data.statuses.map(function (s) { return el("option", {value: s[0]}, s[0] + " (" + s[1] + ")"); }));
  var sizeSelect = el("select", {id: "page-size", aria: {label: "Rows per page"},
    onchange: function () { state.pageSize = Number(sizeSelect.value); state.page = 0; render(); }},
    [50, 100, 250, 1000].map(function (n) {
      return el("option", {value: String(n), selected: n === 100}, n + " per page");
    }));
  var count = el("span", {id: "count", className: "muted", aria: {live: "polite"}});
  var prev = el("button", {type: "button", id: "prev",
    onclick: function () { state.page--; render(); }}, "\u2039 Previous");
  var next = el("button", {type: "button", id: "next",
    onclick: function () { state.page++; render(); }}, "Next \u203a");
  var pageText = el("span", {id: "page", className: "muted"});

  var headRow = el("tr", null, el("th", {scope: "col"}, el("span", {className: "toggle"})),
    columns.map(function (c) {
      var th = el("th", {scope: "col", dataset: {key: c.key}, aria: {sort: "none"}},
        el("button", {type: "button", title: "Sort by " + c.label.toLowerCase(),
          onclick: function () {
            if (state.sort === c) { state.dir = -state.dir; } else { state.sort = c; state.dir = c.num ? -1 : 1; }
            state.page = 0; render();
          }}, c.label));
      c.th = th;
      return th;
    }));
  var tbody = el("tbody", {id: "rows"});
  var table = el("table", {className: "images", id: "images"}, el("thead", null, headRow), tbody);

  app.appendChild(el("section", {id: "images-section"},
    el("h2", null, "Images"),
    el("div", {className: "controls"}, filterInput, nsSelect, statusSelect, sizeSelect, count),
    table,
    el("div", {className: "pager"}, prev, pageText, next)));

  if (data.discoveryErrors.length) {
    app.appendChild(el("section", {id: "discovery-errors"}, el("h2", null, "Discovery errors"),
      el("ul", {className: "plain"}, data.discoveryErrors.map(function (e) {
        return el("li", {className: "mono"}, e);
      }))));
  }
  app.appendChild(el("footer", null, "Written by imagefacts " + summary.tool + " at " + summary.now +
    ". The page shows a copy of facts.json and image-facts/analysis.json; it loads nothing."));

  function showOnly(text) {
    filterInput.value = text;
    state.text = text.toLowerCase();
    state.namespace = ""; nsSelect.value = "";
    state.status = ""; statusSelect.value = "";
    state.page = 0;
    render();
    table.scrollIntoView();
  }

  function matches(r) {
    if (state.text && r.search.indexOf(state.text) < 0) return false;
    if (state.namespace && r.namespaceList.indexOf(state.namespace) < 0) return false;
    if (state.status === "group:failed") return r.statusGroup === "error" || r.statusGroup === "partial";
    if (state.status && r.status !== state.status) return false;
    return true;
  }

  function compare(a, b) {
    var c = state.sort;
    if (c.num) {
      var x = a[c.num], y = b[c.num];
      // Unknown values (an age without a creation time) sort last either way.
      if (x === null && y === null) return a.id - b.id;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x - y) * state.dir || a.id - b.id;
    }
    var x = String(a[c.key]), y = String(b[c.key]);
    // "-" (nothing known) sorts last either way, as the CLI's order puts it.
    if (x === "-" && y !== "-") return 1;
    if (y === "-" && x !== "-") return -1;
    return x.localeCompare(y) * state.dir || a.id - b.id;
  }

  function render() {
    var shown = rows.filter(matches);
    if (state.sort) shown.sort(compare);
    columns.forEach(function (c) {
      c.th.setAttribute("aria-sort", state.sort === c ? (state.dir > 0 ? "ascending" : "descending") : "none");
    });
    var pages = Math.max(1, Math.ceil(shown.length / state.pageSize));
    state.page = Math.min(Math.max(state.page, 0), pages - 1);
    var start = state.page * state.pageSize;
    var page = shown.slice(start, start + state.pageSize);
    var frag = document.createDocumentFragment();
    page.forEach(function (r) {
      frag.appendChild(row(r));
      if (state.open[r.id]) frag.appendChild(detailRow(r));
    });
    if (page.length === 0) {
      frag.appendChild(el("tr", null, el("td", {className: "empty", colSpan: columns.length + 1},
        "No image matches.")));
    }
    tbody.replaceChildren(frag);
    count.textContent = shown.length === rows.length
      ? plural(rows.length, "image", "images")
      : plural(shown.length, "image", "images") + " of " + rows.length.toLocaleString("en-US") + " match";
    pageText.textContent = shown.length
      ? (start + 1).toLocaleString("en-US") + "\u2013" + (start + page.length).toLocaleString("en-US") +
        " of " + shown.length.toLocaleString("en-US") + " (page " + (state.page + 1) + " of " + pages + ")"
      : "";
    prev.disabled = state.page === 0;
    next.disabled = state.page >= pages - 1;
  }

  function row(r) {
    var toggle = el("button", {type: "button", className: "toggle",
      aria: {expanded: state.open[r.id] ? "true" : "false", label: "Details of " + r.reference}},
      state.open[r.id] ? "\u25be" : "\u25b8");
    var tr = el("tr", {className: "image-row" + (state.open[r.id] ? " open" : ""),
      dataset: {id: String(r.id), status: r.status}, onclick: function () {
        if (state.open[r.id]) delete state.open[r.id]; else state.open[r.id] = true;
        render();
      }}, el("td", null, toggle));
    columns.forEach(function (c) {
      var td;
      if (c.key === "platforms") {
        td = el("td", null, r.platformList.length === 0 ? "-" : r.platformList.map(function (p) {
          return el("span", {className: "plat" + (p[1] ? " runs" : ""),
            title: p[1] ? "the cluster runs this platform" : ""}, p[0]);
        }));
      } else if (c.key === "status") {
        td = el("td", {className: "status " + r.statusGroup}, r.status);
      } else if (c.key === "drift") {
        td = el("td", {className: r.drift === "yes" ? "drift-yes" : ""}, r.drift);
      } else if (c.key === "digest") {
        td = el("td", {className: "mono", title: r.detail.digest || ""}, r.digest);
      } else if (c.key === "image") {
        td = el("td", {title: r.reference}, r.image);
      } else {
        td = el("td", {className: c.num ? "num" : ""}, String(r[c.key]));
      }
      td.dataset.col = c.key;
      tr.appendChild(td);
    });
    return tr;
  }

  function facts(pairs) {
    return el("dl", {className: "facts"}, pairs.filter(function (p) {
      return p[1] !== null && p[1] !== undefined && p[1] !== "" && !(Array.isArray(p[1]) && p[1].length === 0);
    }).map(function (p) {
      var v = p[1];
      return [el("dt", null, p[0]), el("dd", {className: p[2] ? "mono" : ""},
        Array.isArray(v) ? v.join(" ") : String(v))];
    }));
  }

  function list(items, mono) {
    return el("ul", {className: "plain"}, items.map(function (i) {
      return el("li", {className: mono ? "mono" : ""}, i);
    }));
  }

  function sub(head, body) {
    return el("table", {className: "sub"}, el("thead", null, el("tr", null, head.map(function (h) {
      return el("th", null, h);
    }))), el("tbody", null, body.map(function (cells) {
      return el("tr", null, cells.map(function (c, i) {
        // A cell is text, or {mono: text} for a digest, a key or a media type.
        var mono = c !== null && typeof c === "object";
        var cls = mono ? "mono" : head[i] === "Size" || head[i] === "#" ? "num" : "";
        return el("td", {className: cls}, String(mono ? c.mono : c));
      }));
    })));
  }

  function detailRow(r) {
    var d = r.detail;
    var left = el("div", {className: "detail-left"});
    var right = el("div", {className: "detail-right"});
    if (d.error) {
      left.appendChild(el("div", {className: "error-box", dataset: {kind: d.error.kind}},
        el("strong", null, (d.error.partial ? "Partial: " : "Error: ") + d.error.kind +
          (d.error.step ? " (step " + d.error.step + ")" : "")),
        el("div", null, d.error.message),
        el("div", {className: "muted"}, [
          d.error.status ? "HTTP " + d.error.status : null,
          d.error.code ? "code " + d.error.code : null,
          d.error.attempts ? plural(d.error.attempts, "attempt", "attempts") : null,
          d.error.retryable ? "retryable" : "not retryable"
        ].filter(Boolean).join(" \u00b7 "))));
    }
    left.appendChild(el("h3", null, "Image"));
    left.appendChild(facts([
      ["Reference", r.reference, true],
      ["Digest", d.digest, true],
      ["Manifest", d.manifestDigest, true],
      ["Config", d.configDigest, true],
      ["Tag now names", d.tagDigest, true],
      ["Media type", d.mediaType, true],
      ["Created", d.created],
      ["Platform", d.platform],
      ["Clusters", r.clusterList.join(", ")],
      ["Source", d.source + (d.endpoint ? " (" + d.endpoint + ")" : "")],
      ["Credentials", d.authSource],
      ["Collected", d.collectedAt],
      ["Nearest tags", d.nearestTags.join(", ")]
    ]));
    if (d.platforms.length) {
      left.appendChild(el("h3", null, "Platforms"));
      left.appendChild(sub(["Platform", "Manifest", "Size", "Layers", "Notes"], d.platforms.map(function (p) {
        return [p.platform + (p.runs ? " (runs here)" : ""), {mono: p.manifestDigest}, p.size, String(p.layers),
          [p.primary ? "shown" : null, p.notFetched ? "not fetched" : null, p.error].filter(Boolean).join("; ")];
      })));
    }
    var layers = d.layers.map(function (i) { return data.layers[i]; });
    left.appendChild(el("h3", null, "Layers (" + layers.length + ", " + d.layersSize + ")"));
    if (layers.length) {
      var layerTable = sub(["#", "Digest", "Size", "Media type"], layers.map(function (l, i) {
        return [String(i + 1), {mono: l[0]}, l[3], {mono: data.mediaTypes[l[2]]}];
      }));
      layerTable.classList.add("layers");
      left.appendChild(layerTable);
    } else {
      left.appendChild(el("p", {className: "muted"}, "none known"));
    }

    var c = d.config;
    right.appendChild(el("h3", null, "Config"));
    right.appendChild(facts([
      ["User", c.user, true], ["Working dir", c.workingDir, true],
      ["Entrypoint", c.entrypoint.length ? JSON.stringify(c.entrypoint) : "", true],
      ["Cmd", c.cmd.length ? JSON.stringify(c.cmd) : "", true],
      ["Ports", c.exposedPorts.join(", "), true], ["Volumes", c.volumes.join(", "), true]
    ]));
    if (c.env.length) { right.appendChild(el("h3", null, "Environment")); right.appendChild(list(c.env, true)); }
    var labels = Object.keys(d.labels);
    if (labels.length) {
      right.appendChild(el("h3", null, "Labels"));
      var labelTable = sub(["Label", "Value"], labels.map(function (k) { return [{mono: k}, d.labels[k]]; }));
      labelTable.classList.add("labels");
      right.appendChild(labelTable);
    }
    if (d.buildInfo.length) {
      right.appendChild(el("h3", null, "Build info"));
      right.appendChild(facts(d.buildInfo.map(function (b) { return [b[0], b[1], b[0] === "revision"]; })));
    }
    right.appendChild(el("h3", null, "Workloads (" + r.workloadNames.length + ")"));
    right.appendChild(r.workloadNames.length ? list(r.workloadNames, false) : el("p", {className: "muted"}, "none"));
    if (d.runningDigests.length) {
      right.appendChild(el("h3", null, "Running digests"));
      right.appendChild(sub(["Digest", "Kind", "Pods"], d.runningDigests.map(function (x) {
        return [{mono: x[0]}, x[1], x[2].join(", ")];
      })));
    }
    if (d.nodes.length) {
      right.appendChild(el("h3", null, "Nodes holding it"));
      right.appendChild(sub(["Node", "Digest", "Size"], d.nodes.map(function (n) {
        return [n[0], {mono: n[1] || "-"}, n[2]];
      })));
    }
    if (d.pullSecrets.length) { right.appendChild(el("h3", null, "Pull secrets")); right.appendChild(list(d.pullSecrets, true)); }
    if (d.pullFailures.length) { right.appendChild(el("h3", null, "Pull failures")); right.appendChild(list(d.pullFailures, false)); }
    var td = el("td", {colSpan: columns.length + 1},
      el("div", {className: "detail-grid"}, left, right));
    var tr = el("tr", {className: "detail-row", dataset: {id: String(r.id)}}, td);
    return tr;
  }

  render();
  document.documentElement.dataset.ready = "1";
  if (window.performance && performance.mark) performance.mark("imagefacts-ready");
  }
})();
