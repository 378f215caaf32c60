/* Redline annotation UI: keyboard shortcuts, panels, blur reveal, conditional fields, break
   reminder. Plain JS, no dependencies; every form also works without it. */
(function () {
  "use strict";
  var page = document.getElementById("page");
  if (!page) { return; }
  var keys = {
    guide: page.getAttribute("data-key-guide") || "g",
    reveal: page.getAttribute("data-key-reveal") || "r",
    skip: page.getAttribute("data-key-skip") || ""
  };
  var form = document.getElementById("label-form") || document.getElementById("adjudicate-form");
  var loaded = Date.now();
  var active = null;

  function show(id, on) {
    var el = document.getElementById(id);
    if (!el) { return; }
    el.hidden = (on === undefined) ? !el.hidden : !on;
  }

  document.addEventListener("click", function (e) {
    var t = e.target.closest("[data-open],[data-close]");
    if (!t) { return; }
    if (t.hasAttribute("data-open")) { show(t.getAttribute("data-open")); }
    else { show(t.getAttribute("data-close"), false); }
  });

  function reveal() {
    var c = document.getElementById("content");
    var b = document.getElementById("reveal");
    if (c) { c.classList.remove("blurred"); }
    if (b) { b.remove(); }
  }
  var rb = document.getElementById("reveal");
  if (rb) { rb.addEventListener("click", reveal); }

  /* conditional fields (FieldSpec.when) */
  function valueOf(name) {
    if (!form) { return ""; }
    var checked = form.querySelector("input[name='" + name + "']:checked");
    if (checked) { return checked.value; }
    var other = form.querySelector("[name='" + name + "']:not([type=radio])");
    return other ? other.value : "";
  }
  function asForm(v) { return v === null ? "" : String(v); }
  function applies(fs) {
    var raw = fs.getAttribute("data-when");
    if (!raw) { return true; }
    var cond = JSON.parse(raw);
    return Object.keys(cond).every(function (k) {
      var want = cond[k], got = valueOf(k);
      if (want !== null && typeof want === "object" && "not" in want) {
        return got !== "" && got !== asForm(want.not);
      }
      return got === asForm(want);
    });
  }
  function fieldsets() { return form ? Array.prototype.slice.call(form.querySelectorAll("fieldset.field[data-field]")) : []; }
  function refresh() {
    fieldsets().forEach(function (fs) {
      var on = applies(fs);
      fs.hidden = !on;
      fs.querySelectorAll("input,textarea,select").forEach(function (i) { i.disabled = !on; });
    });
    var cur = current();
    fieldsets().forEach(function (fs) { fs.classList.toggle("active", fs === cur); });
  }
  function answered(fs) { return !!fs.querySelector("input[type=radio]:checked"); }
  function keyed() { return fieldsets().filter(function (fs) { return !fs.hidden && fs.querySelector("input[data-key]"); }); }
  function current() {
    var fs = keyed();
    if (active && fs.indexOf(active) >= 0 && !answered(active)) { return active; }
    for (var i = 0; i < fs.length; i++) { if (!answered(fs[i])) { return fs[i]; } }
    return (active && fs.indexOf(active) >= 0) ? active : fs[fs.length - 1] || null;
  }
  if (form) {
    form.addEventListener("change", function (e) {
      var fs = e.target.closest("fieldset.field");
      active = null;
      refresh();
      if (fs && !answered(fs)) { active = fs; }
    });
    form.addEventListener("focusin", function (e) {
      var fs = e.target.closest("fieldset.field");
      if (fs) { active = fs; fieldsets().forEach(function (f) { f.classList.toggle("active", f === fs); }); }
    });
    form.addEventListener("submit", function () {
      var d = form.querySelector("input[name=duration_s]");
      if (d) { d.value = ((Date.now() - loaded) / 1000).toFixed(1); }
    });
    refresh();
  }

  function choose(key) {
    var fs = keyed();
    var cur = current();
    var pick = cur && cur.querySelector("input[data-key='" + CSS.escape(key) + "']");
    if (!pick) {
      var hits = fs.map(function (f) { return f.querySelector("input[data-key='" + CSS.escape(key) + "']"); })
        .filter(Boolean);
      if (hits.length === 1) { pick = hits[0]; }
    }
    if (!pick) { return false; }
    pick.checked = true;
    pick.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.metaKey) { return; }
    var t = e.target;
    var typing = t && (t.tagName === "TEXTAREA" || t.tagName === "SELECT" ||
      (t.tagName === "INPUT" && !/^(radio|checkbox|submit|button|hidden)$/.test(t.type)));
    if (e.key === "Escape") {
      show("guide", false);
      if (typing) { t.blur(); }
      return;
    }
    if (e.key === "Enter" && form && (e.ctrlKey || !typing)) {
      if (t && (t.tagName === "BUTTON" || (t.form && t.form !== form))) { return; }
      e.preventDefault();
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      return;
    }
    if (typing || e.ctrlKey) { return; }
    if (e.key === keys.guide) { e.preventDefault(); show("guide"); return; }
    if (e.key === keys.reveal) { e.preventDefault(); reveal(); return; }
    if (keys.skip && e.key === keys.skip) {
      var r = document.getElementById("skip-reason");
      if (r) { e.preventDefault(); r.focus(); }
      return;
    }
    if (choose(e.key)) { e.preventDefault(); }
  });

  /* break reminder */
  var breakIn = parseInt(page.getAttribute("data-break-in") || "", 10);
  var br = document.getElementById("break");
  if (br && br.hidden && breakIn > 0) {
    setTimeout(function () { br.hidden = false; }, breakIn * 1000);
  }
})();
