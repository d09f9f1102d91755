// Drives `quanta serve`'s embedding routes with the npm clients, unchanged: ollama-js `embed` and openai's
// `embeddings.create` (which asks for base64 unless told otherwise).
// Usage: node embed-clients.mjs BASE_URL MODEL SHORT_TEXT LONG_TEXT
// Prints one JSON object with what the clients returned; the C# test (NodeEmbeddingClientTests) checks the values.
import { Ollama } from 'ollama';
import OpenAI from 'openai';

const [base, model, short, long] = process.argv.slice(2);
const ollama = new Ollama({ host: base });
const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused' });
const result = {};

const embedded = await ollama.embed({ model, input: [short, long] });
result.ollama = { model: embedded.model, embeddings: embedded.embeddings, promptEvalCount: embedded.prompt_eval_count };
result.ollamaDimensions = (await ollama.embed({ model, input: short, dimensions: 16 })).embeddings[0].length;
try {
  await ollama.embed({ model: 'nope', input: 'x' });
} catch (e) {
  result.ollamaMissing = { name: e.name, status: e.status_code, error: e.error };
}

const created = await openai.embeddings.create({ model, input: [short, long] });
result.openai = { model: created.model, embeddings: created.data.map(d => d.embedding), usage: created.usage };
const floats = await openai.embeddings.create({ model, input: short, encoding_format: 'float', dimensions: 8 });
result.openaiDimensions = floats.data[0].embedding.length;
try {
  await openai.embeddings.create({ model: 'nope', input: 'x' });
} catch (e) {
  result.openaiMissing = { name: e.constructor.name, status: e.status, message: e.error?.message };
}

process.stdout.write(JSON.stringify(result));
