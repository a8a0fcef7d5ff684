// The live view: the MJPEG stream in an <img>, each frame's JSON line from /events, pace from /stats.
// No build step and no third-party code. window.trajpipeView holds the page's state (the tests read it).
"use strict";

const SPEED_WINDOW = 1.0;   // seconds of positions a track's speed is measured over
const PLOT_SECONDS = 60;    // span of the tracks-over-time plot
const SOON_SECONDS = 2.0;   // closest approaches sooner than this (and near: NEAR_SHARE of the image) stand out
const NEAR_SHARE = 0.1;

const state = window.trajpipeView = {
  frames: 0, rows: 0, forecasts: 0, fps: 0, latency: null, dropped: 0, lastFrame: null, imageLoaded: false,
  imageSize: null, ground: null, target: null, connected: false,
};
const positions = new Map();   // track id -> [{t, p: [x, y]}], the last SPEED_WINDOW seconds
const counts = [];             // [{t, n}]: tracks per frame over the last PLOT_SECONDS
const $ = (id) => document.getElementById(id);

// --- maths: the same as Forecast.closest_approach (trajpipe/core/results.py) ----------------------
function closestApproach(times, path, target) {
  // times (T,), path (T, 2): straight between steps. Returns [seconds, distance] of the closest point.
  let best = [times[0], Math.hypot(path[0][0] - target[0], path[0][1] - target[1])];
  for (let i = 0; i + 1 < path.length; i++) {
    const a = path[i], dx = path[i + 1][0] - a[0], dy = path[i + 1][1] - a[1];
    const length2 = dx * dx + dy * dy;
    let u = length2 > 0 ? ((target[0] - a[0]) * dx + (target[1] - a[1]) * dy) / length2 : 0;
    u = Math.min(Math.max(u, 0), 1);
    const d = Math.hypot(a[0] + u * dx - target[0], a[1] + u * dy - target[1]);
    if (d < best[1]) best = [times[i] + u * (times[i + 1] - times[i]), d];
  }
  return best;
}

function toGround(H, p) {  // image pixel -> ground point with the (3, 3) homography
  const w = H[2][0] * p[0] + H[2][1] * p[1] + H[2][2];
  return [(H[0][0] * p[0] + H[0][1] * p[1] + H[0][2]) / w, (H[1][0] * p[0] + H[1][1] * p[1] + H[1][2]) / w];
}

function targetPixel() {
  if (state.target) return state.target;
  const size = state.imageSize;
  return size ? [size[0] / 2, size[1] / 2] : null;
}

// --- one frame's JSON line ------------------------------------------------------------------------
function onFrame(record) {
  state.frames += 1;
  state.lastFrame = record.frame;
  const now = record.timestamp;
  const seen = new Set();
  const rows = [];
  const pixel = targetPixel();
  for (const track of record.tracks) {
    seen.add(track.id);
    const world = Boolean(state.ground && track.point_world);
    const here = world ? track.point_world : track.point;
    const past = positions.get(track.id) || [];
    past.push({ t: now, p: here, world });
    while (past.length > 2 && now - past[0].t > SPEED_WINDOW) past.shift();
    positions.set(track.id, past);
    const first = past[0];
    const speed = past.length > 1 && now > first.t && first.world === world
      ? Math.hypot(here[0] - first.p[0], here[1] - first.p[1]) / (now - first.t) : null;
    let approach = null;
    if (pixel) {
      const target = world ? toGround(state.ground, pixel) : pixel;
      const f = track.forecast;
      const points = f && (world ? f.xy_world : f.xy);
      approach = points ? closestApproach([0, ...f.t], [here, ...points], target)
                        : [null, Math.hypot(here[0] - target[0], here[1] - target[1])];
    }
    // a hidden track (lost by the tracker, kept while it looks for it): where its forecast puts it
    const cls = track.visible === false ? `${track.class} (hidden ${track.hidden_for.toFixed(1)} s)` : track.class;
    rows.push({ id: track.id, cls, speed, approach, unit: world ? "m" : "px" });
  }
  for (const id of positions.keys()) if (!seen.has(id)) positions.delete(id);
  rows.sort((a, b) => (a.approach ? a.approach[1] : Infinity) - (b.approach ? b.approach[1] : Infinity));
  renderTable(rows);
  counts.push({ t: now, n: record.tracks.length });
  while (counts.length && now - counts[0].t > PLOT_SECONDS) counts.shift();
  if (record.latency !== undefined) state.latency = record.latency;
  $("frame").textContent = record.frame;
  const hidden = record.tracks.filter((track) => track.visible === false).length;
  $("track-count").textContent = record.tracks.length + (hidden ? ` (${hidden} hidden)` : "");
  const adaptation = record.adaptation;  // only with adapt_to_scene
  $("scene-stat").hidden = !adaptation;
  if (adaptation) {
    const last = adaptation.shrink.length - 1;
    $("scene").textContent = adaptation.adapted
      ? `adapted on ${adaptation.windows} (CV shrink ${adaptation.shrink[last].toFixed(2)}, sigma ×${adaptation.sigma_scale[last].toFixed(2)})`
      : `adapting (${adaptation.windows})`;
  }
}

