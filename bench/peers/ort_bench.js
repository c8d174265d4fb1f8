#!/usr/bin/env node
// ONNX Runtime peer (onnxruntime-node, CPU execution provider): times one model at one batch size,
// or writes its logits for a fixed input.
//
//   node ort_bench.js --model M.onnx --threads T --batch B --warmup W --runs N
//   node ort_bench.js --model M.onnx --threads T --check-input x.f32 --check-batch 2 --check-output y.f32
//   (either form: --no-spin 1 sets session.intra_op/inter_op.allow_spinning = 0)
//
// Session: intraOpNumThreads=T, interOpNumThreads=1, graphOptimizationLevel 'all', executionMode
// 'sequential'. Prints one JSON object (times_ms: every timed run).
'use strict';
const t0 = process.hrtime.bigint();
const fs = require('fs');
const path = require('path');

function die(msg) {
  process.stderr.write(`ort_bench.js: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const a = {batch: 1, warmup: 2, runs: 10, checkBatch: 2, image: 224};
  const keys = {
    '--model': 'model', '--threads': 'threads', '--batch': 'batch', '--warmup': 'warmup', '--runs': 'runs',
    '--check-input': 'checkInput', '--check-batch': 'checkBatch', '--check-output': 'checkOutput',
    '--image-size': 'image', '--no-spin': 'noSpin',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const k = keys[argv[i]];
    if (!k || i + 1 >= argv.length) die(`bad argument '${argv[i]}'`);
    a[k] = ['model', 'checkInput', 'checkOutput'].includes(k) ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!a.model) die('--model is required');
  if (!Number.isInteger(a.threads) || a.threads < 1) die('--threads must be a positive integer');
  return a;
}

// Deterministic N(0, 1) input (the timing does not depend on the values).
function randomInput(n) {
  const x = new Float32Array(n);
  let s = 12345;
  const u = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) + 1) / 4294967297;
  for (let i = 0; i < n; i++) x[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return x;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  let ort;
  try {
    ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    die(`cannot load onnxruntime-node from ${__dirname}/node_modules (run bench/peers/run.sh, which installs it): ${e.message}`);
  }
  const options = {
    executionProviders: ['cpu'],
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };
  // Session config entries (onnxruntime_session_options_config_keys.h): idle intra-op threads block
  // instead of spinning, like OMP_WAIT_POLICY=passive.
  if (a.noSpin) options.extra = {session: {intra_op: {allow_spinning: '0'}, inter_op: {allow_spinning: '0'}}};
  const session = await ort.InferenceSession.create(a.model, options);
  const inName = session.inputNames[0];
  const outName = session.outputNames[0];
  const checking = a.checkInput !== undefined;
  const batch = checking ? a.checkBatch : a.batch;
  const n = batch * 3 * a.image * a.image;
  let data;
  if (checking) {
    const buf = fs.readFileSync(a.checkInput);
    if (buf.length !== n * 4) die(`${a.checkInput}: ${buf.length} bytes, expected ${n * 4}`);
    data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  } else {
    data = randomInput(n);
  }
  const feeds = {[inName]: new ort.Tensor('float32', data, [batch, 3, a.image, a.image])};
  const info = {
    engine: 'onnxruntime', variant: 'cpu', onnxruntime: ort.env.versions.common, batch, threads: a.threads,
    allow_spinning: !a.noSpin,
  };
  if (checking) {
    const y = (await session.run(feeds))[outName].data;
    info.load_ms = Number(process.hrtime.bigint() - t0) / 1e6;
    fs.writeFileSync(a.checkOutput, Buffer.from(y.buffer, y.byteOffset, y.byteLength));
    let m = 0;
    for (const v of y) m = Math.max(m, Math.abs(v));
    info.max_abs_logit = m;
    console.log(JSON.stringify(info));
    return;
  }
  info.load_ms = Number(process.hrtime.bigint() - t0) / 1e6;
  for (let i = 0; i < a.warmup; i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < a.runs; i++) {
    const s = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  info.times_ms = times;
  console.log(JSON.stringify(info));
}

main().catch((e) => die(e && e.stack ? e.stack : String(e)));
