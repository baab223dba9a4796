// kg serve: run a query from a form and show the answer, without leaving the page.
// Every value from the server is put in the page as text (textContent), never as markup.
"use strict";

(function () {
  const RESULTS = "application/sparql-results+json";

  function compactor(form) {
    const prefixes = JSON.parse(form.dataset.prefixes || "{}");
    const names = Object.keys(prefixes).sort((a, b) => prefixes[b].length - prefixes[a].length);
    return function (iri) {
      for (const name of names) {
        const ns = prefixes[name];
        const local = iri.slice(ns.length);
        if (iri.startsWith(ns) && /^[\w.-]+$/.test(local) && !local.endsWith(".")) {
          return name + ":" + local;
        }
      }
      return "<" + iri + ">";
    };
  }

  function cell(term, form, compact) {
    const td = document.createElement("td");
    if (!term) return td;
    if (term.type === "uri") {
      const base = form.dataset.base || "";
      const a = document.createElement("a");
      a.textContent = compact(term.value);
      if (base && term.value.startsWith(base) && term.value.length > base.length) {
        a.href = (form.dataset.root || "") + "/id/" + term.value.slice(base.length);
      } else if (/^https?:\/\//.test(term.value)) {
        a.href = term.value;
        a.className = "ext";
      } else {
        td.textContent = a.textContent;
        return td;
      }
      td.appendChild(a);
    } else {
      td.textContent = term.type === "bnode" ? "_:" + term.value : term.value;
      const tag = term["xml:lang"] ? "@" + term["xml:lang"] : term.datatype ? compact(term.datatype) : "";
      if (tag) td.title = tag;
    }
    return td;
  }

  function table(data, form) {
    const compact = compactor(form);
    const t = document.createElement("table");
    t.className = "rows";
    const head = t.createTHead().insertRow();
    for (const v of data.head.vars) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = v;
      head.appendChild(th);
    }
    const body = t.createTBody();
    for (const b of data.results.bindings) {
      const tr = body.insertRow();
      for (const v of data.head.vars) tr.appendChild(cell(b[v], form, compact));
    }
    return t;
  }

  function parts(form) {
    return {
      error: form.nextElementSibling && form.nextElementSibling.getAttribute("role") === "alert"
        ? form.nextElementSibling : form.querySelector("[role=alert]"),
      out: form.querySelector("output"),
      results: form.id === "sparql-form" ? document.getElementById("results")
        : form.querySelector(".results"),
    };
  }

  async function run(form) {
    const { error, out, results } = parts(form);
    const button = form.querySelector("button[type=submit]");
    error.hidden = true;
    error.textContent = "";
    out.textContent = "Running…";
    button.disabled = true;
    const started = performance.now();
    try {
      let response;
      if (form.id === "sparql-form") {
        response = await fetch(form.action, {
          method: "POST",
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            Accept: RESULTS + ", text/turtle;q=0.9",
          },
          body: new URLSearchParams({ query: form.elements.query.value }),
        });
      } else {
        const params = new URLSearchParams();
        for (const input of form.querySelectorAll("input[name], select[name]")) {
          if (input.value.trim() !== "") params.append(input.name, input.value.trim());
        }
        const url = form.action + (params.toString() ? "?" + params : "");
        response = await fetch(url, { headers: { Accept: RESULTS } });
      }
      const type = response.headers.get("Content-Type") || "";
      if (!response.ok) {
        let message = response.status + " " + response.statusText;
        try {
          const body = await response.json();
          if (body && body.error) message = body.error;
        } catch (e) { /* not JSON: keep the status line */ }
        throw new Error(message);
      }
      const ms = Math.round(performance.now() - started);
      results.replaceChildren();
      if (type.startsWith(RESULTS) || type.startsWith("application/json")) {
        const data = await response.json();
        if (typeof data.boolean === "boolean") {
          const p = document.createElement("p");
          p.className = "boolean";
          p.textContent = data.boolean ? "Yes" : "No";
          results.appendChild(p);
          out.textContent = "ASK answered in " + ms + " ms";
        } else {
          const n = data.results.bindings.length;
          results.appendChild(table(data, form));
          out.textContent = n + (n === 1 ? " row" : " rows") + " in " + ms + " ms";
        }
      } else {
        const pre = document.createElement("pre");
        pre.className = "graph";
        pre.textContent = await response.text();
        results.appendChild(pre);
        out.textContent = "Triples (" + type.split(";")[0] + ") in " + ms + " ms";
      }
    } catch (e) {
      out.textContent = "";
      results.replaceChildren();
      error.textContent = e.message || String(e);
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  for (const form of document.querySelectorAll("#sparql-form, form.run")) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      run(form);
    });
  }
  const query = document.getElementById("query");
  if (query) {
    query.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        run(query.form);
      }
    });
  }
})();
