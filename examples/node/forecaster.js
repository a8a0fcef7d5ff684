'use strict';
// A trajpipe forecaster exported to ONNX (`trajpipe export`), run from Node.js with onnxruntime-node.
// Written from docs/deploy.md alone; each step below names the section of the document it follows.
// tests/e2e/test_node_client.py checks it against trajpipe's Python `predict` on real tracks.

const fs = require('fs');
const ort = require('onnxruntime-node');

const FORMATS = ['trajpipe-forecaster-onnx/1', 'trajpipe-forecaster-onnx/2']; // the input/output rules this file implements (/1: no social range)

// (x, y) into a frame turned by the angle of cosine c and sine s ("Heading"); rotate(v, c, -s) turns back.
function rotate([x, y], c, s) {
  return [c * x + s * y, -s * x + c * y];
}

// Piecewise-linear interpolation of samples `values` (arrays) at increasing `times`, at instant `t`;
// instants outside the samples hold the nearest one (numpy's interp).
function interp(t, times, values) {
  if (t <= times[0]) return values[0];
  const last = times.length - 1;
  if (t >= times[last]) return values[last];
  let j = 1;
  while (times[j] < t) j++;
  const w = (t - times[j - 1]) / (times[j] - times[j - 1]);
  return values[j].map((v, d) => (1 - w) * values[j - 1][d] + w * v);
}

class Forecaster {
  // `modelPath`: the .onnx file; its metadata is read from `modelPath + '.json'` ("Metadata"), since
  // onnxruntime-node does not expose an ONNX file's custom metadata.
  static async load(modelPath) {
    const meta = JSON.parse(fs.readFileSync(modelPath + '.json', 'utf8'));
    if (!FORMATS.includes(meta.format)) throw new Error(`${modelPath}: format ${meta.format}, this client reads ${FORMATS.join(' or ')}`);
    // one thread, as trajpipe ("Threads")
    const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    return new Forecaster(session, meta);
  }

  constructor(session, meta) {
    this.session = session;
    this.dt = Number(meta.dt); // seconds between the model's steps
    this.obsSteps = Number(meta.obs_steps); // S
    this.predSteps = Number(meta.pred_steps); // P
    this.neighbours = Number(meta.neighbours); // k
    this.personHeight = Number(meta.person_height_m); // metres per box height
    this.socialRange = Number(JSON.parse(meta.config || '{}').social_range || 0); // R metres, 0: no range
  }

  // Step 1 ("Resample"): one track's T points, `dt` seconds apart, on the model's S-step grid ending at
  // the same instant; float32, as trajpipe rounds them.
  toModelGrid(obs, dt) {
    const S = this.obsSteps;
    let grid;
    if (Math.abs(dt - this.dt) < 1e-6 * this.dt) {
      grid = obs.length >= S ? obs.slice(obs.length - S)
        : [...Array(S - obs.length).fill(obs[0]), ...obs];
    } else {
      const times = obs.map((_, j) => j * dt);
      const end = times[times.length - 1];
      grid = Array.from({ length: S }, (_, i) => interp(end - this.dt * (S - 1 - i), times, obs));
    }
    return grid.map((p) => p.map(Math.fround));
  }

  // Steps 2-4 ("Metres", "Heading", "own"): a track's canonical frame and its own features.
  canonical(points, factor) {
    const S = points.length;
    const last = points[S - 1];
    const m = points.map(([x, y]) => [(x - last[0]) * factor, (y - last[1]) * factor]);
    const norm = ([x, y]) => Math.hypot(x, y);
    let heading = [m[S - 1][0] - m[S - 2][0], m[S - 1][1] - m[S - 2][1]];
    if (norm(heading) <= 1e-3) heading = [m[S - 1][0] - m[0][0], m[S - 1][1] - m[0][1]];
    const length = norm(heading);
    const [c, s] = length > 1e-3 ? [heading[0] / length, heading[1] / length] : [1, 0];
    const pos = m.map((v) => rotate(v, c, s));
    const own = pos.map((p, t) => [...p, ...(t === 0 ? [0, 0] : [p[0] - pos[t - 1][0], p[1] - pos[t - 1][1]])]);
    return { origin: last, factor, c, s, own };
  }

  // Step 5 ("Neighbours"): nb (N, S, k, 4) and nb_mask (N, k), flat, for the tracks of each group.
  neighbourInputs(grids, frames, groups) {
    const [N, S, k] = [grids.length, this.obsSteps, this.neighbours];
    const nb = new Float32Array(N * S * k * 4);
    const mask = new Float32Array(N * k);
    if (!groups || k === 0) return { nb, mask };
    // per-step displacement in the caller's units, 0 at the first step
    const step = grids.map((g) => g.map((p, t) => (t === 0 ? [0, 0] : [p[0] - g[t - 1][0], p[1] - g[t - 1][1]])));
    const members = new Map();
    groups.forEach((g, i) => members.set(g, [...(members.get(g) || []), i]));
    for (const group of members.values()) {
      for (const i of group) {
        const [xi, yi] = grids[i][S - 1];
        const { factor: f, c, s } = frames[i];
        const nearest = group.filter((j) => j !== i)
          .map((j) => [Math.hypot(grids[j][S - 1][0] - xi, grids[j][S - 1][1] - yi) * f, j])  // i's metres
          .sort((a, b) => a[0] - b[0]).slice(0, k);
        nearest.forEach(([distance, j], slot) => {
          const weight = this.socialWeight(distance);
          if (weight === 0) return; // beyond the social range: no neighbour, the slot stays zeros
          mask[i * k + slot] = weight;
          for (let t = 0; t < S; t++) {
            const rel = rotate([(grids[j][t][0] - grids[i][t][0]) * f, (grids[j][t][1] - grids[i][t][1]) * f], c, s);
            const drel = rotate([(step[j][t][0] - step[i][t][0]) * f, (step[j][t][1] - step[i][t][1]) * f], c, s);
            nb.set([...rel, ...drel], ((i * S + t) * k + slot) * 4);
          }
        });
      }
    }
    return { nb, mask };
  }

