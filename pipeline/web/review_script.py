"""The caption editor's one script (`pipeline.web.review_page` puts it on the page).

It holds no data: the page's address carries the token in its fragment
(`#token=...&session=SLUG`, never sent to the server, so never in a log or a Referer),
and every call to the API sends it in the `X-Review-Token` header. Text goes into the
page only through `textContent` and form values, never `innerHTML`.

Keys (in the editor; none fires while a Korean IME is composing, `isComposing`):
Enter saves the cue and moves to the next (an unchanged cue is marked reviewed), Escape
puts back the saved text and times, Alt+R plays the current cue again, Alt+N jumps to the
next cue flagged and not yet reviewed, Alt+S splits the cue at the caret, Alt+M merges it
with the next. Alt keys are read by position (`event.code`), so they work with a Korean
layout, and they clash with no text editing and no IME switch (Ctrl+Space switches the
input language on macOS and many Linux desktops; Alt+letters type nothing here).
"""

from __future__ import annotations

REVIEW_JS = r"""
"use strict";
(() => {
const $ = (id) => document.getElementById(id);
const listView = $("list-view"), editView = $("editor-view"), list = $("sessions");
const video = $("player"), cuesBox = $("cues"), status = $("status"), progress = $("progress");
const form = $("edit"), textBox = $("edit-text"), startBox = $("edit-start"),
      endBox = $("edit-end"), conflictBox = $("conflict"), conflictText = $("conflict-text");
let token = "", session = null, current = -1, stopAt = null, busy = false, track = null;

const enc = encodeURIComponent;
const say = (text) => { status.textContent = text; };
const seconds = (value) => String(Math.round(value * 1000) / 1000);
const clock = (value) => {
  const whole = Math.floor(value), rest = (value - whole).toFixed(1).slice(1);
  return Math.floor(whole / 60) + ":" + String(whole % 60).padStart(2, "0") + rest;
};
const here = (slug) => "#" + new URLSearchParams(slug ? {token, session: slug} : {token});

async function api(path, body) {
  const options = {headers: {"X-Review-Token": token}, cache: "no-store", credentials: "omit"};
  if (body !== undefined) {
    options.method = "POST";
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = {};
  try { data = await response.json(); } catch (error) { data = {}; }
  return {status: response.status, data};
}

function progressText(done, total) {
  return "검수 " + done + "/" + total + (total > 0 && done === total ? " · 검수 완료" : "");
}

async function showList() {
  const {status: code, data} = await api("/api/sessions");
  if (code !== 200) { say("세션 목록을 읽지 못했습니다: " + (data.error || code)); return; }
  list.replaceChildren(...data.sessions.map((item) => {
    const li = document.createElement("li"), link = document.createElement("a");
    link.href = here(item.slug);
    link.textContent = item.title;
    const count = document.createElement("span");
    count.className = "count";
    count.textContent = progressText(item.reviewed, item.total)
      + (item.flagged ? " · 검토 필요 " + item.flagged : "");
    li.append(link, " ", count);
    return li;
  }));
  editView.hidden = true;
  listView.hidden = false;
  document.title = $("forum-title").textContent + " - 자막 검수";
}

async function openSession(slug, keep) {
  const {status: code, data} = await api("/api/sessions/" + enc(slug));
  if (code !== 200) { say("세션을 열지 못했습니다: " + (data.error || code)); return; }
  const same = session && session.slug === data.slug;
  session = data;
  $("session-title").textContent = data.title;
  document.title = data.title + " - 자막 검수";
  if (!same) {
    video.hidden = !data.clip;
    if (data.clip) video.src = "/media/" + enc(slug);
  }
  conflictBox.hidden = true;
  render();
  listView.hidden = true;
  editView.hidden = false;
  const index = keep ? session.cues.findIndex((cue) => cue.id === keep) : -1;
  if (index >= 0) select(index, false);
}

function row(cue, index) {
  const li = document.createElement("li"), button = document.createElement("button");
  li.className = "cue" + (cue.flagged ? " flagged" : "") + (cue.reviewed ? " reviewed" : "");
  li.id = "cue-" + cue.id;
  button.type = "button";
  button.className = "cue-play";
  const time = document.createElement("span");
  time.className = "time";
  time.textContent = clock(cue.start) + "–" + clock(cue.end);
  button.append(time);
  if (cue.flagged) {
    const flag = document.createElement("span");
    flag.className = "flag";
    flag.textContent = "⚑ 검토 필요";
    button.append(" ", flag);
  }
  if (cue.reviewed) {
    const done = document.createElement("span");
    done.className = "done";
    done.textContent = "✓ 검수됨";
    button.append(" ", done);
  }
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = cue.text || "(빈 자막: 게시하지 않음)";
  button.append(text);
  button.addEventListener("click", () => { select(index, true); });
  li.append(button);
  return li;
}

function render() {
  form.hidden = true;
  editView.append(form);
  cuesBox.replaceChildren(...session.cues.map(row));
  progress.textContent = progressText(...session.progress);
  if (track === null && video.addTextTrack) {
    track = video.addTextTrack("captions", "검수 중인 자막", "ko");
    track.mode = "showing";
  }
  if (track !== null) {
    for (const cue of Array.from(track.cues || [])) track.removeCue(cue);
    session.cues.forEach(caption);
  }
  if (current >= session.cues.length) current = session.cues.length - 1;
}

function caption(cue) {
  if (track !== null && cue.text && cue.end > cue.start) {
    const shown = new VTTCue(cue.start, cue.end, cue.text);
    shown.id = cue.id;
    track.addCue(shown);
  }
}

function renderOne(index) {
  const cue = session.cues[index], old = cuesBox.children[index], fresh = row(cue, index);
  if (old.contains(form)) fresh.append(form);
  if (old.hasAttribute("aria-current")) fresh.setAttribute("aria-current", "true");
  old.replaceWith(fresh);
  progress.textContent = progressText(...session.progress);
  if (track !== null) {
    const shown = track.cues && track.cues.getCueById(cue.id);
    if (shown) track.removeCue(shown);
    caption(cue);
  }
}

function select(index, play) {
  if (!session || index < 0 || index >= session.cues.length) return;
  const old = cuesBox.querySelector("[aria-current]");
  if (old) old.removeAttribute("aria-current");
  current = index;
  const cue = session.cues[index], li = cuesBox.children[index];
  li.setAttribute("aria-current", "true");
  li.append(form);
  form.hidden = false;
  fill(cue);
  textBox.focus();
  textBox.setSelectionRange(textBox.value.length, textBox.value.length);
  li.scrollIntoView({block: "nearest"});
  if (play) playCue();
}

function fill(cue) {
  textBox.value = cue.text;
  startBox.value = seconds(cue.start);
  endBox.value = seconds(cue.end);
}

function playCue() {
  if (current < 0 || video.hidden) return;
  const cue = session.cues[current];
  stopAt = cue.end;
  video.currentTime = cue.start;
  video.play().catch(() => {});
  const watch = () => {
    if (stopAt === null) return;
    if (video.currentTime >= stopAt) { video.pause(); stopAt = null; return; }
    requestAnimationFrame(watch);
  };
  requestAnimationFrame(watch);
}

function parseTime(text) {
  const parts = text.trim().split(":");
  if (parts.length > 3 || parts.some((part) => !/^\d+(\.\d+)?$/.test(part))) return null;
  return parts.reduce((total, part) => total * 60 + Number(part), 0);
}

function apply(data) {
  for (const id of data.removed) session.cues = session.cues.filter((cue) => cue.id !== id);
  let after = -1;
  for (const cue of data.cues) {
    const index = session.cues.findIndex((old) => old.id === cue.id);
    if (index >= 0) { session.cues[index] = cue; after = index; }
    else { after += 1; session.cues.splice(after, 0, cue); }
  }
  session.progress = data.progress;
}

async function write(action, body) {
  const cue = session.cues[current];
  busy = true;
  say("저장하는 중…");
  try {
    const path = "/api/sessions/" + enc(session.slug) + "/cues/" + enc(cue.id) + "/" + action;
    const {status: code, data} = await api(path, body);
    if (code === 200) {
      const one = data.removed.length === 0 && data.cues.length === 1
        && session.cues.some((old) => old.id === data.cues[0].id);
      apply(data);
      if (one) renderOne(session.cues.findIndex((cue) => cue.id === data.cues[0].id));
      else render();
      conflictBox.hidden = true;
      say("저장했습니다. " + progressText(...session.progress));
      return true;
    }
    if (code === 409 || code === 404) { conflict(data.cue, textBox.value); return false; }
    say("저장하지 못했습니다: " + (data.error || code));
  } catch (error) {
    say("서버에 닿지 않아 저장하지 못했습니다. 서버가 켜져 있는지 보고 다시 저장하세요.");
  } finally {
    busy = false;
  }
  return false;
}

function conflict(saved, mine) {
  conflictText.textContent = saved
    ? "다른 탭이나 창에서 이 자막을 먼저 고쳐 저장했습니다. 저장된 내용: “" + saved.text
      + "” (" + seconds(saved.start) + "–" + seconds(saved.end) + "초). 내가 고친 “" + mine
      + "”은(는) 저장되지 않았습니다."
    : "이 자막은 다른 곳에서 합쳐졌거나 없어졌습니다. 내가 고친 “" + mine
      + "”은(는) 저장되지 않았습니다.";
  conflictBox.hidden = false;
  say("충돌: 저장되지 않았습니다. 다시 불러온 뒤 고치세요.");
}

function changes() {
  const cue = session.cues[current];
  const start = parseTime(startBox.value), end = parseTime(endBox.value);
  if (start === null || end === null) return null;
  const body = {version: cue.version};
  if (textBox.value.split(/\s+/).join(" ").trim() !== cue.text) body.text = textBox.value;
  if (start !== cue.start) body.start = start;
  if (end !== cue.end) body.end = end;
  return body;
}

async function save(moveOn) {
  if (busy || current < 0) return false;
  const body = changes(), cue = session.cues[current], at = current;
  if (body === null) {
    say("시작과 끝은 초(예: 12.5)나 분:초(예: 1:02.5)로 적으세요.");
    return false;
  }
  let saved = true;
  if (Object.keys(body).length > 1) saved = await write("edit", body);
  else if (!cue.reviewed) saved = await write("review", body);
  if (saved && moveOn) select(Math.min(at + 1, session.cues.length - 1), false);
  else if (saved) select(at, false);
  return saved;
}

async function split() {
  if (busy || current < 0) return;
  const at = current, caret = textBox.selectionStart;
  const offset = Array.from(textBox.value.slice(0, caret)).length;
  const body = {version: session.cues[at].version, offset, text: textBox.value};
  if (await write("split", body)) select(at + 1, false);
}

async function merge() {
  if (busy || current < 0) return;
  const at = current;
  if (at + 1 >= session.cues.length) { say("마지막 자막은 합칠 다음 자막이 없습니다."); return; }
  const body = changes();
  if (body !== null && Object.keys(body).length > 1 && !(await save(false))) return;
  const next = session.cues[at + 1];
  current = at;
  if (await write("merge", {version: session.cues[at].version, next_version: next.version})) {
    select(at, false);
  }
}

function nextFlagged() {
  if (!session) return;
  const count = session.cues.length;
  for (let step = 1; step <= count; step += 1) {
    const index = (Math.max(current, -1) + step) % count, cue = session.cues[index];
    if (cue.flagged && !cue.reviewed) { select(index, true); return; }
  }
  say("검토가 필요한 자막이 더 없습니다.");
}

function cancel() {
  if (current < 0) return;
  fill(session.cues[current]);
  say("고친 내용을 되돌렸습니다.");
}

function replay() {
  if (current < 0) select(0, false);
  playCue();
}

document.addEventListener("keydown", (event) => {
  if (editView.hidden || event.isComposing || event.keyCode === 229) return;
  if (event.altKey && !event.ctrlKey && !event.metaKey) {
    const action = {KeyR: replay, KeyN: nextFlagged, KeyS: split, KeyM: merge}[event.code];
    if (action) { event.preventDefault(); action(); }
    return;
  }
  if (!form.contains(event.target) || event.target.tagName === "BUTTON") return;
  if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.metaKey) {
    event.preventDefault();
    save(true);
  } else if (event.key === "Escape") {
    event.preventDefault();
    cancel();
  }
});
$("save").addEventListener("click", () => { save(true); });
$("cancel").addEventListener("click", cancel);
$("split").addEventListener("click", split);
$("merge").addEventListener("click", merge);
$("replay").addEventListener("click", replay);
$("next-flagged").addEventListener("click", nextFlagged);
$("reload").addEventListener("click", () => {
  const keep = current >= 0 ? session.cues[current].id : null;
  openSession(session.slug, keep);
});

function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  token = params.get("token") || token;
  if (!token) { say("주소에 토큰이 없습니다. 터미널에 나온 주소를 그대로 여세요."); return; }
  $("to-list").href = here(null);
  const slug = params.get("session");
  if (slug) openSession(slug, null); else showList();
}
window.addEventListener("hashchange", route);
route();
})();
""".strip()
