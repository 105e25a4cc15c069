"""A self-contained HTML page for reviewing proposed edits in a browser.

The page works opened straight from disk: CSS and JavaScript are inline, a Content-Security-
Policy forbids every network request, and the results are downloaded as Blobs. For each change
the reviewer accepts, rejects or picks an alternative; two buttons download the resulting text
and the decisions JSON (the ``repair.review.DecisionLog`` format, so
``repair review --decisions FILE.decisions.json FILE`` applies it later).

The text and the edits travel as JSON inside a ``<script type="application/json">`` element and
are rendered with ``textContent`` only, so nothing in the document can become markup. Offsets
are code points (as in Python); the script walks ``Array.from(text)`` so astral characters
(emoji) count once, exactly as the library counts them.
"""
from __future__ import annotations

import html
import json
from pathlib import PurePath

from .markup import LineIndex
from .review import DECISIONS_FORMAT, DECISIONS_VERSION, ReviewSession, edit_context

# "<", ">" and "&" escaped so the JSON can never close its <script> element
_JSON_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def page_data(session: ReviewSession) -> dict:
    """Everything the page script needs: the text, the edits, and how to label its downloads."""
    lines = LineIndex(session.text)
    edits = []
    for edit in session.edits:
        line, column = lines.line_col(edit.start)
        context = edit_context(session.text, edit)
        edits.append({
            "start": edit.start,
            "end": edit.end,
            "original": edit.original,
            "replacement": edit.replacement,
            "score": edit.score,
            "alternatives": [{"text": a.text, "score": a.score} for a in edit.alternatives],
            "line": line,
            "column": column,
            "before": ("…" if context.truncated_before else "") + context.before,
            "after": context.after + ("…" if context.truncated_after else ""),
        })
    name = session.name or "document.txt"
    path = PurePath(name)
    return {
        "format": DECISIONS_FORMAT,
        "version": DECISIONS_VERSION,
        "name": session.name,
        "sha256": session.sha256,
        "chars": len(session.text),
        "signature": session.signature,
        "text": session.text,
        "edits": edits,
        "downloads": {
            "text": f"{path.stem}.reviewed{path.suffix or '.txt'}",
            "decisions": f"{name}.decisions.json",
        },
    }


def render_review_page(session: ReviewSession, title: str | None = None) -> str:
    data = json.dumps(page_data(session), ensure_ascii=False).translate(_JSON_ESCAPES)
    title = title or f"Review: {session.name or 'document'} ({len(session.edits)} changes)"
    return PAGE.replace("__TITLE__", html.escape(title)).replace("__DATA__", data)


PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
:root { --accept: #1a7f37; --reject: #8c959f; --pending: #bf8700; --bg: #fff; --fg: #1f2328; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); margin: 0; }
header { position: sticky; top: 0; background: var(--soft); border-bottom: 1px solid #d0d7de; padding: .6em 1.2em; display: flex; flex-wrap: wrap; gap: .6em 1.2em; align-items: center; z-index: 1; }
header h1 { font-size: 1.05em; margin: 0; }
header .counts { color: #57606a; }
button { font: inherit; padding: .2em .7em; border: 1px solid #d0d7de; border-radius: 6px; background: #fff; cursor: pointer; }
button:hover { background: #eef1f4; }
button.download { background: #0969da; color: #fff; border-color: #0969da; }
main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1.2em; padding: 1.2em; }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
#document { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--soft); padding: 1em; border-radius: 8px; font-family: ui-serif, Georgia, serif; }
#changes { list-style: none; margin: 0; padding: 0; }
.change { border: 1px solid #d0d7de; border-left: 5px solid var(--pending); border-radius: 6px; padding: .5em .8em; margin-bottom: .7em; }
.change.accept { border-left-color: var(--accept); }
.change.reject { border-left-color: var(--reject); }
.change .meta { color: #57606a; font-size: .85em; }
.change .sentence { margin: .3em 0; }
.change .controls { display: flex; gap: .5em; flex-wrap: wrap; align-items: center; }
button[aria-pressed="true"].accept { background: var(--accept); color: #fff; border-color: var(--accept); }
button[aria-pressed="true"].reject { background: var(--reject); color: #fff; border-color: var(--reject); }
del { color: #cf222e; }
ins { color: var(--accept); text-decoration: none; font-weight: 600; }
.mark { border-radius: 3px; cursor: pointer; padding: 0 1px; }
.mark.pending { background: #fff8c5; text-decoration: underline dotted var(--pending); }
.mark.accept { background: #dafbe1; }
.mark.reject { color: #57606a; text-decoration: underline dotted var(--reject); }
.change.focus { box-shadow: 0 0 0 3px #0969da55; }
</style>
</head>
<body>
<header>
  <h1 id="title"></h1>
  <span class="counts" id="counts"></span>
  <label>accept pending scoring &ge; <input id="bulk-score" type="number" min="0" max="1" step="0.05" value="0.8" style="width:5em"></label>
  <button id="bulk-accept" type="button">accept</button>
  <button id="reset" type="button">reset all</button>
  <button id="download-text" class="download" type="button">Download text</button>
  <button id="download-decisions" class="download" type="button">Download decisions</button>
</header>
<main>
  <section><div id="document" aria-label="document with changes"></div></section>
  <section><ol id="changes" aria-label="changes"></ol></section>
</main>
<script type="application/json" id="review-data">__DATA__</script>
<script>
"use strict";
const DATA = JSON.parse(document.getElementById("review-data").textContent);
const CODEPOINTS = Array.from(DATA.text);
// one state per edit: action null (undecided), "accept" or "reject"; choice 0 = proposed, N = alternative N
const STATE = DATA.edits.map(() => ({ action: null, choice: 0 }));

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) node.append(child);
  return node;
}
function slice(start, end) { return CODEPOINTS.slice(start, end).join(""); }
function chosenText(i) {
  const edit = DATA.edits[i], state = STATE[i];
  return state.choice === 0 ? edit.replacement : edit.alternatives[state.choice - 1].text;
}
function decision(i) {
  const edit = DATA.edits[i], state = STATE[i];
  if (!state.action) return null;
  const reject = state.action === "reject";
  return {
    start: edit.start, end: edit.end, original: edit.original, proposed: edit.replacement,
    action: reject ? "reject" : (state.choice === 0 ? "accept" : "alternative"),
    replacement: reject ? edit.original : chosenText(i),
    score: edit.score,
  };
}
function decisions() { return DATA.edits.map((_, i) => decision(i)).filter(Boolean); }
function resultText() {
  const parts = [];
  let position = 0;
  for (const d of decisions()) {
    if (d.action === "reject" || d.replacement === d.original) continue;
    parts.push(slice(position, d.start), d.replacement);
    position = d.end;
  }
  parts.push(slice(position, CODEPOINTS.length));
  return parts.join("");
}
function decisionLog() {
  const made = decisions();
  return {
    format: DATA.format, version: DATA.version,
    input: { name: DATA.name, sha256: DATA.sha256, chars: DATA.chars },
    signature: DATA.signature,
    complete: made.length === DATA.edits.length,
    decisions: made,
  };
}
function download(filename, content, type) {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = el("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function renderDocument() {
  const root = document.getElementById("document");
  root.replaceChildren();
  let position = 0;
  DATA.edits.forEach((edit, i) => {
    root.append(slice(position, edit.start));
    const action = STATE[i].action || "pending";
    const mark = el("span", { className: "mark " + action, title: `change ${i + 1}: score ${edit.score.toFixed(2)}` });
    mark.dataset.index = i;
    if (action === "accept") mark.append(el("del", {}, edit.original), el("ins", {}, chosenText(i)));
    else mark.append(edit.original);
    mark.addEventListener("click", () => focusChange(i));
    root.append(mark);
    position = edit.end;
  });
  root.append(slice(position, CODEPOINTS.length));
}
function focusChange(i) {
  const item = document.getElementById("change-" + i);
  document.querySelectorAll(".change.focus").forEach((n) => n.classList.remove("focus"));
  item.classList.add("focus");
  item.scrollIntoView({ block: "center" });
}
function renderChange(i) {
  const edit = DATA.edits[i], state = STATE[i];
  const item = document.getElementById("change-" + i);
  item.className = "change " + (state.action || "pending");
  item.querySelector("ins").textContent = chosenText(i);
  item.querySelector("button.accept").setAttribute("aria-pressed", String(state.action === "accept"));
  item.querySelector("button.reject").setAttribute("aria-pressed", String(state.action === "reject"));
  item.querySelector("select").value = String(state.choice);
  item.querySelector(".status").textContent = state.action ? state.action + "ed" : "undecided";
}
function refresh() {
  DATA.edits.forEach((_, i) => renderChange(i));
  renderDocument();
  const made = decisions();
  const applied = made.filter((d) => d.action !== "reject").length;
  document.getElementById("counts").textContent =
    `${made.length} of ${DATA.edits.length} decided · ${applied} applied`;
}
function toggle(i, action) {
  STATE[i].action = STATE[i].action === action ? null : action;
  refresh();
}

function build() {
  document.getElementById("title").textContent = `Review: ${DATA.name || "document"}`;
  const list = document.getElementById("changes");
  DATA.edits.forEach((edit, i) => {
    const select = el("select", { ariaLabel: `replacement for change ${i + 1}` });
    select.append(el("option", { value: "0" }, `${edit.replacement} (proposed, ${edit.score.toFixed(2)})`));
    edit.alternatives.forEach((alt, n) =>
      select.append(el("option", { value: String(n + 1) }, `${alt.text} (alternative ${n + 1}, ${alt.score.toFixed(2)})`)));
    select.addEventListener("change", () => { STATE[i].choice = Number(select.value); STATE[i].action = "accept"; refresh(); });
    const accept = el("button", { type: "button", className: "accept" }, "Accept");
    const reject = el("button", { type: "button", className: "reject" }, "Reject");
    accept.addEventListener("click", () => toggle(i, "accept"));
    reject.addEventListener("click", () => toggle(i, "reject"));
    const item = el("li", { id: "change-" + i },
      el("div", { className: "meta" }, `#${i + 1} · line ${edit.line}, col ${edit.column} · score ${edit.score.toFixed(2)} · `,
         el("span", { className: "status" })),
      el("div", { className: "sentence" }, edit.before, el("del", {}, edit.original), " → ", el("ins"), edit.after),
      el("div", { className: "controls" }, accept, reject, select));
    list.append(item);
  });
  document.getElementById("bulk-accept").addEventListener("click", () => {
    const threshold = Number(document.getElementById("bulk-score").value);
    DATA.edits.forEach((edit, i) => { if (!STATE[i].action && edit.score >= threshold) STATE[i].action = "accept"; });
    refresh();
  });
  document.getElementById("reset").addEventListener("click", () => {
    STATE.forEach((s) => { s.action = null; s.choice = 0; });
    refresh();
  });
  document.getElementById("download-text").addEventListener("click", () =>
    download(DATA.downloads.text, resultText(), "text/plain;charset=utf-8"));
  document.getElementById("download-decisions").addEventListener("click", () =>
    download(DATA.downloads.decisions, JSON.stringify(decisionLog(), null, 2) + "\n", "application/json"));
  refresh();
}
build();
</script>
</body>
</html>
"""
