// Drives `quanta serve` with the npm clients, unchanged: the `ollama` package (ollama-js) and the `openai` package.
// Usage: node store-clients.mjs BASE_URL MODEL.gguf
// Prints one JSON object with what the clients returned; the C# test (NodeClientTests) checks the values.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Ollama } from 'ollama';
import OpenAI from 'openai';

const [base, gguf] = process.argv.slice(2);
const ollama = new Ollama({ host: base });
const result = {};

result.version = (await ollama.version()).version;

// Blobs as the Ollama CLI uploads them (ollama-js leaves that to the caller): HEAD, then POST when missing.
const bytes = await readFile(gguf);
const digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
result.headBefore = (await fetch(`${base}/api/blobs/${digest}`, { method: 'HEAD' })).status;
result.upload = (await fetch(`${base}/api/blobs/${digest}`, { method: 'POST', body: bytes })).status;

const statuses = [];
for await (const progress of await ollama.create({
  model: 'js', files: { 'tiny.gguf': digest }, system: 'from js', parameters: { temperature: 0.5 }, stream: true,
})) {
  statuses.push(progress.status);
}
result.createStatuses = statuses;

const listed = await ollama.list();
result.list = listed.models.map(m => ({ name: m.name, model: m.model, size: m.size, digest: m.digest, details: m.details }));

const shown = await ollama.show({ model: 'js' });
result.show = {
  system: shown.system,
  parameters: shown.parameters,
  family: shown.details.family,
  architecture: shown.model_info['general.architecture'],
  parameterCount: shown.model_info['general.parameter_count'],
  capabilities: shown.capabilities,
};

result.copy = (await ollama.copy({ source: 'js', destination: 'js-copy' })).status;
result.afterCopy = (await ollama.list()).models.map(m => m.name).sort();
result.delete = (await ollama.delete({ model: 'js-copy' })).status;
result.afterDelete = (await ollama.list()).models.map(m => m.name).sort();
result.ps = (await ollama.ps()).models.length;

try {
  await ollama.show({ model: 'nope' });
  result.missing = 'no error';
} catch (e) {
  result.missing = { name: e.name, status: e.status_code, error: e.error };
}
try {
  await ollama.delete({ model: '../../etc/passwd' });
  result.traversal = 'no error';
} catch (e) {
  result.traversal = { name: e.name, status: e.status_code, error: e.error };
}
const malformed = await fetch(`${base}/api/show`, { method: 'POST', body: '{"model":', headers: { 'Content-Type': 'application/json' } });
result.malformed = { status: malformed.status, body: await malformed.json() };

const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
const models = [];
for await (const model of openai.models.list()) {
  models.push({ id: model.id, object: model.object, owned_by: model.owned_by });
}
result.openaiModels = models;
const retrieved = await openai.models.retrieve('js:latest');
result.openaiModel = { id: retrieved.id, object: retrieved.object, owned_by: retrieved.owned_by };
try {
  await openai.models.retrieve('nope');
  result.openaiMissing = 'no error';
} catch (e) {
  result.openaiMissing = { name: e.constructor.name, status: e.status, type: e.type ?? e.error?.type, message: e.error?.message };
}

console.log(JSON.stringify(result));