function renderTable(rows) {
  const body = document.querySelector("#tracks tbody");
  const size = state.imageSize;
  const near = size ? NEAR_SHARE * Math.max(size[0], size[1]) : 0;
  const cells = rows.map((row) => {
    const tr = document.createElement("tr");
    const [t, d] = row.approach || [null, null];
    const distance = d === null ? "–" : row.unit === "m" ? `${d.toFixed(1)} m` : `${Math.round(d)} px`;
    const when = t === null || t < 0.05 ? "now" : `in ${t.toFixed(1)} s`;  // t = 0: nearest now, moving away
    const speed = row.speed === null ? "–" : row.unit === "m" ? `${row.speed.toFixed(1)} m/s` : `${Math.round(row.speed)} px/s`;
    for (const text of [row.id, row.cls, speed, d === null ? "–" : `${distance} ${when}`]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    if (t !== null && t < SOON_SECONDS && row.unit === "px" && d < near) tr.lastChild.className = "soon";
    return tr;
  });
  body.replaceChildren(...cells);
  state.rows = rows.length;
  state.forecasts = rows.filter((row) => row.approach && row.approach[0] !== null).length;
}

function drawPlot() {
  const canvas = $("plot"), ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio)) { canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio); }
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  if (!counts.length) return;
  const end = counts[counts.length - 1].t, top = Math.max(5, ...counts.map((c) => c.n));
  const span = Math.min(PLOT_SECONDS, Math.max(5, end - counts[0].t));  // fill the width from the start
  const x = (t) => width - (end - t) / span * width, y = (n) => height - 4 - n / top * (height - 18);
  g.strokeStyle = "#4fc3f7"; g.lineWidth = 1.5; g.beginPath();
  counts.forEach((c, i) => (i ? g.lineTo(x(c.t), y(c.n)) : g.moveTo(x(c.t), y(c.n))));
  g.stroke();
  g.fillStyle = "#9a9a9a"; g.font = "11px system-ui, sans-serif";
  g.fillText(`max ${top}`, 4, 11); g.fillText(`now ${counts[counts.length - 1].n}`, width - 48, 11);
  g.fillText(`${Math.round(span)} s`, 4, height - 6);
}

// --- connections ----------------------------------------------------------------------------------
function setStatus(text, bad) {
  const status = $("status");
  status.textContent = text;
  status.className = bad ? "bad" : "";
}

function connectEvents() {
  const events = new EventSource("events");
  events.onopen = () => { state.connected = true; setStatus("live"); };
  events.onmessage = (message) => onFrame(JSON.parse(message.data));
  events.onerror = () => { state.connected = false; setStatus("disconnected: retrying…", true); };
}

async function pollStats() {
  try {
    const response = await fetch("stats", { cache: "no-store" });
    if (!response.ok) throw new Error(response.status);
    const stats = await response.json();
    state.fps = stats.fps; state.dropped = stats.dropped; state.imageSize = stats.image_size; state.ground = stats.ground;
    $("fps").textContent = stats.fps.toFixed(1);
    $("dropped").textContent = stats.dropped;
    $("latency-label").textContent = stats.latency_kind === "processing" ? "processing" : "latency";
    $("latency").textContent = stats.latency === null ? "–" : `${Math.round(stats.latency * 1000)} ms`;
    if (stats.seconds_since_last_frame !== null && stats.seconds_since_last_frame > 5 && state.connected) {
      setStatus(`no frame for ${Math.round(stats.seconds_since_last_frame)} s`, true);
    }
  } catch (error) {
    setStatus("server unreachable: retrying…", true);
  }
}

function watchVideo() {
  const video = $("video");
  video.addEventListener("load", () => { state.imageLoaded = true; });
  video.addEventListener("error", () => {  // the stream ended (server restarting, limit reached): try again
    state.imageLoaded = false;
    setTimeout(() => { video.src = `stream.mjpg?retry=${Date.now()}`; }, 2000);
  });
  $("frame-box").addEventListener("click", (event) => {
    if (!state.imageSize) return;
    const box = video.getBoundingClientRect();
    const u = (event.clientX - box.left) / box.width, v = (event.clientY - box.top) / box.height;
    state.target = [u * state.imageSize[0], v * state.imageSize[1]];
    const marker = $("target");
    marker.style.left = `${u * 100}%`;
    marker.style.top = `${v * 100}%`;
  });
  // Some browsers fire no load event for multipart images: the first decoded frame counts too.
  setInterval(() => { if (video.naturalWidth > 0) state.imageLoaded = true; }, 250);
}

watchVideo();
connectEvents();
pollStats();
setInterval(pollStats, 1000);
setInterval(drawPlot, 500);