  // Step 5's weight of a neighbour `distance` metres away: (1 - (d/R)^2)^2 inside the range R, 0 from R on.
  socialWeight(distance) {
    const R = this.socialRange;
    if (!(R > 0)) return 1;
    if (distance >= R) return 0;
    const u = distance / R;
    return (1 - u * u) ** 2;
  }

  // trajpipe's `predict`: the `mean` output on the caller's grid ("What `predict` computes").
  // tracks: [{obs: [[x, y], ...] oldest first, `dt` seconds apart, scale: box height in pixels or null}];
  // groups: one label per track (same label: each other's neighbours) or null for no neighbours.
  // Returns one [[x, y], ...] per track at dt, 2 dt, ... after its last point, in the caller's units.
  async predict(tracks, { dt = this.dt, groups = null } = {}) {
    return (await this.forecast(tracks, { dt, groups })).map((f) => f.mean);
  }

  // Everything for each track: {mean, sigma, modes: [{p, path, sigma}] most probable first (`modes`
  // of them; none for a single-mode model)}, as trajpipe's `predict_batch(..., k=modes)`.
  async forecast(tracks, { dt = this.dt, groups = null, modes = 0 } = {}) {
    const [N, S, P, k] = [tracks.length, this.obsSteps, this.predSteps, this.neighbours];
    const grids = tracks.map((track) => this.toModelGrid(track.obs, dt));
    const frames = grids.map((grid, i) => {
      const h = tracks[i].scale;
      return this.canonical(grid, Number.isFinite(h) && h > 0 ? this.personHeight / h : 1);
    });
    const { nb, mask } = this.neighbourInputs(grids, frames, groups);
    const feeds = {
      own: new ort.Tensor('float32', Float32Array.from(frames.flatMap((f) => f.own.flat())), [N, S, 4]),
      nb: new ort.Tensor('float32', nb, [N, S, k, 4]),
      nb_mask: new ort.Tensor('float32', mask, [N, k]),
    };
    const inputs = Object.fromEntries(this.session.inputNames.map((name) => [name, feeds[name]]));
    const out = await this.session.run(inputs); // canonical frame, metres ("Outputs")
    const K = out.logits ? out.logits.dims[1] : 0;
    // ("Another dt") the model's paths start at the track's last observed point (sigma: 0) at t = 0
    const sameGrid = Math.abs(dt - this.dt) < 1e-6 * this.dt;
    const n = Math.max(1, Math.floor((P * this.dt) / dt + 1e-6));
    const modelTimes = Array.from({ length: P + 1 }, (_, t) => t * this.dt);
    const regrid = (path, start) => (sameGrid ? path
      : Array.from({ length: n }, (_, m) => interp((m + 1) * dt, modelTimes, [start, ...path])));

    return frames.map(({ origin, factor, c, s }, i) => {
      const last = tracks[i].obs[tracks[i].obs.length - 1];
      // ("Back to the caller's frame") the P points of `data` from flat index `at`
      const points = (data, at) => regrid(Array.from({ length: P }, (_, t) => {
        const [x, y] = rotate([data[at + 2 * t], data[at + 2 * t + 1]], c, -s);
        return [x / factor + origin[0], y / factor + origin[1]];
      }), last);
      const sigmas = (data, at) => regrid(Array.from({ length: P }, (_, t) => {
        const [sx, sy] = [data[at + 2 * t], data[at + 2 * t + 1]];
        return [Math.hypot(c * sx, s * sy) / factor, Math.hypot(s * sx, c * sy) / factor];
      }), [0, 0]);
      const result = { mean: points(out.mean.data, i * P * 2), sigma: sigmas(out.sigma.data, i * P * 2), modes: [] };
      if (modes > 0 && K > 0) { // ("`mean` is not the most probable mode") softmax, most probable first
        const logits = Array.from(out.logits.data.subarray(i * K, (i + 1) * K));
        const top = Math.max(...logits);
        const weights = logits.map((l) => Math.exp(l - top));
        const total = weights.reduce((a, b) => a + b);
        const order = weights.map((w, j) => [w / total, j]).sort((a, b) => b[0] - a[0]).slice(0, modes);
        const kept = order.reduce((sum, [p]) => sum + p, 0);
        result.modes = order.map(([p, j]) => ({ p: p / kept, path: points(out.modes.data, (i * K + j) * P * 2),
          sigma: sigmas(out.mode_sigma.data, (i * K + j) * P * 2) }));
      }
      return result;
    });
  }
}

module.exports = { Forecaster, FORMATS };
