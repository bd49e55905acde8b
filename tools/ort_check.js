#!/usr/bin/env node
// ort_check.js — run tinymlp's ONNX fixtures and models through ONNX Runtime (onnxruntime-node).
//
//     NODE_PATH=bench/peers/.onnx/node_modules node tools/ort_check.js tests/fixtures/layers tests/fixtures/onnx/graphs
//     NODE_PATH=bench/peers/.onnx/node_modules node tools/ort_check.js --fashion models/fashion_mlp.onnx [DATA_DIR]
//
// Debian's Python has no onnxruntime; the fixture scripts vouch for their graphs with
// onnx.checker and tools/onnx_ref.py. This is the independent check, where Node and the npm
// package are at hand (bench/peers/run_peers.sh installs onnxruntime-node into
// bench/peers/.onnx/ on its first run).
//
// Fixtures: every NAME.onnx is loaded; one with an io file (NAME_io.safetensors, or
// M_io.safetensors for M_opsetNN*.onnx) is run on its x, and y is compared with y_ref (F64):
// "OK" within 1e-5 of max |y_ref|. Files named bad_* or *_torch_invalid.onnx are expected to be
// refused by tinymlp, not necessarily by ONNX Runtime: their line only says what ORT did.
// Exit status 1 if any other file fails to load, to run, or to match.
// --fashion: the 10,000 Fashion-MNIST test images (raw pixels as floats) through the model;
// prints the correct count.
'use strict';
const ort = require('onnxruntime-node');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const OPTS = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', logSeverityLevel: 3 };

function readSafetensors(p) {
  const b = fs.readFileSync(p);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
  const types = { F32: Float32Array, F64: Float64Array, U8: Uint8Array };
  const out = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__' || !types[v.dtype]) continue;
    const [s, e] = v.data_offsets;
    const bytes = Uint8Array.prototype.slice.call(b, 8 + n + s, 8 + n + e); // aligned copy
    out[name] = { shape: v.shape, data: new types[v.dtype](bytes.buffer) };
  }
  return out;
}

function ioFile(f) {
  const dir = path.dirname(f);
  const base = path.basename(f, '.onnx');
  for (const c of [base, base.replace(/_opset\d+(_fixed\d+|_torch_invalid)?$/, '')]) {
    const p = path.join(dir, c + '_io.safetensors');
    if (fs.existsSync(p)) return p;
  }
  return null;
}

async function checkFile(f) {
  const name = path.basename(f);
  const optional = name.startsWith('bad_') || name.endsWith('_torch_invalid.onnx');
  let s;
  try {
    s = await ort.InferenceSession.create(f, OPTS);
  } catch (e) {
    console.log(`${optional ? 'refused' : 'FAIL   '} ${name}: ORT refuses: ${String(e.message).split('\n')[0].slice(0, 150)}`);
    return optional;
  }
  const io = optional ? null : ioFile(f);
  if (!io) {
    console.log(`${optional ? 'loaded ' : 'FAIL   '} ${name}${optional ? ' (ORT accepts it)' : ': no io file'}`);
    return optional;
  }
  const t = readSafetensors(io);
  try {
    const r = await s.run({ x: new ort.Tensor('float32', t.x.data, t.x.shape) });
    const y = r.y.data;
    const ref = t.y_ref.data;
    let diff = 0, scale = 0;
    for (let i = 0; i < ref.length; i++) {
      diff = Math.max(diff, Math.abs(y[i] - ref[i]));
      scale = Math.max(scale, Math.abs(ref[i]));
    }
    const ok = y.length === ref.length && diff <= 1e-5 * scale;
    console.log(`${ok ? 'OK     ' : 'FAIL   '} ${name}: max|y - y_ref| / max|y_ref| = ${(diff / scale).toExponential(2)}`);
    return ok;
  } catch (e) {
    console.log(`FAIL    ${name}: run: ${String(e.message).split('\n')[0].slice(0, 150)}`);
    return false;
  }
}

function readIdx(p) {
  const b = zlib.gunzipSync(fs.readFileSync(p));
  return b.subarray(4 + 4 * b[3]);
}

async function fashion(model, dir) {
  const img = readIdx(path.join(dir, 't10k-images-idx3-ubyte.gz'));
  const lab = readIdx(path.join(dir, 't10k-labels-idx1-ubyte.gz'));
  const n = lab.length, w = img.length / n;
  const s = await ort.InferenceSession.create(model, OPTS);
  const x = Float32Array.from(img);
  const y = (await s.run({ x: new ort.Tensor('float32', x, [n, w]) })).y.data;
  const c = y.length / n;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (y[i * c + k] > y[i * c + best]) best = k;
    if (best === lab[i]) correct++;
  }
  console.log(`${path.basename(model)}: ONNX Runtime ${require('onnxruntime-node/package.json').version}, ` +
              `${correct} / ${n} correct`);
}

(async () => {
  const args = process.argv.slice(2);
  if (args[0] === '--fashion') {
    await fashion(args[1], args[2] || '/usr/share/datasets/fashion-mnist');
    return;
  }
  let ok = true;
  for (const a of args) {
    const files = fs.statSync(a).isDirectory()
      ? fs.readdirSync(a).filter((f) => f.endsWith('.onnx')).sort().map((f) => path.join(a, f)) : [a];
    for (const f of files) ok = (await checkFile(f)) && ok;
  }
  process.exitCode = ok ? 0 : 1;
})();
