"use strict";
// tracer view: draws the data document of <script id="data"> (html.rs).
// No library, no network. Marks are columns (typed arrays), drawn on one
// canvas with at most one mark per pixel per lane, so a million events cost
// one pass over the visible range per frame, not a million DOM nodes.
(function () {
  const $ = (id) => document.getElementById(id);
  function pageError(msg) {
    const d = document.createElement("div");
    d.className = "js-error";
    d.id = "js-error";
    d.textContent = "page error: " + msg;
    $("warnings").appendChild(d);
  }
  window.addEventListener("error", (e) => pageError(e.message + " at " + e.lineno + ":" + e.colno));
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  function fmtNs(ns) {
    const a = Math.abs(ns);
    if (a < 1e3) return ns.toFixed(0) + " ns";
    if (a < 1e6) return (ns / 1e3).toFixed(a < 1e4 ? 2 : 1) + " µs";
    if (a < 1e9) return (ns / 1e6).toFixed(a < 1e7 ? 2 : 1) + " ms";
    return (ns / 1e9).toFixed(3) + " s";
  }
  function b64(s, T) {
    const bin = atob(s);
    const u = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
    return new T(u.buffer);
  }

  function main() {
    const D = JSON.parse($("data").textContent);
    const M = D.marks;
    const n = M.n;
    const mTs = b64(M.ts, Float64Array), mDur = b64(M.dur, Float64Array);
    const mTh = b64(M.th, Uint32Array), mKind = b64(M.kind, Uint16Array);
    const mFail = b64(M.fail, Uint8Array), mOff = b64(M.off, Uint32Array);
    const text = M.text;
    const markText = (i) => text.substring(mOff[i], mOff[i + 1]);
    const T = D.threads, P = D.procs;
    // Marks are sorted by (thread, ts): each thread's slice of the columns.
    const thFirst = new Int32Array(T.length).fill(0), thEnd = new Int32Array(T.length).fill(0);
    const thMaxDur = new Float64Array(T.length);
    for (let i = 0; i < n; i++) {
      const t = mTh[i];
      if (thEnd[t] === 0) thFirst[t] = i;
      thEnd[t] = i + 1;
      if (mDur[i] > thMaxDur[t]) thMaxDur[t] = mDur[i];
    }

    // ---- colours by kind ----
    // Syscalls by strace class; tracer's events (kind "event:NAME") apart.
    const CLASS = [
      [/^(mmap|munmap|mprotect|brk|madvise|mremap|msync|pkey_mprotect)$/, "#2f6fd6", "memory"],
      [/^(clone3?|v?fork|execve(at)?|exit(_group)?|wait4|waitid|set_tid_address|set_robust_list|rseq|arch_prctl|prctl|prlimit64|futex)$/, "#1e9e5a", "process/thread"],
      [/^(rt_sig.*|kill|tkill|tgkill|sigaltstack|pidfd_send_signal)$/, "#e07b16", "signal calls"],
      [/^event:(fork|exec|exit)$/, "#7c3aed", "fork/exec/exit"],
      [/^event:signal$/, "#b45309", "signal"],
      [/^event:(thread_create|reaped|unreaped)$/, "#db2777", "joins"],
    ];
    const OTHER = "#8a96a8";
    const kindColor = D.kinds.map((k) => (CLASS.find(([re]) => re.test(k)) || [null, OTHER])[1]);
    const legend = $("legend");
    for (const [, c, label] of CLASS.concat([[null, OTHER, "other calls"], [null, "#dc2626", "failed"]])) {
      const s = el("span");
      const i = el("i");
      i.style.background = c;
      s.append(i, label);
      legend.appendChild(s);
    }

    // ---- summary ----
    let calls = 0, errs = 0;
    for (const [, c, e] of D.counts) { calls += c; errs += e; }
    const lostTotal = D.lost.reduce((a, l) => a + l[1], 0);
    const sum = $("summary");
    sum.appendChild(el("h1", "", "tracer view"));
    const item = (k, v, cls) => {
      const s = el("span", cls);
      s.append(k + " ", el("b", "", String(v)));
      sum.appendChild(s);
    };
    item("trace", D.name);
    item("host", D.host || "not recorded");
    item("tracer", D.version || "not recorded");
    item("from", D.start);
    item("span", fmtNs(D.span));
    item("records", D.records);
    item("processes", P.length);
    item("threads", T.length);
    item("syscalls", calls);
    item("failed", errs);
    item("lost", lostTotal, lostTotal ? "err" : "");
    for (const w of D.warnings) $("warnings").appendChild(el("div", "warning", "⚠ " + w));

    // ---- process tree ----
    const MAX_NODES = 5000;
    const tree = $("tree");
    let selected = -1;
    const depthOf = new Int32Array(P.length);
    const treePos = new Int32Array(P.length);
    D.tree.forEach(([p, d], i) => { depthOf[p] = d; treePos[p] = i; });
    const allNode = el("div", "node sel", "all processes");
    allNode.dataset.p = "-1";
    tree.appendChild(allNode);
    const nodes = [allNode];
    D.tree.slice(0, MAX_NODES).forEach(([pi, depth]) => {
      const p = P[pi];
      const node = el("div", "node");
      node.dataset.p = String(pi);
      node.style.paddingLeft = 4 + depth * 14 + "px";
      node.append(el("span", "pid", String(p.pid)), " ", el("span", "comm", p.comms.map((c) => c[1]).filter((c, i, a) => i === 0 || c !== a[i - 1]).join(" → ")));
      const meta = [];
      const born = p.s !== null ? p.s : p.f, died = p.e !== null ? p.e : p.l;
      if (p.exit) meta.push(p.exit);
      meta.push((p.s !== null && p.e !== null ? "lived " : "seen for ") + fmtNs(died - born));
      if (p.reap) meta.push("zombie " + (p.reap.zombie !== null ? fmtNs(p.reap.zombie) : "?") + ", reaped by " + p.reap.by);
      else if (p.unreaped) meta.push("unreaped: " + p.unreaped);
      else if (p.e !== null) meta.push("not reaped in the trace");
      const m = el("span", "meta" + (p.exit && !/with 0$/.test(p.exit) ? " bad" : ""), meta.join(" · "));
      node.appendChild(m);
      node.appendChild(el("span", "tids", "tids " + p.threads.map((t) => T[t].tid).join(", ")));
      tree.appendChild(node);
      nodes.push(node);
    });
    if (D.tree.length > MAX_NODES) tree.appendChild(el("div", "meta", "… " + (D.tree.length - MAX_NODES) + " more processes (on the timeline)"));
    tree.addEventListener("click", (e) => {
      const node = e.target.closest(".node");
      if (!node) return;
      const p = +node.dataset.p;
      selected = p === selected ? -1 : p;
      for (const x of nodes) x.classList.toggle("sel", +x.dataset.p === selected);
      layout();
      fit();
    });

    // ---- lanes ----
    let lanes = []; // thread indices in drawing order
    const laneOf = new Int32Array(T.length);
    function layout() {
      let keep = null;
      if (selected >= 0) {
        keep = new Set([selected]);
        const start = treePos[selected], d0 = depthOf[selected];
        for (let i = start + 1; i < D.tree.length && D.tree[i][1] > d0; i++) keep.add(D.tree[i][0]);
      }
      lanes = [];
      for (const [pi] of D.tree) if (!keep || keep.has(pi)) for (const t of P[pi].threads) lanes.push(t);
      laneOf.fill(-1);
      lanes.forEach((t, i) => { laneOf[t] = i; });
      scrollY = 0;
    }

    // ---- view state ----
    const canvas = $("timeline"), ctx = canvas.getContext("2d"), tip = $("tip");
    const GUTTER = 200, AXIS = 24, LH = 22;
    let v0 = 0, v1 = 1, scrollY = 0, W = 800, H = 300;
    const span = Math.max(D.span, 1);
    let first = true;
    function fit() {
      let lo = Infinity, hi = -Infinity;
      for (const t of lanes) { lo = Math.min(lo, T[t].s); hi = Math.max(hi, T[t].e); }
      for (const t of lanes) { const p = P[T[t].p]; if (p.reap) hi = Math.max(hi, p.reap.t); }
      if (!isFinite(lo)) { lo = 0; hi = span; }
      const pad = Math.max((hi - lo) * 0.02, 50);
      v0 = lo - pad; v1 = hi + pad;
      // A link can name a window: page.html#from=NS&to=NS (ns from the start).
      const h = new URLSearchParams(location.hash.slice(1));
      if (first && h.has("from") && h.has("to") && +h.get("to") > +h.get("from")) { v0 = +h.get("from"); v1 = +h.get("to"); }
      first = false;
      draw();
    }
    const X = (t) => GUTTER + ((t - v0) / (v1 - v0)) * (W - GUTTER - 8);
    const tAt = (x) => v0 + ((x - GUTTER) / (W - GUTTER - 8)) * (v1 - v0);
    const laneY = (i) => AXIS + i * LH - scrollY;

    function resize() {
      const dpr = window.devicePixelRatio || 1;
      W = canvas.parentElement.clientWidth || 800;
      H = Math.max(90, Math.min(AXIS + lanes.length * LH + 4, Math.round(window.innerHeight * 0.66)));
      canvas.style.height = H + "px";
      canvas.width = Math.round(W * dpr);
      canvas.height = Math.round(H * dpr);
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    }

    function lowerBound(lo, hi, t) {
      while (lo < hi) { const m = (lo + hi) >>> 1; if (mTs[m] < t) lo = m + 1; else hi = m; }
      return lo;
    }

    function drawAxis() {
      ctx.fillStyle = "#f6f8fa";
      ctx.fillRect(0, 0, W, AXIS);
      const target = (v1 - v0) / ((W - GUTTER) / 110);
      const p10 = Math.pow(10, Math.floor(Math.log10(Math.max(target, 1e-3))));
      const step = [1, 2, 5, 10].map((k) => k * p10).find((s) => s >= target) || 10 * p10;
      ctx.fillStyle = "#475467";
      ctx.strokeStyle = "#e4e7ec";
      ctx.font = "11px system-ui, sans-serif";
      ctx.textBaseline = "middle";
      for (let t = Math.ceil(v0 / step) * step; t <= v1; t += step) {
        const x = X(t);
        if (x < GUTTER) continue;
        ctx.beginPath(); ctx.moveTo(x + 0.5, AXIS - 6); ctx.lineTo(x + 0.5, H); ctx.stroke();
        ctx.fillText("+" + fmtNs(t), x + 3, AXIS / 2);
      }
    }

    // A curve leaving (x0,y0) rightwards and arriving at (x1,y1) from the left.
    function arrow(x0, y0, x1, y1, color, dashed, label) {
      ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = 1.5;
      ctx.setLineDash(dashed ? [4, 3] : []);
      const bend = Math.max(14, Math.abs(x1 - x0) / 2);
      ctx.beginPath(); ctx.moveTo(x0, y0);
      ctx.bezierCurveTo(x0 + bend, y0, x1 - bend, y1, x1, y1);
      ctx.stroke(); ctx.setLineDash([]);
      ctx.beginPath(); ctx.moveTo(x1, y1); ctx.lineTo(x1 - 7, y1 - 4); ctx.lineTo(x1 - 7, y1 + 4); ctx.closePath(); ctx.fill();
      if (label && Math.abs(x1 - x0) > 110) { ctx.font = "10px system-ui, sans-serif"; ctx.fillText(label, (x0 + x1) / 2 - 35, (y0 + y1) / 2 - 6); }
    }

    const geometry = [];
    function draw() {
      ctx.clearRect(0, 0, W, H);
      const firstLane = Math.max(0, Math.floor(scrollY / LH)), lastLane = Math.min(lanes.length, Math.ceil((scrollY + H - AXIS) / LH));
      geometry.length = 0;
      ctx.font = "12px system-ui, sans-serif";
      ctx.textBaseline = "middle";
      let prevProc = -1;
      for (let li = firstLane; li < lastLane; li++) {
        const t = lanes[li], th = T[t], y = laneY(li);
        if (y + LH < AXIS) continue;
        if (th.p !== prevProc) {
          ctx.fillStyle = (treePos[th.p] % 2) ? "#fafbfc" : "#ffffff";
          ctx.fillRect(0, y, W, LH * P[th.p].threads.length);
          ctx.strokeStyle = "#d0d5dd";
          ctx.beginPath(); ctx.moveTo(0, y + 0.5); ctx.lineTo(W, y + 0.5); ctx.stroke();
          prevProc = th.p;
        }
        // Label.
        ctx.fillStyle = th.tid === th.pid ? "#101828" : "#475467";
        const label = th.tid === th.pid ? "pid " + th.pid + " " + th.comm : "  tid " + th.tid + " " + th.comm;
        ctx.fillText(label.length > 28 ? label.slice(0, 27) + "…" : label, 6 + Math.min(depthOf[th.p], 6) * 6, y + LH / 2);
        // Lifetime bar; a process leader's zombie time after it.
        ctx.save();
        ctx.beginPath(); ctx.rect(GUTTER, AXIS, W - GUTTER, H - AXIS); ctx.clip();
        const xs = X(th.s), xe = Math.max(X(th.e), xs + 2);
        ctx.fillStyle = "#c9d8f5";
        ctx.fillRect(xs, y + 7, xe - xs, 8);
        if (th.born) { ctx.fillStyle = "#1e9e5a"; ctx.fillRect(xs, y + 4, 2, 14); }
        if (th.died) { ctx.fillStyle = "#344054"; ctx.fillRect(xe - 2, y + 4, 2, 14); }
        geometry.push([th.tid, y, y + LH, xs, xe]);
        const p = P[th.p];
        if (th.tid === th.pid && p.reap && p.e !== null) {
          ctx.fillStyle = "rgba(180,35,24,0.25)";
          ctx.fillRect(X(p.e), y + 8, Math.max(X(p.reap.t) - X(p.e), 1), 6);
        }
        // Marks: one per pixel column (the first kind there; red if any failed).
        const a = thFirst[t], b = thEnd[t];
        if (b > a) {
          const pxNs = (v1 - v0) / (W - GUTTER);
          let i = lowerBound(a, b, v0 - thMaxDur[t] - pxNs);
          let lastPx = -1e9;
          for (; i < b && mTs[i] <= v1; i++) {
            const x0 = X(mTs[i]);
            const px = Math.floor(x0);
            const w = Math.max(2, X(mTs[i] + mDur[i]) - x0);
            if (px <= lastPx && w <= 2) {
              if (mFail[i]) { ctx.fillStyle = "#dc2626"; ctx.fillRect(lastPx, y + 2, 2, 18); }
              continue;
            }
            lastPx = px + 1;
            if (mFail[i]) {
              ctx.fillStyle = "#dc2626"; ctx.fillRect(px, y + 2, w, 18);
            } else {
              ctx.fillStyle = kindColor[mKind[i]]; ctx.fillRect(px, y + 5, w, 12);
            }
          }
        }
        ctx.restore();
      }
      // Arrows between visible lanes.
      ctx.save();
      ctx.beginPath(); ctx.rect(GUTTER, AXIS, W - GUTTER, H - AXIS); ctx.clip();
      for (const [k, ft, fts, tt, tts] of D.arrows) {
        const fl = laneOf[ft], tl = laneOf[tt];
        if (fl < 0 || tl < 0) continue;
        if ((fl < firstLane && tl < firstLane) || (fl >= lastLane && tl >= lastLane)) continue;
        const x0 = X(fts), x1 = X(tts);
        if (Math.max(x0, x1) < GUTTER || Math.min(x0, x1) > W) continue;
        if (k === 0) arrow(x0, laneY(fl) + LH / 2, x1, laneY(tl) + LH / 2, "#2563eb", false, "");
        else arrow(x0, laneY(fl) + LH / 2, x1, laneY(tl) + LH / 2, "#9333ea", true, "SIGCHLD → wait4");
      }
      // Lost records: a red band at their time, across every lane.
      for (const [t, c] of D.lost) {
        const x = X(t);
        if (x < GUTTER - 4 || x > W) continue;
        ctx.fillStyle = "rgba(220,38,38,0.22)";
        ctx.fillRect(x - 2, AXIS, 5, H - AXIS);
        ctx.fillStyle = "#b42318";
        ctx.font = "bold 11px system-ui, sans-serif";
        ctx.fillText("lost " + c, x + 4, AXIS + 8);
      }
      ctx.restore();
      drawAxis();
      ctx.strokeStyle = "#d0d5dd";
      ctx.beginPath(); ctx.moveTo(GUTTER - 0.5, 0); ctx.lineTo(GUTTER - 0.5, H); ctx.stroke();
      $("range").textContent = "+" + fmtNs(Math.max(v0, 0)) + " … +" + fmtNs(v1) + " (" + lanes.length + " lanes)";
      const r = canvas.getBoundingClientRect();
      $("lane-geometry").textContent = "canvas " + Math.round(r.left + window.scrollX) + " " + Math.round(r.top + window.scrollY) + " " + (window.devicePixelRatio || 1) + "\n" +
        geometry.map((g) => g.map((v) => Math.round(v)).join(" ")).join("\n");
    }

    // ---- interaction ----
    function zoom(f, atX) {
      const t = tAt(atX === undefined ? (GUTTER + W) / 2 : atX);
      v0 = t - (t - v0) * f; v1 = t + (v1 - t) * f;
      if (v1 - v0 < 10) { v1 = v0 + 10; }
      draw();
    }
    $("zoom-in").onclick = () => zoom(0.5);
    $("zoom-out").onclick = () => zoom(2);
    $("zoom-fit").onclick = () => fit();
    window.addEventListener("keydown", (e) => {
      if (e.key === "+" || e.key === "=") zoom(0.5);
      else if (e.key === "-") zoom(2);
      else if (e.key === "0") fit();
    });
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      const x = e.offsetX;
      if (e.ctrlKey || e.metaKey) zoom(Math.exp(e.deltaY * 0.002), x);
      else if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) { const d = (e.deltaX / (W - GUTTER)) * (v1 - v0); v0 += d; v1 += d; draw(); }
      else { scrollY = Math.max(0, Math.min(scrollY + e.deltaY, Math.max(0, lanes.length * LH - (H - AXIS)))); draw(); }
    }, { passive: false });
    let drag = null;
    canvas.addEventListener("mousedown", (e) => { drag = { x: e.clientX, v0, v1 }; canvas.style.cursor = "grabbing"; });
    window.addEventListener("mouseup", () => { drag = null; canvas.style.cursor = "grab"; });
    window.addEventListener("mousemove", (e) => {
      if (!drag) return;
      const d = ((e.clientX - drag.x) / (W - GUTTER)) * (drag.v1 - drag.v0);
      v0 = drag.v0 - d; v1 = drag.v1 - d;
      draw();
    });
    canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
    canvas.addEventListener("mousemove", (e) => {
      if (drag) { tip.hidden = true; return; }
      const x = e.offsetX, y = e.offsetY;
      const li = Math.floor((y - AXIS + scrollY) / LH);
      if (y < AXIS || li < 0 || li >= lanes.length || x < GUTTER) { tip.hidden = true; return; }
      const t = lanes[li], th = T[t];
      const pxNs = (v1 - v0) / (W - GUTTER), at = tAt(x);
      let best = -1, bestD = 5 * pxNs;
      for (let i = lowerBound(thFirst[t], thEnd[t], at - 5 * pxNs - thMaxDur[t]); i < thEnd[t] && mTs[i] <= at + 5 * pxNs; i++) {
        const d = at < mTs[i] ? mTs[i] - at : Math.max(0, at - mTs[i] - mDur[i]);
        if (d <= bestD) { best = i; bestD = d; }
      }
      let s;
      if (best >= 0) {
        s = "[pid " + th.tid + "] " + markText(best) + "\n+" + fmtNs(mTs[best]) + (mDur[best] ? ", took " + fmtNs(mDur[best]) : "");
      } else {
        const p = P[th.p];
        s = (th.tid === th.pid ? "process " : "thread ") + th.tid + " (" + th.comm + ") of pid " + th.pid + "\n" +
          (th.born ? "created" : "first seen") + " +" + fmtNs(th.s) + ", " + (th.died ? "exited" : "last seen") + " +" + fmtNs(th.e) +
          " (" + fmtNs(th.e - th.s) + ")" + (th.exit ? ", " + th.exit : "") + (th.tid === th.pid && p.reap ? "\n" + p.reap.text : "");
      }
      tip.textContent = s;
      tip.hidden = false;
      tip.style.left = Math.min(x + 14, W - 300) + "px";
      tip.style.top = y + 16 + "px";
    });
    window.addEventListener("resize", () => { resize(); draw(); });

    // ---- details ----
    const tcBox = $("thread-creates");
    if (!D.tc.length) tcBox.appendChild(el("p", "hint", "none in this trace"));
    for (const [t, s] of D.tc.slice(0, 2000)) tcBox.appendChild(el("div", "rec", "[pid " + T[t].tid + "] " + s));
    const exBox = $("exits");
    let shown = 0;
    for (const [pi] of D.tree) {
      const p = P[pi];
      if (!p.exit && !p.reap && !p.unreaped) continue;
      if (++shown > 2000) { exBox.appendChild(el("p", "hint", "… more in the tree")); break; }
      let s = "pid " + p.pid + " (" + p.comms[p.comms.length - 1][1] + ") " + (p.exit || "exit not traced");
      if (p.reap) s += "; reaped by " + p.reap.by + " after " + (p.reap.zombie !== null ? fmtNs(p.reap.zombie) : "?") + " as a zombie\n  " + p.reap.text;
      else if (p.unreaped) s += "; unreaped: " + p.unreaped;
      exBox.appendChild(el("div", "rec", s));
    }
    const tbl = el("table");
    const hr = el("tr");
    for (const h of ["syscall", "calls", "failed"]) hr.appendChild(el("th", "", h));
    tbl.appendChild(hr);
    for (const [k, c, e] of D.counts.slice().sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) {
      const r = el("tr");
      r.append(el("td", "", k), el("td", "", String(c)), el("td", e ? "err" : "", String(e)));
      tbl.appendChild(r);
    }
    $("counts").appendChild(tbl);
    const lostBox = $("lost");
    if (!D.lost.length) lostBox.appendChild(el("p", "hint", "none: every record the kernel produced is in the trace"));
    for (const [t, , s] of D.lost) lostBox.appendChild(el("div", "rec err", "+" + fmtNs(t) + " " + s));

    layout();
    resize();
    fit();
    const ready = el("div", "", "view-ready " + Math.round(performance.now()) + " ms");
    ready.id = "view-ready";
    ready.hidden = true;
    document.body.appendChild(ready);
    document.body.dataset.ready = String(Math.round(performance.now()));
  }
  try {
    main();
  } catch (e) {
    pageError(e && e.stack ? e.stack : String(e));
  }
})();
