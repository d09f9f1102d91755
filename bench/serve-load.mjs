// Load client for bench/serve-load.sh: CONCURRENCY workers each send /api/chat requests (not streamed) to the server
// in a loop for SECONDS seconds, and one JSON line reports what came back: requests sent and answered, errors,
// requests/s, generated tokens/s (all sequences together) and per sequence (eval_count / eval_duration of each
// answer), and the latency percentiles.
// Usage: node serve-load.mjs BASE_URL MODEL CONCURRENCY SECONDS NUM_PREDICT
const [base, model, concurrency, seconds, numPredict] = process.argv.slice(2);
const deadline = Date.now() + Number(seconds) * 1000;
let sent = 0, answered = 0, errors = 0, tokens = 0;
const latencies = [], perSequence = [], failures = new Map();

async function worker(id) {
  let n = 0;
  while (Date.now() < deadline) {
    const body = {
      model, stream: false,
      messages: [{ role: 'user', content: `The package ${id}-${n++}` }],
      options: { num_predict: Number(numPredict), temperature: 0.8, seed: id * 100000 + n },
    };
    const start = performance.now();
    sent++;
    try {
      const response = await fetch(`${base}/api/chat`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      const answer = await response.json();
      if (!response.ok || answer.error) {
        throw new Error(`${response.status} ${answer.error}`);
      }
      latencies.push(performance.now() - start);
      answered++;
      tokens += answer.eval_count;
      perSequence.push(answer.eval_count / (answer.eval_duration / 1e9));
    } catch (e) {
      errors++;
      failures.set(String(e.message), (failures.get(String(e.message)) ?? 0) + 1);
    }
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: Number(concurrency) }, (_, i) => worker(i)));
const wall = (performance.now() - started) / 1000;
const sorted = latencies.sort((a, b) => a - b);
const pct = p => sorted.length === 0 ? null : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p / 100 * sorted.length))]);
const mean = xs => xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(JSON.stringify({
  concurrency: Number(concurrency), seconds: Number(wall.toFixed(1)), sent, answered, errors, lost: sent - answered - errors,
  requests_per_s: Number((answered / wall).toFixed(2)),
  tokens_per_s_total: Number((tokens / wall).toFixed(1)),
  tokens_per_s_per_sequence: Number(mean(perSequence)?.toFixed(1)),
  latency_ms: { p50: pct(50), p90: pct(90), p99: pct(99), max: sorted.length ? Math.round(sorted[sorted.length - 1]) : null },
  failures: Object.fromEntries(failures),
}));
