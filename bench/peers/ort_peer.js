#!/usr/bin/env node
// ort_peer.js — the same MLP run by ONNX Runtime (npm onnxruntime-node, CPU execution
// provider), measured the way peers.py and bench_mlp measure. Prints one JSON line, with
// the same keys as peers.py plus "binding" (the identity model).
//
//     NODE_PATH=DIR/node_modules node bench/peers/ort_peer.js MODEL.onnx IDENTITY.onnx \
//         [--seconds S] [--batch B] [--small-batch b]
//
// MODEL.onnx and IDENTITY.onnx come from `peers.py export-onnx` (input "x" [batch, width],
// output "y"). Session: intraOpNumThreads 1, interOpNumThreads 1, executionMode
// sequential, graph optimizations "all" (ORT's default), CPU provider only.
//   single_stream  batch-1 await session.run() calls back to back for S seconds (after a
//                  warm-up); p50/p99 of the per-call latency, LoadGen rule sorted[floor(N*p)]
//   offline_small  batch-b run() calls back to back for S seconds; samples/s
//   offline        the same at batch B
//   binding        single_stream on IDENTITY.onnx (y = x, same width): what one run()
//                  costs with (almost) no arithmetic — the Node binding, the Promise/
//                  setImmediate of the JS API, tensor wrapping, ORT's session overhead.
//                  Subtract its p50 from the model's p50 for ORT's own compute time.
// Inputs are uniform [0,1) float32 rows (a fixed-seed LCG), like
// bench_mlp --data synthetic. Time: process.hrtime.bigint() (monotonic, ns).
'use strict';

function usage(msg) {
  if (msg) process.stderr.write('ort_peer.js: ' + msg + '\n');
  process.stderr.write('usage: ort_peer.js MODEL.onnx IDENTITY.onnx [--seconds S] [--batch B] [--small-batch b]\n');
  process.exit(2);
}

const args = process.argv.slice(2);
const pos = [];
const opt = { seconds: 1, batch: 256, 'small-batch': 8 };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a.startsWith('--')) {
    const k = a.slice(2);
    if (!(k in opt) || i + 1 >= args.length) usage('bad option ' + a);
    const v = Number(args[++i]);
    if (!Number.isFinite(v) || v <= 0) usage('bad value for ' + a);
    opt[k] = v;
  } else {
    pos.push(a);
  }
}
if (pos.length !== 2) usage();

let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  process.stderr.write('ort_peer.js: onnxruntime-node not found (' + e.message.split('\n')[0] + ')\n');
  process.exit(3);
}

const clock = process.hrtime.bigint;

let seed = 7;
function rand() { // LCG, deterministic inputs
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
}

function rows(n, batch, width) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const a = new Float32Array(batch * width);
    for (let j = 0; j < a.length; j++) a[j] = rand();
    out.push({ x: new ort.Tensor('float32', a, [batch, width]) });
  }
  return out;
}

function pct(sorted, p) {
  return Number(sorted[Math.min(Math.floor(sorted.length * p), sorted.length - 1)]);
}

async function singleStream(s, feeds, seconds) {
  for (let i = 0; i < 200; i++) await s.run(feeds[i % feeds.length]);
  const lat = [];
  const end = clock() + BigInt(Math.round(seconds * 1e9));
  for (let i = 0; ; i++) {
    const t0 = clock();
    await s.run(feeds[i % feeds.length]);
    const t1 = clock();
    lat.push(t1 - t0);
    if (t1 >= end && lat.length >= 1024) break;
  }
  lat.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { queries: lat.length, p50_ns: pct(lat, 0.5), p99_ns: pct(lat, 0.99) };
}

async function offline(s, feeds, batch, seconds) {
  for (let i = 0; i < 5; i++) await s.run(feeds[i % feeds.length]);
  const t0 = clock();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  let n = 0, t1;
  for (;;) {
    await s.run(feeds[n % feeds.length]);
    n++;
    t1 = clock();
    if (t1 >= end && n >= 8) break;
  }
  return { batches: n, batch, samples_per_s: (n * batch) / (Number(t1 - t0) / 1e9) };
}

async function main() {
  const so = {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  const model = await ort.InferenceSession.create(pos[0], so);
  const ident = await ort.InferenceSession.create(pos[1], so);
  const meta = model.inputMetadata && model.inputMetadata[0];
  let width = meta && meta.shape ? Number(meta.shape[meta.shape.length - 1]) : NaN;
  if (!Number.isInteger(width) || width <= 0) usage('cannot read the input width of ' + pos[0]);

  const x1 = rows(64, 1, width);
  const xs = rows(16, opt['small-batch'], width);
  const xb = rows(4, opt.batch, width);
  // The identity model first, then the model: same order every round.
  const binding = await singleStream(ident, x1, opt.seconds);
  const ss = await singleStream(model, x1, opt.seconds);
  const small = await offline(model, xs, opt['small-batch'], opt.seconds);
  const off = await offline(model, xb, opt.batch, opt.seconds);
  const v = (ort.env && ort.env.versions && ort.env.versions.node) || '?';
  process.stdout.write(JSON.stringify({
    framework: 'onnxruntime',
    name: 'ONNX Runtime ' + v + ' (onnxruntime-node, Node ' + process.versions.node + ', 1 intra-op thread)',
    single_stream: ss,
    offline_small: small,
    offline: off,
    binding,
  }) + '\n');
}

main().catch((e) => {
  process.stderr.write('ort_peer.js: ' + (e && e.message ? e.message : e) + '\n');
  process.exit(1);
});
